package flight

import (
	"context"
	"sync"
)

// Work is what a Group runs, for keys of type K (what callers want) producing values of
// type T. Its methods are called by the Group, never concurrently with themselves for one
// run, and Covers and Merge with the Group's lock held: they must be quick and must not
// call back into the Group.
type Work[K, T any] interface {
	// Covers reports whether a run started for have also answers a caller that wants
	// want, so that the caller may join it.
	Covers(have, want K) bool
	// Merge returns a key that answers both a and b. It must not modify a or b.
	Merge(a, b K) K
	// Run does the work for key. ctx carries the values of the context of the caller
	// that started the run, and is cancelled when every caller has left.
	Run(ctx context.Context, key K) (T, error)
	// Finish is called once per run, after Run returned and once no caller can join it
	// any more, with key merged from the keys of every caller that joined; the next run
	// starts only after it returns. What it returns is what every caller gets.
	Finish(key K, v T, err error) (T, error)
}

// Group runs Work one run at a time, sharing each run among the callers it covers.
//
// A caller joins the run in progress when that run's key covers what it wants (Covers);
// otherwise it waits for the next run, which starts when the current one has finished,
// with the keys of all the callers waiting for it merged. So two runs never overlap, and
// whatever their keys, concurrent callers share at most two runs: the one in progress and
// the next. Create it with NewGroup; it is safe for concurrent use.
type Group[K, T any] struct {
	work Work[K, T]

	mu      sync.Mutex // protects running, next, and the keys, waiters and closed of both
	running *call[K, T]
	next    *call[K, T] // not started: waits for running to finish
}

type call[K, T any] struct {
	started K // the key the run started with; what Covers is checked against
	key     K // started merged with the keys of the callers that joined
	waiters int
	closed  bool // no caller may join: the run finished or is being cancelled

	ctx    context.Context // the starting caller's, for its values only
	cancel context.CancelFunc
	done   chan struct{} // closed when Finish has returned
	val    T
	err    error
}

// NewGroup returns a Group running work.
func NewGroup[K, T any](work Work[K, T]) *Group[K, T] {
	return &Group[K, T]{work: work}
}

// Do returns the value of a run that covers want: the run in progress when it covers
// want, else the next one. A caller whose ctx ends first gets ctx's error at once; if it
// was the last caller of a run in progress, Do first cancels the run and waits for it,
// so no work outlives its callers, and a run not yet started is dropped. shared reports
// whether the value went to more than one caller.
func (g *Group[K, T]) Do(ctx context.Context, want K) (v T, shared bool, err error) {
	g.mu.Lock()
	var c *call[K, T]
	switch {
	case g.running != nil && !g.running.closed && g.work.Covers(g.running.started, want):
		c = g.running
		c.key = g.work.Merge(c.key, want)
	case g.running == nil:
		c = newCall[K, T](ctx, want)
		g.start(c)
	case g.next != nil:
		c = g.next
		c.key = g.work.Merge(c.key, want)
	default:
		c = newCall[K, T](ctx, want)
		g.next = c
	}
	c.waiters++
	g.mu.Unlock()

	select {
	case <-c.done:
		g.mu.Lock()
		shared = c.waiters > 1
		g.mu.Unlock()
		return c.val, shared, c.err
	case <-ctx.Done():
		g.mu.Lock()
		c.waiters--
		last := c.waiters == 0
		switch {
		case last && g.next == c:
			g.next = nil // never started: nothing to cancel
			last = false
		case last:
			c.closed = true // a caller arriving now must not join work being cancelled
		}
		g.mu.Unlock()
		if last {
			c.cancel()
			<-c.done
		}
		var zero T
		return zero, false, ctx.Err()
	}
}

func newCall[K, T any](ctx context.Context, key K) *call[K, T] {
	return &call[K, T]{started: key, key: key, ctx: context.WithoutCancel(ctx), done: make(chan struct{})}
}

// start makes c the running call. g.mu is held.
func (g *Group[K, T]) start(c *call[K, T]) {
	var workCtx context.Context
	workCtx, c.cancel = context.WithCancel(c.ctx)
	c.started = c.key
	g.running = c
	go g.run(workCtx, c)
}

func (g *Group[K, T]) run(ctx context.Context, c *call[K, T]) {
	v, err := g.work.Run(ctx, c.started)
	c.cancel()
	g.mu.Lock()
	c.closed = true
	key := c.key
	g.mu.Unlock()
	c.val, c.err = g.work.Finish(key, v, err)

	g.mu.Lock()
	g.running = nil
	if n := g.next; n != nil {
		g.next = nil
		g.start(n)
	}
	g.mu.Unlock()
	close(c.done)
}

// Waiters returns how many callers wait on the run in progress and on the next one.
func (g *Group[K, T]) Waiters() (running, next int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running != nil {
		running = g.running.waiters
	}
	if g.next != nil {
		next = g.next.waiters
	}
	return running, next
}
