package pod

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/exposition"
	"github.com/podscrape/podscrape/internal/flight"
	"github.com/podscrape/podscrape/source"
)

var _ source.MetricsSource = (*PodScrapingSource)(nil)

// internerGenerationBytes is the budget of one generation of the label strings a source
// keeps for reuse across refreshes (it holds at most two): enough for the distinct
// strings of one scrape of every pod, while label values that change every scrape are
// forgotten instead of growing the heap without end.
const internerGenerationBytes = 4 << 20

// PodScrapingSource is a MetricsSource that scrapes the ready pods behind a Service.
// Create it with NewPodScrapingSource. It is safe for concurrent use.
type PodScrapingSource struct {
	config       PodScrapingSourceConfig
	reader       client.Reader
	secretReader client.Reader
	transport    *http.Transport
	owners       addressOwners // the pod each address belonged to: see scrapeAll
	metricsURL   url.URL       // scheme, path and query of every pod's URL
	queries      *source.QueryList
	cache        *source.Cache
	parsers      *parserPool

	hintsMu sync.Mutex     // protects hints
	hints   map[string]int // by selection key; see sizeHint
	slots   chan struct{}  // one token per request allowed in flight
	flights *flight.Group[*selection, refreshOutcome]
	metrics *metrics // nil without a Registerer

	metadata metadataStore // see Metadata
	history  promHistory   // the scrapes as series, for PromQL queries
	loop     loopState     // see Start

	life context.Context    // ends when Close is called: it stops the scrape loop
	kill context.CancelFunc // ends life

	lastSecret atomic.Pointer[bearer]      // the Secret's last token read, for an API server outage (see token)
	progress   atomic.Pointer[runProgress] // of the refresh in progress, or the last one
	answered   answeredPods                // the pods that answered lately: see refreshOutcome.unready

	seriesCaches seriesCaches  // each pod's series labels, for ScrapeSeries
	points       podPoints     // each pod's series of several points, for Refresh's history (ScrapeSeries': in seriesCaches)
	seriesTurn   chan struct{} // one token: serialises ScrapeSeries calls, which reuse the caches' slices
}

// NewPodScrapingSource validates config, fills its defaults and returns a source reading
// Services, Pods and the token Secret through reader (a client.Client satisfies it; a
// manager's cached client serves discovery from its informers). ctx is not retained.
// A field refused (by config.Validate, or a Registerer that holds metrics of this
// Service's names no source registered) is an error wrapping a *ConfigError naming it.
// Sources of one Service on one Registerer share its metrics (see
// PodScrapingSourceConfig.Registerer): a replacement may be built before the source it
// replaces is closed.
// The source registers the AllMetricsQuery query.
func NewPodScrapingSource(ctx context.Context, reader client.Reader, config PodScrapingSourceConfig) (*PodScrapingSource, error) {
	if reader == nil {
		return nil, fmt.Errorf("pod scraping source: reader is nil")
	}
	if err := config.Validate(); err != nil {
		return nil, fmt.Errorf("pod scraping source config: %w", err)
	}
	cfg := config.withDefaults()
	metricsURL, err := metricsURLTemplate(&cfg)
	if err != nil { // Validate refused such a path
		return nil, fmt.Errorf("pod scraping source config: %w", &ConfigError{Field: "MetricsPath", Err: err})
	}
	transport, err := newTransport(&cfg)
	if err != nil { // Validate refused such a CA bundle
		return nil, fmt.Errorf("pod scraping source config: %w", &ConfigError{Field: "TLSCAData", Err: err})
	}
	s := &PodScrapingSource{
		config:       cfg,
		reader:       reader,
		secretReader: reader,
		transport:    transport,
		metricsURL:   metricsURL,
		queries:      source.NewQueryList(),
		cache:        source.NewCache(cfg.Clock),
		// One interner per source: its pods share label names and values.
		parsers:    newParserPool(cfg.MaxConcurrentScrapes, exposition.NewInterner(internerGenerationBytes), cfg.SampleLimit),
		slots:      make(chan struct{}, cfg.MaxConcurrentScrapes),
		seriesTurn: make(chan struct{}, 1),
	}
	s.loop.clock = cfg.Clock
	s.life, s.kill = context.WithCancel(context.Background())
	s.flights = flight.NewGroup[*selection, refreshOutcome](refresher{s})
	if cfg.SecretReader != nil {
		s.secretReader = cfg.SecretReader
	}
	if s.metrics, err = newMetrics(cfg.Registerer, s.serviceKey(), cfg.Clock); err != nil {
		return nil, fmt.Errorf("pod scraping source: %w", &ConfigError{Field: "Registerer", Err: err})
	}
	s.queries.MustRegister(source.QueryTemplate{
		Name:        AllMetricsQuery,
		Type:        source.QueryTypeMetricName,
		Template:    AllMetricsQuery,
		Description: "Every sample of every ready pod behind the Service",
	})
	return s, nil
}

