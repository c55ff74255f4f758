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

// cost is what an Interner counts for s.
func cost(s string) int { return len(s) + internEntryCost }

func TestInternerReturnsTheSameString(t *testing.T) {
	in := NewInterner(1 << 10)
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
	in := NewInterner(1 << 10)
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

func TestInternerStoresNothingWithoutABudget(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   *Interner
	}{
		{"zero", NewInterner(0)},
		{"negative", NewInterner(-3)},
		{"smaller than one string", NewInterner(cost("value-0") - 1)},
		{"zero value", &Interner{}},
		{"nil", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.in.Intern([]byte("value-0")), tc.in.Intern([]byte("value-0"))
			if a != "value-0" || b != "value-0" {
				t.Fatalf("got %q and %q, want %q", a, b, "value-0")
			}
			if sameString(a, b) {
				t.Error("got one string twice, want fresh copies")
			}
			if got := tc.in.Len(); got != 0 {
				t.Errorf("got %d strings held, want 0", got)
			}
		})
	}
}

// A generation holds up to its budget; the next string starts a new generation and the
// one before the previous is forgotten, so at most two generations are held.
func TestInternerGenerations(t *testing.T) {
	key := func(i int) string { return fmt.Sprintf("value-%03d", i) }
	const perGen = 10
	in := NewInterner(perGen * cost(key(0)))
	first := in.Intern([]byte(key(0)))
	for i := range 100 {
		if got := in.Intern([]byte(key(i))); got != key(i) {
			t.Fatalf("got %q, want %q", got, key(i))
		}
		if got := in.Len(); got > 2*perGen {
			t.Fatalf("after %d strings: got %d held, want at most two generations of %d", i+1, got, perGen)
		}
	}
	// The latest string is held; the first one was forgotten.
	if a, b := in.Intern([]byte(key(99))), in.Intern([]byte(key(99))); !sameString(a, b) {
		t.Error("the latest string: got a copy, want the held one")
	}
	if sameString(in.Intern([]byte(key(0))), first) {
		t.Errorf("the first string: got it still held after %d generations, want it forgotten", 100/perGen)
	}
}

// A string in use at every scrape stays held while fresh strings go through the Interner
// and start new generations: found in the previous generation, it moves to the current
// one. Looking it up then allocates nothing.
func TestInternerKeepsStringsInUseAcrossGenerations(t *testing.T) {
	steady := []string{"http_requests_total", "method", "GET", "code", "200"}
	budget := 0
	for _, s := range steady {
		budget += cost(s)
	}
	in := NewInterner(4 * budget)
	held := make([]string, len(steady))
	for i, s := range steady {
		held[i] = in.Intern([]byte(s))
	}
	for scrape := range 50 {
		for i, s := range steady {
			if got := in.Intern([]byte(s)); !sameString(got, held[i]) {
				t.Fatalf("scrape %d: %q was forgotten, want it held while in use", scrape, s)
			}
		}
		for i := range 10 { // fresh values: up to one new generation per scrape
			in.Intern(fmt.Appendf(nil, "request-id-%d-%d", scrape, i))
		}
	}
	buf := make([][]byte, len(steady))
	for i, s := range steady {
		buf[i] = []byte(s)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, b := range buf {
			in.Intern(b)
		}
	})
	if allocs != 0 {
		t.Errorf("got %v allocations for held strings, want 0", allocs)
	}
}

func TestInternerLongStrings(t *testing.T) {
	in := NewInterner(1 << 20)
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
	in := NewInterner(1 << 10)
	b := []byte("http_request_duration_seconds_bucket")
	in.Intern(b)
	if allocs := testing.AllocsPerRun(100, func() { in.Intern(b) }); allocs != 0 {
		t.Errorf("got %v allocations for a held string, want 0", allocs)
	}
}

// TestInternerConcurrent is meant for -race: Parsers of many pods share one Interner,
// which rotates its generations while they intern.
func TestInternerConcurrent(t *testing.T) {
	const goroutines, keys = 8, 500
	perGen := 100
	in := NewInterner(perGen * cost("key-000"))
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range keys {
				// Each goroutine walks the keys from a different start.
				k := (i + g*61) % keys
				want := fmt.Sprintf("key-%03d", k)
				if got := in.Intern([]byte(want)); got != want {
					t.Errorf("goroutine %d: got %q, want %q", g, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	// Inserts racing with a rotation may land in the generation being retired: a few
	// strings over the budget are allowed.
	if got := in.Len(); got > 2*perGen+goroutines {
		t.Errorf("got %d strings held, want at most about two generations of %d", got, perGen)
	}
}
