package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/source/pod"
)

// Server answers Prometheus' HTTP API from the scrapes of its Services. Create it with
// New, run its scrape loops with Run, serve Handler, and Close it when done. It is safe
// for concurrent use.
type Server struct {
	cfg      Config
	services []*service
	engine   *promql.Engine
	parser   parser.Parser // the engine's: expressions are analysed as they are evaluated
	analyses *analyses     // of the expressions asked, by the engine's parser
	metrics  *serverMetrics
	reg      prometheus.Registerer // holds metrics until Close
	gatherer prometheus.Gatherer
	started  time.Time
	handler  http.Handler
	log      logr.Logger // New's context's: the scrapes a query starts log through it
	// beforeExec, when set (by tests only), is called by each query just before its
	// evaluation, after its availability check.
	beforeExec func()
	// onQuerier, when set (by tests only), is called each time the histories are opened
	// for reading: by an evaluation once it holds one of the Config.MaxConcurrentQueries
	// slots, and by series, labels and federate requests.
	onQuerier func()
	// onLandedWait, when set (by tests only), is called by a query that, after its
	// evaluation, waits for the states of scrapes that appended to the histories since
	// it checked the states (landedSince).
	onLandedWait func()

	closeOnce sync.Once
}

// New builds a Server of cfg whose sources discover pods through c (a client.Client
// satisfies client.Reader; StartCache's Cache, as the CLI passes, or a manager's cached
// client serves discovery from informers, with no API request per scrape; a cached
// reader needs each source's SecretReader set to a direct one for token Secrets). Over
// StartCache's Cache, a Service whose namespace's informers cannot reach the API server
// is warned of past DiscoveryWarnAfter and 503 past DiscoveryUnavailableAfter; a
// manager's cached client says nothing of its informers, so nor can serve. It
// scrapes nothing until Run. The logr logger of ctx (if any) logs the
// scrapes queries start under MaxAge, as Run's context's logs the interval's.
func New(ctx context.Context, c client.Reader, cfg Config) (*Server, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	reg, gatherer := cfg.Registerer, cfg.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, gatherer = r, r
	}
	if gatherer == nil {
		if g, ok := reg.(prometheus.Gatherer); ok {
			gatherer = g
		}
	}
	m, err := newServerMetrics(reg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, metrics: m, reg: reg, gatherer: gatherer, started: time.Now(), log: logr.FromContextOrDiscard(ctx)}
	for _, sc := range cfg.Services {
		svc, err := s.newService(ctx, c, sc, reg)
		if err != nil {
			_ = s.Close()
			return nil, err
		}
		if cached, ok := c.(*Cache); ok {
			svc.health = cached.health
		}
		s.services = append(s.services, svc)
	}
	for _, c := range []prometheus.Collector{newDiscoveryCollector(s.services), newHistoryCollector(s.services)} {
		if err := reg.Register(c); err != nil {
			_ = s.Close()
			return nil, err
		}
		m.collectors = append(m.collectors, c)
	}
	s.parser = parser.NewParser(parser.Options{})
	s.analyses = newAnalyses(s.parser)
	s.engine = promql.NewEngine(promql.EngineOpts{
		Parser:        s.parser,
		MaxSamples:    cfg.MaxSamples,
		Timeout:       queryTimeout,
		LookbackDelta: cfg.LookbackDelta,
		// Prometheus' defaults since 2.33, and its evaluation_interval default for
		// subqueries without a step.
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
		ActiveQueryTracker:       make(queryGate, cfg.MaxConcurrentQueries),
	})
	s.handler = s.routes()
	return s, nil
}