// QueryList returns the source's query registry; it holds AllMetricsQuery from the start.
func (s *PodScrapingSource) QueryList() *source.QueryList { return s.queries }

// Get returns the cached result of queryName, or nil when there is none or it expired.
// A PromQL query's results are cached per params: Get returns the one refreshed with
// params (the same keys and values). Metric-name queries take no params: their result is
// found with any params. Get does no I/O and never waits for a Refresh. The value is
// shared with every other reader: read-only (see source.MetricResult).
func (s *PodScrapingSource) Get(queryName string, params map[string]string) *source.CachedValue {
	if q := s.queries.Get(queryName); q != nil && q.Type == source.QueryTypePromQL {
		return s.cache.Get(source.BuildCacheKey(queryName, params))
	}
	return s.cache.Get(source.BuildCacheKey(queryName, nil))
}

// Close ends the source's share of its Service's metrics (the last source of the
// Service on the Registerer to close unregisters them; the loop scrape Close cuts counts
// in none), stops the scrape loop and waits for it (Start returns nil, its scrape in
// progress cancelled, whatever Start's context), then releases the idle connections kept
// to pods between refreshes and lets go of the history of PromQL queries (its memory,
// once no Refresh in progress reads it: a Refresh in progress at Close answers from it as
// if Close had come after; it writes no file), the parsers kept for reuse and each pod's
// series kept for its next scrape, so that a closed source still held keeps little more
// than its cached results. Call it when done with a source,
// also one whose loop a manager runs (mgr.Add(src)): until then the loop scrapes its
// pods and it keeps its history. Refresh and Get keep working (a later Refresh dials
// again, keeping no connection once it ends, and starts a new, empty history; a Refresh
// in progress keeps none either), but its metrics are no longer exported, and a
// later Start returns at once. Calling Close again does no harm: it never unregisters
// the metrics another source of the Service uses.
func (s *PodScrapingSource) Close() {
	// First: the loop's scrape that Close cuts is no failure of the Service's pods, and
	// its metrics may go on in a replacement's.
	s.metrics.unregister()
	s.kill()
	s.loop.wait()
	s.loop.close()
	s.transport.CloseIdleConnections()
	s.closeHistory()
	s.parsers.close()
	// Kept for each pod's next scrape, as large as its exposition: none comes. Those of
	// scrapes in progress are not put back.
	s.seriesCaches.close()
	s.points.close()
}

