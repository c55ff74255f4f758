package flight

import (
	"context"
	"sync"
)

// Group runs work by key, one execution per key at a time. The zero value is ready to use
// and it is safe for concurrent use.
type Group[T any] struct {
	mu    sync.Mutex // protects calls and each call's waiters
	calls map[string]*call[T]
}

type call[T any] struct {
	done    chan struct{} // closed when fn has returned
	val     T
	err     error
	waiters int
	cancel  context.CancelFunc
}

// Do runs fn once for all concurrent callers of key and returns its result to each. fn
// gets a context that carries ctx's values but not its cancellation; it is cancelled
// when every caller waiting on it has left. A caller whose ctx ends first gets ctx's error
// at once; if it was the last caller, Do first cancels fn and waits for it to return, so
// no work outlives the call. shared reports whether the result went to more than one
// caller.
func (g *Group[T]) Do(ctx context.Context, key string, fn func(context.Context) (T, error)) (v T, shared bool, err error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = make(map[string]*call[T])
	}
	c, ok := g.calls[key]
	if ok {
		c.waiters++
	} else {
		workCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &call[T]{done: make(chan struct{}), waiters: 1, cancel: cancel}
		g.calls[key] = c
		go g.run(workCtx, key, c, fn)
	}
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
		if last && g.calls[key] == c {
			// A caller arriving now must not join work being cancelled.
			delete(g.calls, key)
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

func (g *Group[T]) run(ctx context.Context, key string, c *call[T], fn func(context.Context) (T, error)) {
	defer c.cancel()
	c.val, c.err = fn(ctx)
	g.mu.Lock()
	// The call is done: later callers of key start a new one.
	if g.calls[key] == c {
		delete(g.calls, key)
	}
	g.mu.Unlock()
	close(c.done)
}

// Waiters returns how many callers wait on the run of key in progress, 0 when none.
func (g *Group[T]) Waiters(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.calls[key]; ok {
		return c.waiters
	}
	return 0
}