func (s *Server) newService(ctx context.Context, c client.Reader, sc ServiceConfig, reg prometheus.Registerer) (*service, error) {
	srcCfg := sc.Source
	srcCfg.ScrapeInterval = 0 // the server runs the loop
	if srcCfg.Registerer == nil {
		srcCfg.Registerer = reg
	}
	// Scraped with ScrapeSeries only: the source's cache holds nothing.
	src, err := pod.NewPodScrapingSource(ctx, c, srcCfg)
	if err != nil {
		return nil, fmt.Errorf("serve: service %s: %w", sc.key(), err)
	}
	seriesLimit := s.cfg.SeriesLimit
	if sc.SeriesLimit > 0 {
		seriesLimit = sc.SeriesLimit
	}
	hist, err := history.New(history.Options{
		Retention:     s.cfg.Retention,
		SeriesLimit:   seriesLimit,
		LookbackDelta: s.cfg.LookbackDelta,
		Dir:           s.cfg.HistoryDir,
	})
	if err != nil {
		src.Close()
		return nil, fmt.Errorf("serve: service %s: %w", sc.key(), err)
	}
	svc := newService(sc, hist, s.metrics, src)
	svc.retention = s.cfg.Retention
	return svc, nil
}

// Run scrapes each Service at once and then on its interval, until ctx ends; it returns
// nil then. A Service's failed scrape is a state its queries answer with, not an error.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, svc := range s.services {
		wg.Go(func() { svc.loop(ctx, s.cfg.MaxAge) })
	}
	wg.Wait()
	return nil
}

// loop scrapes svc now and then on its schedule: every interval, re-phased after each
// scrape a query under maxAge takes or waits for (schedule says why). When a scrape is due, a
// query's scrape in flight stands in for it (it re-phases the schedule as it ends), and
// so does a scrape started within the last quarter of an interval (a query's, whose
// signal the loop has yet to read).
func (svc *service) loop(ctx context.Context, maxAge time.Duration) {
	first := time.Now()
	_, _ = svc.scrape(ctx, want{asked: first})
	sched := newSchedule(first, svc.cfg.Interval, maxAge)
	t := time.NewTimer(time.Until(sched.next))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-svc.demands:
			d := svc.demandState.Load()
			sched.demanded(d.asked, d.took)
		case now := <-t.C:
			start := time.Now()
			_, _ = svc.scrape(ctx, want{asked: now, maxAge: svc.cfg.Interval / 4, tick: true})
			sched.scraped(start)
		}
		t.Reset(time.Until(sched.next))
	}
}

// Handler serves the API. It is the same Handler for every call.
func (s *Server) Handler() http.Handler { return s.handler }

// Ready reports whether every Service has been scraped once (whatever the outcome).
func (s *Server) Ready() bool {
	for _, svc := range s.services {
		if svc.state.Load() == nil {
			return false
		}
	}
	return true
}

// Close releases the sources and histories, and unregisters the server's and the
// sources' metrics from the Registerer, so that a new Server (a controller rebuilding it
// on a config change) can register them again. Call it after Run returned.
func (s *Server) Close() error {
	var errs []error
	s.closeOnce.Do(func() {
		for _, svc := range s.services {
			svc.src.Close()
			errs = append(errs, svc.hist.Close())
		}
		s.metrics.unregister(s.reg)
	})
	return errors.Join(errs...)
}

// DefaultMaxConcurrentQueries is how many queries the engine evaluates at once when
// Config.MaxConcurrentQueries is zero, Prometheus' default --query.max-concurrency: a
// query past it waits for one to end, within what is left of its timeout (the request's,
// or the server's 2m, from the request's arrival), as in Prometheus. Without a bound a burst of heavy queries (a
// dashboard's range queries at a small step) would each load up to MaxSamples at once,
// and the process would run out of memory.
const DefaultMaxConcurrentQueries = 20

// queryTimeout is the server's own bound on a query, as Prometheus' --query.timeout
// (its default, 2m): a request's timeout, when shorter, bounds it instead.
const queryTimeout = history.DefaultQueryTimeout