// Refresh discovers the Service's ready pods, scrapes them concurrently, caches the
// results and returns them by query name. spec.Queries names registered queries (empty:
// all); spec.Params fill the templates of PromQL queries and are ignored by the others.
//
// What each result holds (metric-name results: pods in name order, each pod's samples in
// exposition order, each labelled __name__ and pod):
//   - AllMetricsQuery: every sample of every pod, each pod's followed by its up (1 or 0),
//     scrape_duration_seconds and scrape_samples_scraped.
//   - another QueryTypeMetricName query: per pod, the samples of the Template's name or
//     family, then the pod's up, so the result alone tells a pod that answered without
//     the metric (up 1, no sample) from a pod that did not answer (up 0). A query for
//     "up" itself holds each pod's up once.
//   - a QueryTypePromQL query: its Template, filled with spec.Params, evaluated over the
//     source's history of scrapes at the newest scrape's time. Its Error says what made
//     the answer incomplete or impossible: the query's own failure, the failed pods
//     (their series are stale), a *PartialWindowError (ErrPartialWindow: a window that
//     adds up over time, such as increase, reaches before what the history holds; the
//     values are kept), samples the history refused of a metric it reads
//     (ErrSampleAhead, ErrSampleOutOfOrder, ErrHistorySeriesLimit), or ErrNoHistory (a
//     metric it reads is not stored yet). The window of an estimate (rate, avg_over_time,
//     ...) reaching before the history is a warning in Warnings, not an Error, while
//     the answer has values; with none (a rate over a single scrape estimates nothing)
//     it is the Error too, a *PartialWindowError, so that no empty answer reads as no
//     load.
//   - any other query type: no values, and an Error wrapping ErrUnsupportedQuery.
//
// Some pods failing is not an error: the results hold the healthy pods' samples, an up 0
// sample per failed pod, and a MetricResult.Error joining a *ScrapeError per failed pod.
// Nor are pods that answered an earlier refresh (within HistoryRetention) and are no
// longer scraped because they turned not Ready or finished (phase Failed or Succeeded):
// every metric-name result, and each PromQL result one of whose selectors reads series
// the history holds of them, names them in Warnings ("service ns/name: 2 pods ... are no
// longer scraped, the answer leaves them out: pod vllm-1: not Ready; ..."; the first 10,
// then how many more), for a sum over the pods leaves out their load. A pod deleted or
// terminating (a scale-down), or starting (it never answered), is not named.
// Every pod failing is: Refresh returns an error wrapping ErrAllPodsFailed, together with
// results describing each failure, and caches nothing. No ready pods is an empty result
// and no error. Discovery or Secret failures, an unknown query name, or ctx ending
// return an error and no results; a failed Refresh never replaces a cached value, nor
// does a result that failed (an Error and no Values): Get keeps the last answer.
//
// Concurrent calls share scrapes whatever their queries: a call joins the refresh in
// progress when that refresh's scrape answers its queries, else it waits for the next
// refresh, which answers every call waiting for it with one scrape. Refreshes of one
// source (the scrape loop's included) never overlap, so no pod gets two requests from
// them at once and the cache never goes back to older data; ScrapeSeries scrapes apart. The returned map is the caller's; the results in
// it are shared and read-only.
func (s *PodScrapingSource) Refresh(ctx context.Context, spec source.RefreshSpec) (map[string]*source.MetricResult, error) {
	queries, err := s.queries.Resolve(spec.Queries)
	if err != nil {
		return nil, fmt.Errorf("refresh service %s: %w", s.serviceKey(), err)
	}

	// A history that cannot be created fails the PromQL results only (evalPromQL).
	s.noteFills(promQLOf(queries), spec.Params)
	store, hist, storeErr := s.historyNeeds()
	want := newSelection(queries, s.registered(), hist)
	var out refreshOutcome
	if last := s.loop.recent(s.config); last != nil && onlyPromQL(queries) && last.sel.covers(want) {
		// The scrape loop keeps the history fresh, and its last scrape stored what the
		// queries read: answer from it without scraping.
		out, err = *last, last.err
	} else {
		caught := s.watchProgress(ctx)
		out, _, err = s.flights.Do(ctx, want)
		doing := caught()
		if err != nil && out.results == nil {
			if errors.Is(err, ctx.Err()) {
				if doing != "" {
					return nil, fmt.Errorf("refresh service %s: %w (%s)", s.serviceKey(), err, doing)
				}
				return nil, fmt.Errorf("refresh service %s: %w", s.serviceKey(), err)
			}
			return nil, err
		}
	}
	results := make(map[string]*source.MetricResult, len(queries))
	for _, q := range queries {
		if r, ok := out.results[q.Name]; ok {
			results[q.Name] = r
		}
	}
	if promql := promQLOf(queries); len(promql) > 0 {
		if out.store != nil {
			// The history the scrape was stored in: another than the one found above
			// when Close let that go meanwhile (a later Refresh starts a new one).
			store, storeErr = out.store, nil
		}
		incomplete := out.podErr
		if err != nil {
			incomplete = err
		}
		evaluated := s.evalPromQL(ctx, store, storeErr, promql, spec.Params, out.evalAt, incomplete, out.refused, out.unready, out.noReady)
		if cerr := ctx.Err(); cerr != nil {
			// Evaluations cut short are no answer: nothing is returned or cached.
			return nil, fmt.Errorf("refresh service %s: %w", s.serviceKey(), cerr)
		}
		entries := make([]source.CacheEntry, 0, len(evaluated))
		for name, r := range evaluated {
			results[name] = r
			entries = append(entries, source.CacheEntry{Result: r, Params: spec.Params})
		}
		if err == nil && s.cache.SetAll(entries, s.config.DefaultTTL) > 0 {
			s.metrics.observeStored()
		}
	}
	return results, err
}

