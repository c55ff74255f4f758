package flight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDoSharesOneRun(t *testing.T) {
	var g Group[int]
	var runs atomic.Int32
	release := make(chan struct{})
	fn := func(context.Context) (int, error) {
		runs.Add(1)
		<-release
		return 42, nil
	}
	var wg sync.WaitGroup
	got := make([]int, 3)
	shared := make([]bool, 3)
	for i := range got {
		wg.Go(func() { got[i], shared[i], _ = g.Do(context.Background(), "k", fn) })
	}
	waitFor(t, "3 waiters", func() bool { return g.Waiters("k") == 3 })
	close(release)
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("runs: got %d, want 1", runs.Load())
	}
	for i := range got {
		if got[i] != 42 || !shared[i] {
			t.Fatalf("caller %d: got %d shared=%v, want 42 shared", i, got[i], shared[i])
		}
	}
	if g.Waiters("k") != 0 {
		t.Fatalf("waiters after the run: got %d, want 0", g.Waiters("k"))
	}
}

func TestDoOneCallerLeavingDoesNotCancelTheOthers(t *testing.T) {
	var g Group[int]
	release := make(chan struct{})
	fn := func(ctx context.Context) (int, error) {
		select {
		case <-release:
			return 7, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	leaving, leave := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, _, err := g.Do(leaving, "k", fn)
		first <- err
	}()
	waitFor(t, "the first caller", func() bool { return g.Waiters("k") == 1 })
	second := make(chan int, 1)
	go func() {
		v, _, _ := g.Do(context.Background(), "k", fn)
		second <- v
	}()
	waitFor(t, "the second caller", func() bool { return g.Waiters("k") == 2 })
	leave()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("leaving caller: got %v, want context.Canceled", err)
	}
	close(release)
	if v := <-second; v != 7 {
		t.Fatalf("staying caller: got %d, want 7 (the work must go on)", v)
	}
}

func TestDoLastCallerLeavingCancelsAndWaitsForTheWork(t *testing.T) {
	var g Group[int]
	var finished atomic.Bool
	started := make(chan struct{})
	fn := func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		finished.Store(true)
		return 0, ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := g.Do(ctx, "k", fn)
		done <- err
	}()
	<-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if !finished.Load() {
		t.Fatal("Do returned before the cancelled work did")
	}
}

func TestDoCarriesValuesNotCancellation(t *testing.T) {
	var g Group[string]
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	got, _, err := g.Do(ctx, "k", func(ctx context.Context) (string, error) {
		return ctx.Value(key{}).(string), nil
	})
	if err != nil || got != "v" {
		t.Fatalf("got %q, %v; want the caller's value", got, err)
	}
}
