package prometheus

import (
	"context"
	"sync"
)

// flights runs one request per key at a time and hands its answer to every caller that
// asked for the key while it ran. Unlike singleflight, the request does not run on the
// first caller's context: it runs on its own, which is cancelled when every caller has
// given up, so one caller's cancellation never fails the others. The zero value is ready
// to use.
type flights struct {
	mu    sync.Mutex // protects calls and each call's waiters
	calls map[string]*flightCall
}

// flightCall is one request in flight.
type flightCall struct {
	done    chan struct{} // closed when ans is set
	ans     answer
	waiters int // callers still waiting
	cancel  context.CancelFunc
}

// do returns the answer of fn for key, starting fn unless a call for key is in flight.
// fn runs in a goroutine on a context that keeps ctx's values but not its cancellation.
// When ctx ends first, do returns ctx's error; the last caller to leave cancels fn, whose
// goroutine then returns as soon as fn does.
func (f *flights) do(ctx context.Context, key string, fn func(context.Context) answer) (answer, error) {
	f.mu.Lock()
	c, ok := f.calls[key]
	if !ok {
		if f.calls == nil {
			f.calls = make(map[string]*flightCall)
		}
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &flightCall{done: make(chan struct{}), cancel: cancel}
		f.calls[key] = c
		go func() {
			ans := fn(runCtx)
			cancel()
			f.mu.Lock()
			if f.calls[key] == c {
				delete(f.calls, key)
			}
			f.mu.Unlock()
			c.ans = ans
			close(c.done)
		}()
	}
	c.waiters++
	f.mu.Unlock()

	select {
	case <-c.done:
		return c.ans, nil
	case <-ctx.Done():
		f.mu.Lock()
		c.waiters--
		if c.waiters == 0 {
			c.cancel()
			if f.calls[key] == c {
				delete(f.calls, key) // a later caller starts afresh
			}
		}
		f.mu.Unlock()
		return answer{}, ctx.Err()
	}
}

// waiting returns how many callers wait for key's call in flight.
func (f *flights) waiting(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.calls[key]; c != nil {
		return c.waiters
	}
	return 0
}