// onlyPromQL reports whether every query is a PromQL query.
func onlyPromQL(queries []source.QueryTemplate) bool {
	for _, q := range queries {
		if q.Type != source.QueryTypePromQL {
			return false
		}
	}
	return len(queries) > 0
}

// promQLOf returns the PromQL queries of queries.
func promQLOf(queries []source.QueryTemplate) []source.QueryTemplate {
	var out []source.QueryTemplate
	for _, q := range queries {
		if q.Type == source.QueryTypePromQL {
			out = append(out, q)
		}
	}
	return out
}

// registered returns the source's registered queries.
func (s *PodScrapingSource) registered() []source.QueryTemplate {
	names := s.queries.List()
	out := make([]source.QueryTemplate, 0, len(names))
	for _, name := range names {
		if q := s.queries.Get(name); q != nil {
			out = append(out, *q)
		}
	}
	return out
}

func (s *PodScrapingSource) serviceKey() string {
	return s.config.ServiceNamespace + "/" + s.config.ServiceName
}

// scrapeAll scrapes every target with at most MaxConcurrentScrapes requests in flight
// from this source; each goroutine writes its own slot, and all have returned when it
// does.
func (s *PodScrapingSource) scrapeAll(ctx context.Context, targets []target, job *scrapeJob) []podScrape {
	// An address now another pod's: no idle connection to the old pod carries a scrape.
	// The transport closes idle connections all together, every pod's (a rare cost: an
	// IP reused within the idle timeout).
	if s.owners.changed(targets, time.Now(), idleConnTimeout+s.config.ScrapeTimeout) {
		s.transport.CloseIdleConnections()
	}
	defer s.dropConnectionsIfClosed() // after every scrape has returned
	pods := make([]podScrape, len(targets))
	var wg sync.WaitGroup
	for i := range targets {
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			for j := i; j < len(targets); j++ {
				pods[j] = podScrape{target: targets[j], err: &ScrapeError{Pod: targets[j].key, URL: targets[j].url(), Err: callerEnded(ctx.Err())}}
			}
			wg.Wait()
			return pods
		}
		wg.Go(func() {
			defer func() { <-s.slots }()
			pods[i] = s.scrape(ctx, targets[i], job)
			job.progress.scraped(i, &pods[i])
		})
	}
	wg.Wait()
	return pods
}

// dropConnectionsIfClosed closes the idle connections of a closed source once its
// scrapes have ended: a request sent after Close makes the transport keep connections
// idle again (Close's closing of them lasts until the next request), for idleConnTimeout
// and a goroutine or two each, for a source nobody uses.
func (s *PodScrapingSource) dropConnectionsIfClosed() {
	if s.life.Err() != nil {
		s.transport.CloseIdleConnections()
	}
}