// keptToAnswer is the part of a query's timeout that its wait for a --max-age scrape
// leaves to the rest of the query: a quarter. The rest is the queue for an engine slot
// (Config.MaxConcurrentQueries) and an evaluation from memory, which takes milliseconds,
// so a client whose timeout is below its own limit (KEDA's 2s under its 3s) gets the
// answer from the latest scrape, with the warning naming the late Service, rather than
// a 503 timeout spent on a hung pod. The wait is bounded by the scrape's own timeout
// too, which is at most the interval.
func keptToAnswer(timeout time.Duration) time.Duration { return timeout / 4 }

// queryGate is the engine's promql.QueryTracker: a slot per query evaluated, as
// Prometheus' ActiveQueryTracker gives, without its file of the active queries (serve
// writes no file).
type queryGate chan struct{}

// GetMaxConcurrent is the number of slots.
func (g queryGate) GetMaxConcurrent() int { return cap(g) }

// Insert takes a slot, waiting for one until ctx ends.
func (g queryGate) Insert(ctx context.Context, _ string) (int, error) {
	select {
	case g <- struct{}{}:
		return 0, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Delete gives a slot back.
func (g queryGate) Delete(int) { <-g }

// Close does nothing: the slots are memory.
func (g queryGate) Close() error { return nil }

// queryable is the union of the Services' histories, for queries that look back
// lookback (0: the server's lookback delta, the histories').
func (s *Server) queryable(lookback time.Duration) storage.Queryable {
	return storage.QueryableFunc(func(mint, maxt int64) (storage.Querier, error) {
		if s.onQuerier != nil {
			s.onQuerier()
		}
		qs := make([]storage.Querier, 0, len(s.services))
		for _, svc := range s.services {
			q, err := svc.hist.QueryableLookback(lookback).Querier(mint, maxt)
			if err != nil {
				for _, done := range qs {
					_ = done.Close()
				}
				return nil, fmt.Errorf("service %s: %w", svc.key, err)
			}
			qs = append(qs, q)
		}
		return storage.NewMergeQuerier(qs, nil, storage.ChainedSeriesMerge), nil
	})
}

// freshen scrapes first the Services whose newest scrape started more than MaxAge before
// now; concurrent callers share the scrapes. It waits until until at most (the query's
// deadline, less what it keeps to answer: keptToAnswer of timeout, the query's): a
// Service whose scrape has not finished by then is answered from its latest scrape, and
// late says so, naming it. The error is ctx's: the client left (or the deadline passed).
// A request's context carries no logger: the scrapes log through the Server's.
// lateSvcs are the Services late names, in its order.
func (s *Server) freshen(ctx context.Context, until time.Time, timeout time.Duration, svcs []*service) (late []string, lateSvcs []*service, _ error) {
	if s.cfg.MaxAge <= 0 || len(svcs) == 0 {
		return nil, nil, nil
	}
	if _, err := logr.FromContext(ctx); err != nil {
		ctx = logr.NewContext(ctx, s.log)
	}
	wait, cancel := context.WithDeadline(ctx, until)
	defer cancel()
	now := time.Now()
	s.metrics.waiting.Inc()
	defer s.metrics.waiting.Dec()
	var wg sync.WaitGroup
	errs := make([]error, len(svcs))
	for i, svc := range svcs {
		wg.Go(func() {
			_, errs[i] = svc.scrape(wait, want{asked: now, maxAge: s.cfg.MaxAge, demand: true})
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	for i, svc := range svcs {
		if errs[i] == nil {
			continue
		}
		from := "no scrape of it has finished yet"
		if st := svc.state.Load(); st != nil {
			from = "answered from its scrape at " + st.start.UTC().Format(warningTime)
		}
		late = append(late, fmt.Sprintf("service %s: the scrape --max-age asked for did not finish within the query's timeout of %s, less the %s kept to answer: %s", svc.key, timeout, keptToAnswer(timeout), from))
		lateSvcs = append(lateSvcs, svc)
	}
	return late, lateSvcs, nil
}
