package flight

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// letters is a test Work whose keys are sets of letters ("ab"): a run for "abc" covers a
// caller wanting "ac". Run blocks until release is closed or ctx ends, and records the
// keys it ran and finished with.
type letters struct {
	release chan struct{}

	mu       sync.Mutex // protects the fields below
	runs     []string
	finished []string
	now      int // runs in progress
	peak     int
}

func newLetters() *letters { return &letters{release: make(chan struct{})} }

func (w *letters) Covers(have, want string) bool {
	for _, r := range want {
		if !strings.ContainsRune(have, r) {
			return false
		}
	}
	return true
}

func (w *letters) Merge(a, b string) string {
	set := []rune(a + b)
	slices.Sort(set)
	return string(slices.Compact(set))
}

func (w *letters) Run(ctx context.Context, key string) (string, error) {
	w.mu.Lock()
	w.runs = append(w.runs, key)
	w.now++
	w.peak = max(w.peak, w.now)
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.now--
		w.mu.Unlock()
	}()
	select {
	case <-w.release:
		return "ran " + key, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (w *letters) Finish(key, v string, err error) (string, error) {
	w.mu.Lock()
	w.finished = append(w.finished, key)
	w.mu.Unlock()
	return v, err
}

func (w *letters) state() (runs, finished []string, peak int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.runs), slices.Clone(w.finished), w.peak
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling a condition with a deadline
	}
}

// waiters is a condition: the Group has running and next callers.
func waiters[K, T any](g *Group[K, T], running, next int) func() bool {
	return func() bool {
		r, n := g.Waiters()
		return r == running && n == next
	}
}

func TestDoSharesOneRun(t *testing.T) {
	w := newLetters()
	g := NewGroup[string, string](w)
	var wg sync.WaitGroup
	got := make([]string, 3)
	shared := make([]bool, 3)
	for i := range got {
		wg.Go(func() { got[i], shared[i], _ = g.Do(context.Background(), "a") })
	}
	waitFor(t, "3 callers of the run", waiters(g, 3, 0))
	close(w.release)
	wg.Wait()
	if runs, _, _ := w.state(); len(runs) != 1 {
		t.Fatalf("runs: got %q, want 1", runs)
	}
	for i := range got {
		if got[i] != "ran a" || !shared[i] {
			t.Fatalf("caller %d: got %q shared=%v, want %q shared", i, got[i], shared[i], "ran a")
		}
	}
	if r, n := g.Waiters(); r != 0 || n != 0 {
		t.Fatalf("waiters after the run: got %d and %d, want none", r, n)
	}
}

func TestDoJoinsARunThatCoversIt(t *testing.T) {
	w := newLetters()
	g := NewGroup[string, string](w)
	var wg sync.WaitGroup
	var first, second string
	wg.Go(func() { first, _, _ = g.Do(context.Background(), "ab") })
	waitFor(t, "the first run", waiters(g, 1, 0))
	wg.Go(func() { second, _, _ = g.Do(context.Background(), "b") })
	waitFor(t, "the covered caller to join it", waiters(g, 2, 0))
	close(w.release)
	wg.Wait()
	runs, finished, _ := w.state()
	if !slices.Equal(runs, []string{"ab"}) {
		t.Fatalf("runs: got %q, want one for %q", runs, "ab")
	}
	if !slices.Equal(finished, []string{"ab"}) {
		t.Fatalf("finished: got %q, want %q", finished, "ab")
	}
	if first != "ran ab" || second != "ran ab" {
		t.Fatalf("got %q and %q, want both %q", first, second, "ran ab")
	}
}

func TestDoQueuesCallersNotCoveredIntoOneMergedRun(t *testing.T) {
	w := newLetters()
	g := NewGroup[string, string](w)
	var wg sync.WaitGroup
	got := make([]string, 4)
	wg.Go(func() { got[0], _, _ = g.Do(context.Background(), "a") })
	waitFor(t, "the first run", waiters(g, 1, 0))
	wg.Go(func() { got[1], _, _ = g.Do(context.Background(), "b") })
	waitFor(t, "a caller for the next run", waiters(g, 1, 1))
	wg.Go(func() { got[2], _, _ = g.Do(context.Background(), "c") })
	waitFor(t, "two callers for the next run", waiters(g, 1, 2))
	// Covered by the run in progress: joins it, not the next.
	wg.Go(func() { got[3], _, _ = g.Do(context.Background(), "a") })
	waitFor(t, "a covered caller", waiters(g, 2, 2))
	close(w.release)
	wg.Wait()

	runs, finished, peak := w.state()
	if !slices.Equal(runs, []string{"a", "bc"}) {
		t.Fatalf("runs: got %q, want %q then the merged %q", runs, "a", "bc")
	}
	if !slices.Equal(finished, runs) {
		t.Fatalf("finished: got %q, want %q", finished, runs)
	}
	if peak != 1 {
		t.Fatalf("runs in progress at once: got %d, want 1", peak)
	}
	if want := []string{"ran a", "ran bc", "ran bc", "ran a"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestDoMergesTheKeysOfJoinedCallersForFinish(t *testing.T) {
	// "ab" covers "a" and "b" but the run's key is what it started with; Finish sees
	// every joined caller's key merged in, so it can answer each.
	w := &coverAll{letters: newLetters()}
	g := NewGroup[string, string](w)
	var wg sync.WaitGroup
	wg.Go(func() { _, _, _ = g.Do(context.Background(), "a") })
	waitFor(t, "the first run", waiters(g, 1, 0))
	wg.Go(func() { _, _, _ = g.Do(context.Background(), "z") })
	waitFor(t, "the second caller to join", waiters(g, 2, 0))
	close(w.release)
	wg.Wait()
	runs, finished, _ := w.state()
	if !slices.Equal(runs, []string{"a"}) || !slices.Equal(finished, []string{"az"}) {
		t.Fatalf("runs %q finished %q: want runs [a], finished [az]", runs, finished)
	}
}

// coverAll is letters whose every run covers every caller.
type coverAll struct{ *letters }

func (coverAll) Covers(string, string) bool { return true }

func TestDoOneCallerLeavingDoesNotCancelTheOthers(t *testing.T) {
	w := newLetters()
	g := NewGroup[string, string](w)
	leaving, leave := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, _, err := g.Do(leaving, "a")
		first <- err
	}()
	waitFor(t, "the first caller", waiters(g, 1, 0))
	second := make(chan string, 1)
	go func() {
		v, _, _ := g.Do(context.Background(), "a")
		second <- v
	}()
	waitFor(t, "the second caller", waiters(g, 2, 0))
	leave()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("leaving caller: got %v, want context.Canceled", err)
	}
	close(w.release)
	if v := <-second; v != "ran a" {
		t.Fatalf("staying caller: got %q, want %q (the work must go on)", v, "ran a")
	}
}

