package pod

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/source"
)

// promHistory is the source's scrapes as Prometheus series, for its PromQL queries. It
// exists from the first refresh that finds a PromQL query registered.
type promHistory struct {
	mu    sync.Mutex       // protects every field below
	store *history.History // nil until a PromQL query is registered
	needs storedNames      // what the registered PromQL queries read
	key   string           // the registered PromQL queries the needs were computed for
	since storedSince      // since when store has held each metric
	// before are the series store held before it last started over (the clock stepped
	// back), kept until beforeUntil, a retention after: a pod no longer scraped held
	// them, and the results that read them still leave it out (unreadyRead).
	before      []labels.Labels
	beforeUntil time.Time
	// create makes the history: history.New when nil. Tests make it fail, which the
	// in-memory history never does, to hold the error path to its contract.
	create func(history.Options) (*history.History, error)

	analysed map[string]templateRead // by template: what it reads whatever its params
	fills    map[string]storedNames  // by query name, for templates read byParams: what their filled expressions read
	fillsGen int                     // bumped when fills grow, so the needs are computed again
}

// templateRead is what templateReads returns of one template.
type templateRead struct {
	names         []string
	all, byParams bool
}

// maxFilledNames bounds the metric names one query's params may name before the history
// stores every metric for it instead.
const maxFilledNames = 64

// read returns what template reads whatever its params, analysed once. h.mu must be held.
func (h *promHistory) read(template string) templateRead {
	if r, ok := h.analysed[template]; ok {
		return r
	}
	if h.analysed == nil {
		h.analysed = map[string]templateRead{}
	}
	var r templateRead
	r.names, r.all, r.byParams = templateReads(template)
	h.analysed[template] = r
	return r
}

// noteFills records what the PromQL queries whose params name metrics read with params
// filled in, so the history stores those metrics from this refresh on.
func (s *PodScrapingSource) noteFills(queries []source.QueryTemplate, params map[string]string) {
	h := &s.history
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, q := range queries {
		if q.Type != source.QueryTypePromQL || !h.read(q.Template).byParams {
			continue
		}
		expr, err := source.FillTemplate(q, params)
		if err != nil {
			continue // its result reports it
		}
		f := h.fills[q.Name]
		if f.all {
			continue // every metric is stored for it: the names it is given no longer matter
		}
		names, all := filledReads(expr)
		if f.names == nil {
			f.names = map[string]struct{}{}
		}
		grew := all
		for _, name := range names {
			if _, ok := f.names[name]; !ok {
				f.names[name] = struct{}{}
				grew = true
			}
		}
		if all || len(f.names) > maxFilledNames {
			// Forgotten, not kept growing with every new name for ever (needs, and
			// each refresh's selection, hold them all).
			f = storedNames{all: true}
		}
		if grew {
			if h.fills == nil {
				h.fills = map[string]storedNames{}
			}
			h.fills[q.Name] = f
			h.fillsGen++
		}
	}
}

// storedNames are the metric names the history keeps: every name when all is set.
type storedNames struct {
	all   bool
	names map[string]struct{}
}

// sorted returns the names in order, so selections built from them are alike.
func (n storedNames) sorted() []string {
	return slices.Sorted(maps.Keys(n.names))
}

func (n storedNames) keeps(name string) bool {
	if n.all {
		return true
	}
	_, ok := n.names[name]
	return ok
}

// historyEpoch names store, the history the next append stores in ("" without one): what
// podPoints are kept for. The needs are not part of it: a metric the history starts
// storing is handed whole (see targetPoints.stored), while the points of those it
// stored already are not handed again, which it would refuse as out of order.
func (s *PodScrapingSource) historyEpoch(store *history.History) string {
	if store == nil {
		return ""
	}
	// A history started over (the clock stepped back) holds none of the points it had;
	// nor does one this refresh's append will start over: its scrape hands every point.
	restarts := store.Restarts()
	if store.StartsOver(s.config.Clock.Now()) {
		restarts++
	}
	return fmt.Sprintf("%p\x00%d", store, restarts)
}

