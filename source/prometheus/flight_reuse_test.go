package prometheus

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A flight that finished is forgotten: the next call for its key runs again and gets its
// own answer, not the old one.
func TestFlightFinishedIsNotJoined(t *testing.T) {
	var f flights
	first, err := f.do(t.Context(), "k", func(context.Context) answer { return answer{attempts: 1} })
	if err != nil || first.attempts != 1 {
		t.Fatalf("first call: got %+v, %v", first, err)
	}
	ran := false
	second, err := f.do(t.Context(), "k", func(context.Context) answer { ran = true; return answer{attempts: 2} })
	if err != nil || !ran || second.attempts != 2 {
		t.Fatalf("a call after the first finished: got %+v, %v (ran %v); want its own answer", second, err, ran)
	}
	if n := f.waiting("k"); n != 0 {
		t.Fatalf("waiting(k) after both returned: got %d, want 0", n)
	}
}

// A flight every caller left is forgotten at once, while its request still runs: a later
// call starts afresh instead of joining the abandoned one and its cancelled answer.
func TestFlightAbandonedIsNotJoined(t *testing.T) {
	var f flights
	release := make(chan struct{})
	defer close(release)
	leaving, leave := context.WithCancel(t.Context())
	firstDone := make(chan error, 1)
	go func() {
		_, err := f.do(leaving, "k", func(context.Context) answer {
			<-release // the abandoned request outlives its caller
			return answer{attempts: 1}
		})
		firstDone <- err
	}()
	eventually(t, "first caller waiting", func() bool { return f.waiting("k") == 1 })
	leave()
	if err := <-firstDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("leaving caller: got %v, want context.Canceled", err)
	}
	got := make(chan answer, 1)
	go func() {
		a, _ := f.do(t.Context(), "k", func(context.Context) answer { return answer{attempts: 2} })
		got <- a
	}()
	select {
	case a := <-got:
		if a.attempts != 2 {
			t.Fatalf("later call: got %+v, want its own answer", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a later call still waits after 10s: it joined the abandoned flight")
	}
}