func TestDoLastCallerLeavingCancelsAndWaitsForTheWork(t *testing.T) {
	w := newLetters()
	g := NewGroup[string, string](w)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := g.Do(ctx, "a")
		done <- err
	}()
	waitFor(t, "the run", waiters(g, 1, 0))
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if _, finished, _ := w.state(); !slices.Equal(finished, []string{"a"}) {
		t.Fatalf("finished when Do returned: got %q, want the cancelled run finished", finished)
	}
	// The Group is idle again: a new caller starts a new run.
	close(w.release)
	if v, _, err := g.Do(context.Background(), "a"); v != "ran a" || err != nil {
		t.Fatalf("after the cancelled run: got %q, %v; want %q", v, err, "ran a")
	}
}

func TestDoDropsANextRunWhoseCallersLeft(t *testing.T) {
	w := newLetters()
	g := NewGroup[string, string](w)
	var wg sync.WaitGroup
	wg.Go(func() { _, _, _ = g.Do(context.Background(), "a") })
	waitFor(t, "the first run", waiters(g, 1, 0))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := g.Do(ctx, "b")
		done <- err
	}()
	waitFor(t, "a caller for the next run", waiters(g, 1, 1))
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	close(w.release)
	wg.Wait()
	if runs, _, _ := w.state(); !slices.Equal(runs, []string{"a"}) {
		t.Fatalf("runs: got %q, want only %q (the next run lost its callers)", runs, "a")
	}
}

func TestDoACancelledRunIsNotJoined(t *testing.T) {
	w := newLetters()
	w2 := &slowCancel{letters: w, stopped: make(chan struct{})}
	g2 := NewGroup[string, string](w2)
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		_, _, err := g2.Do(ctx, "a")
		left <- err
	}()
	waitFor(t, "the run", waiters(g2, 1, 0))
	cancel()
	<-w2.cancelled() // the run saw its cancellation and waits to be let go
	got := make(chan string, 1)
	go func() {
		v, _, _ := g2.Do(context.Background(), "a")
		got <- v
	}()
	waitFor(t, "the new caller to wait for the next run", waiters(g2, 0, 1))
	close(w2.stopped)
	<-left
	close(w.release)
	if v := <-got; v != "ran a" {
		t.Fatalf("got %q, want a fresh run's %q", v, "ran a")
	}
	if runs, _, peak := w.state(); len(runs) != 2 || peak != 1 {
		t.Fatalf("runs %q with %d at once: want 2 runs, one at a time", runs, peak)
	}
}

// slowCancel is letters whose Run, once cancelled, returns only when stopped is closed.
type slowCancel struct {
	*letters
	stop    atomic.Bool // set by the first Run
	stopped chan struct{}
	once    sync.Once
	seen    chan struct{}
}

func (w *slowCancel) cancelled() chan struct{} {
	w.once.Do(func() { w.seen = make(chan struct{}) })
	return w.seen
}

func (w *slowCancel) Run(ctx context.Context, key string) (string, error) {
	if w.stop.CompareAndSwap(false, true) {
		seen := w.cancelled()
		w.letters.mu.Lock()
		w.letters.runs = append(w.letters.runs, key)
		w.letters.now++
		w.letters.peak = max(w.letters.peak, w.letters.now)
		w.letters.mu.Unlock()
		<-ctx.Done()
		close(seen)
		<-w.stopped
		w.letters.mu.Lock()
		w.letters.now--
		w.letters.mu.Unlock()
		return "", ctx.Err()
	}
	return w.letters.Run(ctx, key)
}

func TestDoCarriesValuesNotCancellation(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	g := NewGroup[string, string](valueWork{key: key{}})
	got, _, err := g.Do(ctx, "k")
	if err != nil || got != "v" {
		t.Fatalf("got %q, %v; want the caller's value", got, err)
	}
}

// valueWork returns the value of its key in the run's context.
type valueWork struct{ key any }

func (valueWork) Covers(string, string) bool { return false }
func (valueWork) Merge(a, _ string) string   { return a }
func (w valueWork) Run(ctx context.Context, _ string) (string, error) {
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	return ctx.Value(w.key).(string), nil
}
func (valueWork) Finish(_ string, v string, err error) (string, error) { return v, err }
