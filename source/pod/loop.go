package pod

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	"github.com/podscrape/podscrape/source"
)

// ErrAlreadyStarted is returned by Start when the source's scrape loop is already running.
var ErrAlreadyStarted = errors.New("scrape loop already running")

// loopState is the background scrape loop's state, and the last refresh it can answer
// PromQL queries from.
type loopState struct {
	mu         sync.Mutex // protects running, stopped, last, finishedAt, closed
	running    bool
	stopped    chan struct{}   // closed when the running loop's Start returns
	last       *refreshOutcome // the newest finished refresh, loop's or caller's
	finishedAt time.Time
	closed     bool // the source was closed: no loop runs again, so last is never read
	clock      clock.PassiveClock
}

// finished records the newest finished refresh, unless the source was closed.
func (l *loopState) finished(out *refreshOutcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.last = out
	if l.clock != nil {
		l.finishedAt = l.clock.Now()
	}
}

// close forgets the last refresh for good: a closed source's loop never runs again, and
// the refresh holds the history Close let go.
func (l *loopState) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed, l.last = true, nil
}

// wait returns when the loop running, if any, has stopped.
func (l *loopState) wait() {
	l.mu.Lock()
	stopped := l.stopped
	l.mu.Unlock()
	if stopped != nil {
		<-stopped
	}
}

// recent returns the newest finished refresh when the loop runs and it finished within
// one ScrapeInterval and one ScrapeTimeout (the loop's next scrape is due or under way),
// else nil.
func (l *loopState) recent(cfg PodScrapingSourceConfig) *refreshOutcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.running || l.last == nil || l.last.evalAt.IsZero() {
		return nil
	}
	if cfg.Clock.Now().Sub(l.finishedAt) > cfg.ScrapeInterval+cfg.ScrapeTimeout {
		return nil
	}
	return l.last
}

// Start runs the background scrape loop until ctx ends or Close is called, then returns
// nil: every ScrapeInterval it scrapes the pods once, stores the scrape in the history of
// PromQL queries and refreshes every registered metric-name query but AllMetricsQuery (the
// costly one, left to Refresh). It makes the source a controller-runtime
// manager.Runnable (mgr.Add(src)); NeedLeaderElection is false, so every replica keeps
// its own history. With ScrapeInterval zero it only waits for ctx or Close. A failed scrape is
// logged through ctx's logr logger (logr.FromContextOrDiscard) and tried again at the
// next tick; its pods' up 0 and staleness reach the history as with any scrape. A
// manager starts its Runnables with manager.Options.BaseContext's context,
// context.Background() unless set, which carries no logger: set BaseContext to one that
// does (logr.NewContext) for the loop's failures to be logged.
//
// While it runs, a Refresh asking only PromQL queries answers from the loop's latest
// scrape without scraping again, as long as that scrape finished within ScrapeInterval
// plus ScrapeTimeout and stored every metric the registered PromQL queries read;
// otherwise (a query registered since, for one; a latest scrape that failed as a whole,
// the Service gone or the API down) Refresh scrapes as usual, and says why it fails. Start returns ErrAlreadyStarted
// if the loop is already running. Close stops the loop, cancelling its scrape in
// progress, and waits for Start to return; Start on a closed source returns nil at once.
func (s *PodScrapingSource) Start(ctx context.Context) error {
	if s.config.ScrapeInterval <= 0 {
		select {
		case <-ctx.Done():
		case <-s.life.Done():
		}
		return nil
	}
	s.loop.mu.Lock()
	if s.loop.running {
		s.loop.mu.Unlock()
		return fmt.Errorf("source %s: %w", s.serviceKey(), ErrAlreadyStarted)
	}
	if s.life.Err() != nil {
		s.loop.mu.Unlock()
		return nil // closed: Close has stopped any loop, and none may start
	}
	stopped := make(chan struct{})
	s.loop.running, s.loop.stopped = true, stopped
	s.loop.mu.Unlock()
	defer func() {
		s.loop.mu.Lock()
		s.loop.running, s.loop.stopped = false, nil
		s.loop.mu.Unlock()
		close(stopped)
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.life, cancel)() // Close ends the loop and its scrape

	tick := newTicker(s.config.Clock, s.config.ScrapeInterval)
	defer tick.Stop()
	log := logr.FromContextOrDiscard(ctx)
	for {
		if err := s.scrapeForLoop(ctx); err != nil && ctx.Err() == nil {
			log.Error(err, "background scrape failed", "service", s.serviceKey())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C():
		}
	}
}

// NeedLeaderElection reports false: a manager runs the scrape loop on every replica,
// since each keeps its own history.
func (s *PodScrapingSource) NeedLeaderElection() bool { return false }

// scrapeForLoop scrapes once for the history and every registered metric-name query but
// AllMetricsQuery, which is left to Refresh: keeping every sample of every pod costs
// several times what the selected metrics do.
func (s *PodScrapingSource) scrapeForLoop(ctx context.Context) error {
	var queries []source.QueryTemplate
	for _, q := range s.registered() {
		if q.Type == source.QueryTypeMetricName && q.Name != AllMetricsQuery {
			queries = append(queries, q)
		}
	}
	// A history that cannot be created leaves the metric-name queries to refresh.
	_, hist, histErr := s.historyNeeds()
	_, _, err := s.flights.Do(ctx, newSelection(queries, s.registered(), hist))
	return errors.Join(err, histErr)
}

// newTicker ticks on clk when it can (a fake clock in tests), else on the wall clock.
func newTicker(clk clock.PassiveClock, d time.Duration) clock.Ticker {
	if c, ok := clk.(clock.WithTicker); ok {
		return c.NewTicker(d)
	}
	return clock.RealClock{}.NewTicker(d)
}
