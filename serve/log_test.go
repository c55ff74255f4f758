package serve_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/podscrape/podscrape/serve"
)

// lockedLog collects a logger's lines; scrapes log from their own goroutines.
type lockedLog struct {
	mu    sync.Mutex
	lines []string
}

// logger returns a logger at verbosity v whose lines l keeps.
func (l *lockedLog) logger(v int) logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, prefix+" "+args)
	}, funcr.Options{Verbosity: v})
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func TestQueryStartedScrapeLogsThroughNewsLogger(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	var got lockedLog
	log := got.logger(1)

	// The logger comes with New's context only: Run's has none, and a request's never has.
	base := runServer(t, logr.NewContext(t.Context(), log), serve.Config{
		Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: time.Hour, MaxAge: time.Nanosecond,
	})
	if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK {
		t.Fatalf("healthy: got %d %q, want 200", code, r.Error)
	}
	svc.Pods()[0].SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }))
	if code, _ := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusServiceUnavailable {
		t.Fatalf("got %d, want 503 after the pod failed", code)
	}
	// The query returned after its scrape's Refresh, which logs before it returns.
	if s := got.String(); !strings.Contains(s, "pod scrape failed") || !strings.Contains(s, svc.Pods()[0].Name) {
		t.Errorf("log at -v 1 after a query's scrape of a failing pod:\n%s\nwant a 'pod scrape failed' line naming %s", s, svc.Pods()[0].Name)
	}
}