// historyNeeds returns the history of the source, created on first use, and the names
// its registered PromQL queries read (see templateReads; for a template whose params
// name its metrics, the names its params named in the refreshes so far, see noteFills).
// It returns a nil history when no PromQL query is registered, and a nil history, no
// names and the error when the history cannot be created: only the PromQL results
// report it, and the next refresh tries again.
func (s *PodScrapingSource) historyNeeds() (*history.History, storedNames, error) {
	var promql []source.QueryTemplate
	key := ""
	for _, name := range s.queries.List() {
		if q := s.queries.Get(name); q != nil && q.Type == source.QueryTypePromQL {
			promql = append(promql, *q)
			key += q.Name + "\x00" + q.Template + "\x00"
		}
	}
	h := &s.history
	h.mu.Lock()
	defer h.mu.Unlock()
	key += strconv.Itoa(h.fillsGen)
	if len(promql) == 0 {
		return h.store, storedNames{}, nil
	}
	if h.store == nil {
		create := h.create
		if create == nil {
			create = history.New
		}
		store, err := create(history.Options{
			Retention:   s.config.HistoryRetention,
			SeriesLimit: s.config.HistorySeriesLimit,
			Dir:         s.config.HistoryDir,
		})
		if err != nil {
			return nil, storedNames{}, fmt.Errorf("service %s: %w", s.serviceKey(), err)
		}
		// A new history holds nothing: the books of one Close let go are not its.
		h.store, h.since = store, storedSince{}
		h.before, h.beforeUntil = nil, time.Time{}
	}
	if key != h.key {
		needs := storedNames{names: map[string]struct{}{}}
		for _, q := range promql {
			r := h.read(q.Template)
			if r.byParams {
				// Its params name what it reads: the names filled in so far.
				r.names, r.all = h.fills[q.Name].sorted(), h.fills[q.Name].all
			}
			needs.all = needs.all || r.all
			for _, name := range r.names {
				needs.names[name] = struct{}{}
			}
		}
		h.needs, h.key = needs, key
	}
	return h.store, h.needs, nil
}

// appendHistory stores one refresh's scrapes: each pod's kept samples that a registered
// PromQL query can read, labelled as Prometheus' pod-role relabelling labels them (see
// seriesLabels).
// unseen says no pod was scraped while a pod that answered before is not Ready: for the
// windows, a gap, as a refresh where every pod failed.
// It returns what the history refused (the series limit, samples out of order or too far
// ahead), for the PromQL results that read those metrics to carry, and the instant from
// which a query reads the whole append: at, or a few milliseconds later when refreshes
// come in the same millisecond (see history.AppendStats.Latest). When at is a second or
// more before the newest scrape stored (the Clock stepped back), the history starts over
// with this scrape, and so does what the windows count from: their results are partial
// (or warned) until the history holds their windows again, instead of failing until the
// clock caught up and then adding up the time stepped back over a shorter span.
func (s *PodScrapingSource) appendHistory(ctx context.Context, store *history.History, needs storedNames, pods []podScrape, at time.Time, unseen bool) (refusal, time.Time) {
	// A history starting over holds nothing: it is handed even the points it had.
	restart := store.StartsOver(at)
	var before []labels.Labels
	if restart {
		store.HoldsWhere(nil, func(l labels.Labels) bool {
			before = append(before, l)
			return false
		})
	}
	scrapes := make([]history.Scrape, len(pods))
	var b labels.Builder
	for i := range pods {
		ps := &pods[i]
		sc := history.Scrape{Target: ps.target.key, Time: ps.scrapedAt}
		add := func(v *source.MetricValue) {
			if !needs.keeps(v.Labels["__name__"]) {
				return
			}
			sc.Samples = append(sc.Samples, history.Sample{
				Labels:       seriesLabels(&b, v.Labels, s.config.ServiceNamespace, ps.target.instance()),
				T:            v.Timestamp.UnixMilli(),
				V:            v.Value,
				OwnTimestamp: !v.Timestamp.Equal(ps.scrapedAt),
			})
		}
		// The repeats of a series with later timestamps of their own, in exposition order;
		// not the samples the history has already (podScrape.stored).
		r, st := 0, 0
		for j := range ps.values {
			for ; r < len(ps.repeats) && ps.repeats[r].at == j; r++ {
				add(&ps.repeats[r].v)
			}
			if st < len(ps.stored) && int(ps.stored[st]) == j {
				st++
				if !restart {
					continue
				}
			}
			add(&ps.values[j])
		}
		for ; r < len(ps.repeats); r++ {
			add(&ps.repeats[r].v)
		}
		scrapes[i] = sc
	}
	st, err := store.Append(ctx, at, scrapes)
	s.metrics.observeRefused(st)
	evalAt := at
	if st.Latest.After(at) {
		evalAt = st.Latest
	}
	if !errors.Is(err, history.ErrClosed) {
		s.history.mu.Lock()
		// Recorded where the history wrote it: after the newest when the clock did not
		// move, or stepped back. A refresh where every pod's scrape failed stored no
		// sample of the metrics (only up 0 and staleness markers): for the windows, its
		// time is a gap, as a refresh that failed as a whole is, and the scrape after it
		// holds the window alone. So is one that scraped no pod while a pod that had
		// answered is not Ready (unseen: overloaded, it may serve its queue). (One with no
		// pod at all, a Service scaled to zero or a rollout's old pod terminating while
		// the new one starts, is a scrape: of nothing.)
		if s.history.booksOf(store) {
			if st.SteppedBack > 0 {
				s.history.since = storedSince{}
				s.history.before, s.history.beforeUntil = before, at.Add(s.retention())
				logr.FromContextOrDiscard(ctx).Info("clock stepped back: the PromQL history starts over",
					"service", s.serviceKey(), "steppedBack", st.SteppedBack.String(), "at", at.UTC().Format(time.RFC3339Nano))
				s.metrics.observeReset()
			}
			if allFailed(pods) || unseen {
				s.history.since.note(needs, evalAt)
			} else {
				s.history.since.record(needs, evalAt, s.retention())
			}
		}
		s.history.mu.Unlock()
	}
	if err != nil {
		return refusal{err: fmt.Errorf("service %s: %w", s.serviceKey(), err), names: st.RefusedNames, series: st.RefusedSeries}, evalAt
	}
	return refusal{}, evalAt
}

