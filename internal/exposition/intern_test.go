package exposition

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

func sameString(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}

func TestInternerReturnsTheSameString(t *testing.T) {
	in := NewInterner(10)
	a := in.Intern([]byte("vllm:num_requests_running"))
	b := in.Intern([]byte("vllm:num_requests_running"))
	if a != "vllm:num_requests_running" {
		t.Errorf("got %q, want %q", a, "vllm:num_requests_running")
	}
	if !sameString(a, b) {
		t.Error("got two copies of one string, want the same string")
	}
	if got := in.Len(); got != 1 {
		t.Errorf("got %d strings held, want 1", got)
	}
	if got := in.Intern(nil); got != "" {
		t.Errorf("got %q for no bytes, want empty", got)
	}
}

func TestInternerDoesNotKeepItsInput(t *testing.T) {
	in := NewInterner(10)
	buf := []byte("value")
	s := in.Intern(buf)
	copy(buf, "XXXXX")
	if s != "value" {
		t.Errorf("got %q after the input changed, want %q", s, "value")
	}
	if got := in.Intern([]byte("value")); !sameString(got, s) {
		t.Error("got a new string, want the held one")
	}
}

func TestInternerBound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      *Interner
		wantLen int
	}{
		{name: "bounded", in: NewInterner(5), wantLen: 5},
		{name: "zero stores nothing", in: NewInterner(0), wantLen: 0},
		{name: "negative stores nothing", in: NewInterner(-3), wantLen: 0},
		{name: "zero value stores nothing", in: &Interner{}, wantLen: 0},
		{name: "nil stores nothing", in: nil, wantLen: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 100 {
				key := fmt.Sprintf("value-%d", i)
				if got := tc.in.Intern([]byte(key)); got != key {
					t.Fatalf("got %q, want %q", got, key)
				}
			}
			if got := tc.in.Len(); got != tc.wantLen {
				t.Errorf("got %d strings held, want %d", got, tc.wantLen)
			}
			// Held strings stay held once the Interner is full.
			if tc.wantLen > 0 {
				a, b := tc.in.Intern([]byte("value-0")), tc.in.Intern([]byte("value-0"))
				if !sameString(a, b) {
					t.Error("got a copy of a held string, want the held one")
				}
				c, d := tc.in.Intern([]byte("value-99")), tc.in.Intern([]byte("value-99"))
				if sameString(c, d) {
					t.Error("got the same string for a string not held, want fresh copies")
				}
			}
		})
	}
}

func TestInternerLongStrings(t *testing.T) {
	in := NewInterner(10)
	long := []byte(strings.Repeat("x", MaxInternLen+1))
	if got := in.Intern(long); got != string(long) {
		t.Error("got a different string for a long one")
	}
	if got := in.Len(); got != 0 {
		t.Errorf("got %d strings held, want a long one left out", got)
	}
	exact := []byte(strings.Repeat("y", MaxInternLen))
	in.Intern(exact)
	if got := in.Len(); got != 1 {
		t.Errorf("got %d strings held, want one of MaxInternLen bytes held", got)
	}
}

func TestInternerSteadyStateAllocs(t *testing.T) {
	in := NewInterner(10)
	b := []byte("http_request_duration_seconds_bucket")
	in.Intern(b)
	if allocs := testing.AllocsPerRun(100, func() { in.Intern(b) }); allocs != 0 {
		t.Errorf("got %v allocations for a held string, want 0", allocs)
	}
}

// TestInternerConcurrent is meant for -race: Parsers of many pods share one Interner.
func TestInternerConcurrent(t *testing.T) {
	const goroutines, keys, limit = 8, 500, 300
	in := NewInterner(limit)
	var wg sync.WaitGroup
	results := make([][]string, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			got := make([]string, keys)
			for i := range keys {
				// Each goroutine walks the keys from a different start.
				k := (i + g*61) % keys
				got[k] = in.Intern(fmt.Appendf(nil, "key-%d", k))
			}
			results[g] = got
		})
	}
	wg.Wait()
	if got := in.Len(); got != limit {
		t.Errorf("got %d strings held, want %d", got, limit)
	}
	held := 0
	for k := range keys {
		want := fmt.Sprintf("key-%d", k)
		same := true
		for g := range goroutines {
			if results[g][k] != want {
				t.Fatalf("goroutine %d: got %q, want %q", g, results[g][k], want)
			}
			same = same && sameString(results[g][k], results[0][k])
		}
		if same {
			held++
		}
	}
	if held < limit {
		t.Errorf("got %d strings shared by all goroutines, want at least the %d held", held, limit)
	}
}
