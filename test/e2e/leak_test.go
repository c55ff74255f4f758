package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Goroutine leaks are checked twice (RELIABILITY.md, "Goroutine leaks"):
//
//   - per test: trackGoroutines labels the test's goroutine with a pprof label unique to
//     the test. Every goroutine started from it inherits the label, and so on down: the
//     test's servers and their connections, the source's refreshes, scrapes and
//     connections. After every cleanup of the test has run (servers closed, sources
//     closed), no goroutine may carry the label. Parallel tests do not see each other's
//     goroutines, which a before/after snapshot (goleak.IgnoreCurrent) would.
//   - per package: after every test has run and the control plane has stopped, TestMain
//     runs goleak against the goroutines alive when it started, catching whatever a
//     label would miss.

// leakLabel is the pprof label key that marks the goroutines of one test.
const leakLabel = "podscrape_e2e_test"

var (
	leakIDs atomic.Int64
	tracked sync.Map // *testing.T -> struct{}: the tests already tracked
)

// sharedGoroutines are the goroutines a test may start that belong to the process, not
// to the test: the connection to the API server of a client the test made (client-go
// keeps it for the process; the API server, not the test, ends it).
var sharedGoroutines = []string{
	"golang.org/x/net/http2.(*ClientConn).readLoop",
}

// trackGoroutines labels t's goroutine so that every goroutine started from it is known
// as t's, and registers a cleanup that fails t while any such goroutine outlives it. Call
// it from t's goroutine before t registers any other cleanup: cleanups run last in first
// out, so the check then runs after all of them. Calling it again for the same t does
// nothing; newNamespace calls it, so every test on the control plane is checked.
func trackGoroutines(t *testing.T) {
	t.Helper()
	if _, done := tracked.LoadOrStore(t, struct{}{}); done {
		return
	}
	id := strconv.FormatInt(leakIDs.Add(1), 10)
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(leakLabel, id)))
	t.Cleanup(func() {
		defer tracked.Delete(t)
		// Closed connections end their goroutines asynchronously: poll with a deadline.
		deadline := time.Now().Add(10 * time.Second)
		for {
			left := labelledGoroutines(id)
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutine groups started by the test outlived it:\n%s", len(left), strings.Join(left, "\n\n"))
				return
			}
			time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
		}
	})
}

// labelledGoroutines returns the stacks of the goroutines labelled id, grouped as the
// goroutine profile groups them, without the calling goroutine and the shared ones.
func labelledGoroutines(id string) []string {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return []string{err.Error()}
	}
	mark := fmt.Sprintf("%q:%q", leakLabel, id)
	var out []string
	profile := buf.String()
	profile = profile[strings.IndexByte(profile, '\n')+1:] // after "goroutine profile: total N"
	for _, group := range strings.Split(profile, "\n\n") {
		if !strings.Contains(group, "# labels: ") || !strings.Contains(group, mark) ||
			strings.Contains(group, "runtime/pprof.") || shared(group) {
			continue
		}
		out = append(out, group)
	}
	return out
}

func shared(group string) bool {
	for _, fn := range sharedGoroutines {
		if strings.Contains(group, fn) {
			return true
		}
	}
	return false
}

// verifyNoLeaks is TestMain's package-wide check, run after the tests and the control
// plane stopped: it reports the goroutines that were not alive before (baseline) and
// returns the exit code to use. Benchmarks keep informers for the whole process by
// design, so a run with -bench is not checked.
func verifyNoLeaks(code int, baseline goleak.Option) int {
	if code != 0 {
		return code
	}
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		return code
	}
	if err := goleak.Find(baseline); err != nil {
		fmt.Fprintln(os.Stderr, "goroutines outlived the tests:", err)
		return 1
	}
	return code
}