// heldBefore returns the series store held before it last started over, while an
// evaluation at at is within a retention of that (see promHistory.before); else nil.
func (s *PodScrapingSource) heldBefore(store *history.History, at time.Time) []labels.Labels {
	h := &s.history
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.booksOf(store) || !at.Before(h.beforeUntil) {
		return nil
	}
	return h.before
}

// allFailed reports whether there were pods and every one's scrape failed.
func allFailed(pods []podScrape) bool {
	for i := range pods {
		if pods[i].err == nil {
			return false
		}
	}
	return len(pods) > 0
}

// refusal is what the history refused of one scrape: its error, and the series refused
// and their metric names. A PromQL result carries the error when one of its selectors
// matches a refused series; when the series are not known (too many), when its
// expression reads one of those names or any metric; every result does when no name is
// known (the history could not store the scrape at all).
type refusal struct {
	err    error
	names  []string        // sorted
	series []labels.Labels // nil: more than history.MaxRefusedSeries, match names
}

// of returns the refusal's error when expr reads a refused series, else nil.
func (r refusal) of(expr string) error {
	if r.err == nil {
		return nil
	}
	if len(r.names) == 0 {
		return r.err
	}
	if r.series != nil {
		if selects, err := history.Selects(expr, r.series); err != nil || !selects {
			return nil // a parse error: the evaluation reports it
		}
		return r.err
	}
	reads, err := history.Reads(expr)
	if err != nil {
		return nil // the evaluation reports it
	}
	for _, rd := range reads {
		if _, found := slices.BinarySearch(r.names, rd.Metric); found || rd.Metric == "" {
			return r.err
		}
	}
	return nil
}

// closeHistory lets the history go: its memory is released once no Refresh in progress
// reads it. It is not closed, which would fail those Refreshes' PromQL results with
// "history closed" (a reconcile holding a source its replacement's Close raced); its
// books (since, before) stay theirs until a later Refresh makes a new history.
func (s *PodScrapingSource) closeHistory() {
	h := &s.history
	h.mu.Lock()
	defer h.mu.Unlock()
	h.store = nil
}

// booksOf reports whether h's books (since, before) are of store: the history of the
// source, or, after Close let it go and before a new one was made, the one let go, which
// Refreshes in progress at Close still store in and read. h.mu must be held.
func (h *promHistory) booksOf(store *history.History) bool {
	return store == h.store || h.store == nil
}

// HistorySpan returns the times of the oldest and newest scrapes the history of PromQL
// queries holds within its retention; both are zero before the first scrape stored (or
// when no PromQL query is registered). A range selector's window is covered once
// newest-oldest reaches it, and once the metrics it reads have been stored that long: a
// metric a query registered later reads counts from the refresh that began storing it
// (see ErrPartialWindow).
func (s *PodScrapingSource) HistorySpan() (oldest, newest time.Time) {
	h := &s.history
	h.mu.Lock()
	store := h.store
	h.mu.Unlock()
	if store == nil {
		return time.Time{}, time.Time{}
	}
	return store.Span()
}

// coverage returns what an evaluation over store can know of the span it holds: its
// oldest scrape and since when each metric has been stored.
func (s *PodScrapingSource) coverage(store *history.History) coverage {
	oldest, _ := store.Span()
	h := &s.history
	h.mu.Lock()
	defer h.mu.Unlock()
	retention := s.retention()
	if !h.booksOf(store) {
		return coverage{oldest: oldest, retention: retention, interval: s.config.ScrapeInterval}
	}
	return coverage{oldest: oldest, since: h.since.clone(), retention: retention, interval: s.config.ScrapeInterval}
}

// retention returns the history's retention: HistoryRetention or its default.
func (s *PodScrapingSource) retention() time.Duration {
	if s.config.HistoryRetention > 0 {
		return s.config.HistoryRetention
	}
	return history.DefaultRetention
}
