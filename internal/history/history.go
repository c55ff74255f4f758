package history

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Defaults of Options' zero fields.
const (
	// DefaultRetention covers the [5m] windows of the autoscaler's queries twice over.
	DefaultRetention = 10 * time.Minute
	// DefaultSeriesLimit bounds the series a History holds (see BENCH.md for the bytes
	// a series and a sample cost).
	DefaultSeriesLimit = 100_000
	// DefaultLookbackDelta is Prometheus' default: how far back an instant selector looks.
	DefaultLookbackDelta = 5 * time.Minute
	// DefaultMaxSamples is Prometheus' default --query.max-samples.
	DefaultMaxSamples = 50_000_000
	// DefaultQueryTimeout is Prometheus' default --query.timeout.
	DefaultQueryTimeout = 2 * time.Minute
)

// ErrSeriesLimit is wrapped by an Append's error when new series were refused because
// the History held Options.SeriesLimit series.
var ErrSeriesLimit = errors.New("history series limit reached")

// ErrClosed is returned by Append and Query after Close.
var ErrClosed = errors.New("history closed")

// ErrFutureSample is wrapped by an Append's error when samples were refused because their
// own timestamp was more than FutureTolerance ahead of their scrape's time.
var ErrFutureSample = errors.New("sample timestamp too far ahead of its scrape")

// ErrOutOfOrder is wrapped by an Append's error when samples were dropped because their
// series already held a later sample, or because they were older than the retention.
var ErrOutOfOrder = errors.New("sample out of order or out of retention")

// MaxRefusedSeries bounds AppendStats.RefusedSeries: past it, only the refused series'
// metric names are reported.
const MaxRefusedSeries = 256

// FutureTolerance is how far ahead of its scrape a sample's own timestamp may be, as in
// Prometheus (which refuses samples more than 10 minutes in the future).
const FutureTolerance = 10 * time.Minute

// shiftTolerance bounds how far a sample without a timestamp of its own, or a staleness
// marker, may fall at or before its series' newest sample and still be written one
// millisecond after it (two scrapes in one millisecond, a clock that does not move, or
// one stepped back by less than a second, as NTP steps a clock), and how far an Append
// may be older than the newest.
const shiftTolerance = 1000 // ms

// Options configure a History. The zero value takes every default.
type Options struct {
	// Retention is how long samples are kept, counted back from the newest append.
	// Zero: DefaultRetention.
	Retention time.Duration
	// SeriesLimit is the most series held at once. Zero: DefaultSeriesLimit.
	SeriesLimit int
	// LookbackDelta is how far back an instant selector looks for a sample.
	// Zero: DefaultLookbackDelta.
	LookbackDelta time.Duration
	// MaxSamples bounds the samples one query may load. Zero: DefaultMaxSamples.
	MaxSamples int
	// QueryTimeout bounds one query. Zero: DefaultQueryTimeout.
	QueryTimeout time.Duration
	// Dir is ignored: the history is in memory and writes no file. It is kept so that
	// callers setting it still compile.
	Dir string
}

func (o Options) withDefaults() Options {
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.SeriesLimit <= 0 {
		o.SeriesLimit = DefaultSeriesLimit
	}
	if o.LookbackDelta <= 0 {
		o.LookbackDelta = DefaultLookbackDelta
	}
	if o.MaxSamples <= 0 {
		o.MaxSamples = DefaultMaxSamples
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = DefaultQueryTimeout
	}
	return o
}

// Sample is one sample of a scrape, with its series' final labels.
type Sample struct {
	// Labels name the series, __name__ included. History reads them and keeps its own
	// reference to them; the caller must not change them afterwards.
	Labels labels.Labels
	// T is the sample's time in milliseconds since the Unix epoch.
	T int64
	// V is its value; NaN and ±Inf are values.
	V float64
	// OwnTimestamp says T came from the exposition: such series are not marked stale
	// when they vanish, as Prometheus does by default.
	OwnTimestamp bool
	// Ref, when not nil, is the caller's slot for this series of this target, kept by
	// the caller from one Append to the next (pod.SeriesSample.Ref): Append keeps its handle
	// on the stored series there, and finds the series through it next time without
	// hashing the labels. The History reads and writes it only during Append; a slot
	// holding anything else, or a handle on another target's series or on labels that
	// differ, is ignored and overwritten.
	Ref *any
}

// Scrape is what one target gave at one scrape.
type Scrape struct {
	// Target identifies the target from one append to the next (a pod's namespace/name).
	Target string
	// Time is when the scrape started: the time of the staleness markers written for
	// series the target no longer exposes.
	Time time.Time
	// Samples are the target's samples, its synthetic up and scrape_* samples included.
	// A failed scrape carries only those.
	Samples []Sample
}

// AppendStats counts what one Append stored and refused.
type AppendStats struct {
	// Appended is the number of samples stored, staleness markers excluded.
	Appended int
	// StaleMarkers is the number of staleness markers written.
	StaleMarkers int
	// Refused is the number of samples of new series refused by the series limit.
	Refused int
	// Rejected is the number of samples with timestamps of their own dropped because
	// their series already held a later sample (out of order), or because they were
	// older than the newest append minus Options.Retention.
	Rejected int
	// Future is the number of samples refused because their own timestamp is more than
	// 10 minutes ahead of their scrape's time (Prometheus' tolerance); only that target's
	// samples are refused.
	Future int
	// Duplicates is the number of samples dropped because their series already held a
	// sample at that millisecond (an exporter exposing the same sample again, with a
	// timestamp of its own, or twice in one scrape); not an error.
	Duplicates int
	// RefusedNames are the metric names of the series of which samples were refused,
	// rejected or too far ahead (Refused, Rejected, Future): sorted, without repeats, the
	// caller's. A caller puts the Append's error only on the queries reading them.
	RefusedNames []string
	// RefusedSeries are the labels of those series, sorted, without repeats, for a caller
	// to put the error only on the queries that select one of them (Selects); nil when
	// more than MaxRefusedSeries were refused: RefusedNames says it then. The caller's.
	RefusedSeries []labels.Labels
	// Latest is the newest time the Append wrote a sample without a timestamp of its own
	// or a staleness marker at: its newest scrape's time, or a millisecond past the
	// series' newest sample when scrapes come in the same millisecond (a clock that does
	// not move). An instant query at Latest reads the Append whole; zero when it wrote no
	// such sample.
	Latest time.Time
	// SteppedBack, when not zero, is how far before the newest append this one was: a
	// second or more (the wall clock stepped back), so the History started over with it
	// (see Append).
	SteppedBack time.Duration
}

// History is an in-memory Prometheus storage of a source's scrapes with a PromQL engine
// over it. Create it with New and release it with Close. It is safe for concurrent use.
type History struct {
	opts   Options
	db     *store
	engine *engine

	life   sync.RWMutex // queries hold it read, Close write: no query starts on a closed history
	closed bool         // guarded by life (write) and mu

	mu      sync.Mutex // protects targets, targetsPeak, oldest, newest, truncateAt and serialises appends
	targets map[string]*targetSeries
	// targetsPeak is the most targets held since targets was made: Go maps never
	// shrink, and a scale-up to thousands of pods and back left its room (see Append).
	targetsPeak int
	oldest      int64  // ms of the first append; math.MinInt64 before it
	newest      int64  // ms of the newest append; math.MinInt64 before it
	truncateAt  int64  // ms of the last truncation's bound
	restarts    int    // how many appends started the history over
	gens        uint64 // targets' scrapes numbered so far (targetSeries.gen)
}

// New returns an empty History. Call Close when done with it. It makes no file; the
// error is kept for callers and is always nil today.
func New(opts Options) (*History, error) {
	opts = opts.withDefaults()
	h := &History{
		opts:       opts,
		db:         newStore(opts.LookbackDelta),
		targets:    map[string]*targetSeries{},
		oldest:     math.MinInt64,
		newest:     math.MinInt64,
		truncateAt: math.MinInt64,
	}
	h.engine = newEngine(opts)
	return h, nil
}

// Close releases the stored series. Appends and queries after it fail with ErrClosed;
// Close waits for queries in flight. It never fails.
func (h *History) Close() error {
	h.life.Lock()
	defer h.life.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	h.targets = nil
	// Queriers still held by a caller of Queryable keep the store alive until they go.
	h.db = newStore(h.opts.LookbackDelta)
	return nil
}

// Span returns the times of the oldest and newest appends still covered by the
// retention; both are zero before the first append.
func (h *History) Span() (oldest, newest time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.newest == math.MinInt64 {
		return time.Time{}, time.Time{}
	}
	o := max(h.oldest, h.newest-h.opts.Retention.Milliseconds())
	return time.UnixMilli(o), time.UnixMilli(h.newest)
}

// Holds reports whether the History holds a series matching ms, stale or not, within
// the retention. It reads no samples: a check much cheaper than a Select.
func (h *History) Holds(ms []*labels.Matcher) bool {
	h.life.RLock()
	defer h.life.RUnlock()
	return h.db.holds(ms)
}

// HoldsWhere is Holds of the series whose labels also satisfy keep.
func (h *History) HoldsWhere(ms []*labels.Matcher, keep func(labels.Labels) bool) bool {
	h.life.RLock()
	defer h.life.RUnlock()
	return h.db.holdsWhere(ms, keep)
}

// NumSeries returns the number of series held, stale ones within the retention included.
func (h *History) NumSeries() int {
	h.life.RLock()
	defer h.life.RUnlock()
	h.db.mu.RLock()
	defer h.db.mu.RUnlock()
	return h.db.numSeries()
}

// SeriesLimit returns the most series held at once: Options.SeriesLimit, or its default.
func (h *History) SeriesLimit() int { return h.opts.SeriesLimit }

// Append stores one scrape of every target. A target absent from scrapes that was present
// at the previous append has all its series marked stale at time at; so has every series a
// present target no longer exposes, at the target's Scrape.Time. One less than a second
// older than the newest append (a wall clock stepped back a little) is written as a
// scrape in the newest's millisecond is, just after the newest samples
// (AppendStats.Latest). One a second or more older (the wall clock stepped back further,
// as NTP steps a clock that ran ahead) starts the History over (AppendStats.SteppedBack,
// Restarts): what it held was timestamped by a clock since found wrong, and a window
// spanning the step would add up the growth of the time stepped back over a shorter span,
// a silent overestimate; refusing appends instead would fail every query until the clock
// caught up. Its windows then fill from that append, as after New: history never goes
// backwards. Queries in flight finish first; queriers already made keep what they read.
//
// Samples are kept as Prometheus keeps them. A sample with a timestamp of its own is kept
// at any age the retention covers, in order per series: one at or before its series'
// newest sample is dropped (Duplicates when at the same millisecond, Rejected when
// older); one more than FutureTolerance ahead of its scrape's time is refused (Future).
// A sample without a timestamp of its own, or a staleness marker, that falls at or just
// before its series' newest sample (two scrapes in one millisecond) is written one
// millisecond after it, so the later scrape wins from there on and no marker is lost:
// AppendStats.Latest is the instant from which a query reads the whole Append. A second
// such sample of a series in one target's scrape is dropped (Duplicates): the first
// is kept, as Prometheus keeps it.
// What one target exposes never causes another target's samples to be refused.
//
// The error names the first refused sample's target and series per cause, wrapping
// ErrSeriesLimit, ErrFutureSample or ErrOutOfOrder; the stats count them, and
// AppendStats.RefusedSeries and RefusedNames name their series and metrics. Samples that
// could be stored are stored whatever the error.
func (h *History) Append(ctx context.Context, at time.Time, scrapes []Scrape) (AppendStats, error) {
	var st AppendStats
	atMs := at.UnixMilli()
	h.mu.Lock()
	if !h.closed && h.behind(atMs) {
		// Starting over replaces the store, which queries read without mu: wait for
		// them, taking the locks in Close's order.
		h.mu.Unlock()
		h.life.Lock()
		h.mu.Lock()
		if !h.closed && h.behind(atMs) {
			st.SteppedBack = time.Duration(h.newest-atMs) * time.Millisecond
			h.startOver()
		}
		h.life.Unlock()
	}
	defer h.mu.Unlock()
	if h.closed {
		return st, ErrClosed
	}

	a := appendRun{h: h, st: &st, minValid: atMs - h.opts.Retention.Milliseconds(), names: map[string]struct{}{},
		series: map[uint64][]labels.Labels{}, latest: math.MinInt64}
	h.db.mu.Lock()
	h.db.begin()
	seen := make(map[string]struct{}, len(scrapes))
	for i := range scrapes {
		sc := &scrapes[i]
		seen[sc.Target] = struct{}{}
		ts := h.targets[sc.Target]
		if ts == nil {
			ts = &targetSeries{}
			h.targets[sc.Target] = ts
		}
		h.gens++
		ts.next(h.gens)
		scMs := atMs
		if !sc.Time.IsZero() {
			scMs = sc.Time.UnixMilli()
		}
		for j := range sc.Samples {
			a.sample(ts, sc.Target, &sc.Samples[j], scMs)
		}
		n, latest := ts.markStale(h.db, scMs, true)
		st.StaleMarkers += n
		a.latest = max(a.latest, latest)
	}
	h.targetsPeak = max(h.targetsPeak, len(h.targets))
	for name, ts := range h.targets {
		if _, ok := seen[name]; ok {
			continue
		}
		h.gens++
		ts.next(h.gens)
		n, latest := ts.markStale(h.db, atMs, false)
		st.StaleMarkers += n
		a.latest = max(a.latest, latest)
		delete(h.targets, name)
	}
	if oversized(h.targetsPeak, len(h.targets)) {
		// Far fewer targets than it held (a Service scaled from thousands of pods back to
		// a few): the map is made anew without their room, once per such drop.
		m := make(map[string]*targetSeries, len(h.targets))
		for name, ts := range h.targets {
			m[name] = ts
		}
		h.targets, h.targetsPeak = m, len(m)
	}
	if h.oldest == math.MinInt64 {
		h.oldest = atMs
	}
	h.newest = max(h.newest, atMs) // a clock stepped back: its samples went after the newest
	h.truncate()
	h.db.mu.Unlock()

	if a.latest != math.MinInt64 {
		st.Latest = time.UnixMilli(a.latest)
	}
	for n := range a.names {
		st.RefusedNames = append(st.RefusedNames, n)
	}
	slices.Sort(st.RefusedNames)
	for _, list := range a.series {
		st.RefusedSeries = append(st.RefusedSeries, list...)
	}
	// sort.Slice, not slices.SortFunc: a generic sort is compiled anew for each element
	// type, about 9 KB of every importer's binary for this one (BENCH.md, binary size).
	sort.Slice(st.RefusedSeries, func(i, j int) bool { return labels.Compare(st.RefusedSeries[i], st.RefusedSeries[j]) < 0 })
	var errs []error
	if st.Refused > 0 {
		errs = append(errs, fmt.Errorf("history: %w (%d series): %d samples of new series refused, first: %w",
			ErrSeriesLimit, h.opts.SeriesLimit, st.Refused, a.firstRefused))
	}
	if st.Future > 0 {
		errs = append(errs, fmt.Errorf("history: %w: %d samples more than %s ahead of their scrape refused, first: %w",
			ErrFutureSample, st.Future, FutureTolerance, a.firstFuture))
	}
	if st.Rejected > 0 {
		errs = append(errs, fmt.Errorf("history: %w: %d samples dropped, first: %w", ErrOutOfOrder, st.Rejected, a.firstRejected))
	}
	return st, errors.Join(errs...)
}

// behind reports whether an append at atMs is a second or more older than the newest:
// it starts the history over. The caller holds mu.
func (h *History) behind(atMs int64) bool {
	return h.newest != math.MinInt64 && h.newest-atMs >= shiftTolerance
}

// startOver empties the history, as New made it. The caller holds life for writing and mu.
func (h *History) startOver() {
	h.db = newStore(h.opts.LookbackDelta)
	h.targets, h.targetsPeak = map[string]*targetSeries{}, 0
	h.oldest, h.newest, h.truncateAt = math.MinInt64, math.MinInt64, math.MinInt64
	h.restarts++
}

// StartsOver reports whether an Append at at would start the history over (see Append):
// at is a second or more older than the newest append. A caller that hands the History
// only what it does not hold yet hands it everything then.
func (h *History) StartsOver(at time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.closed && h.behind(at.UnixMilli())
}

// Restarts returns how many Appends started the history over (see Append).
func (h *History) Restarts() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.restarts
}

// appendRun is the state of one Append.
type appendRun struct {
	h        *History
	st       *AppendStats
	minValid int64                      // ms: own timestamps older than it are out of retention
	names    map[string]struct{}        // metric names of refused samples
	series   map[uint64][]labels.Labels // refused series by hash, up to MaxRefusedSeries; nil past it
	nSeries  int                        // len of every slice of series
	latest   int64                      // ms of the newest sample without its own timestamp or marker written
	// The first refused sample of each cause, for the error.
	firstRefused, firstFuture, firstRejected error
}

// sample stores one sample of target's scrape at scMs. The caller holds the store's mu.
func (a *appendRun) sample(ts *targetSeries, target string, s *Sample, scMs int64) {
	db := a.h.db
	var ms *memSeries
	if s.Ref != nil {
		if r, ok := (*s.Ref).(*memSeries); ok && r.owner == ts && !r.dead && labels.Equal(r.lset, s.Labels) {
			ms = r
		}
	}
	if ms == nil {
		hash := s.Labels.Hash()
		ms = db.get(s.Labels, hash)
		if ms == nil {
			// A sample refused for its time makes no series: the series would hold
			// nothing, and take a slot of the series limit from every other target.
			if a.refusedByTime(target, s, scMs) {
				return
			}
			if db.numSeries() >= a.h.opts.SeriesLimit {
				a.st.Refused++
				a.refuse(&a.firstRefused, target, s, "new series")
				return
			}
			ms = db.create(s.Labels, hash)
		}
		if ms.owner != ts {
			ts.take(ms)
		}
	}
	if s.Ref != nil {
		*s.Ref = ms
	}
	if ms.gen == ts.gen && !s.OwnTimestamp {
		// The series' second sample in this scrape, at the same time (spelt otherwise
		// by the target: a label with an empty value is no label). Prometheus keeps the
		// first; the shift below is for a scrape in the same millisecond as the last.
		a.st.Duplicates++
		return
	}
	ts.see(ms)
	// Whether the series goes stale when it vanishes is decided by its latest sample,
	// as Prometheus' scrape cache tracks staleness per scrape.
	ms.ownTS = s.OwnTimestamp
	if a.refusedByTime(target, s, scMs) {
		return
	}
	t := s.T
	last := ms.newest()
	switch {
	case t <= last && !s.OwnTimestamp && last-t < shiftTolerance:
		t = last + 1
	case t == last:
		a.st.Duplicates++
		return
	case t < last:
		a.st.Rejected++
		a.refuse(&a.firstRejected, target, s, fmt.Sprintf("out of order: its series has a sample at %d", last))
		return
	}
	db.append(ms, t, s.V)
	a.st.Appended++
	if !s.OwnTimestamp {
		a.latest = max(a.latest, t)
	}
}

// refusedByTime refuses s, and reports whether it did, when its time is more than
// FutureTolerance ahead of its scrape at scMs or older than the retention.
func (a *appendRun) refusedByTime(target string, s *Sample, scMs int64) bool {
	switch {
	case s.T > scMs+FutureTolerance.Milliseconds():
		a.st.Future++
		a.refuse(&a.firstFuture, target, s, aheadBy(s.T-scMs)+" ahead of its scrape")
		return true
	case s.T < a.minValid:
		a.st.Rejected++
		a.refuse(&a.firstRejected, target, s, "older than the retention")
		return true
	}
	return false
}

// aheadBy says how far ahead ms milliseconds are: past what a time.Duration holds (about
// 292 years: an exporter writing its timestamps in microseconds or nanoseconds) as such,
// not as the wrapped-around count of hours the multiplication gives.
func aheadBy(ms int64) string {
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return "over 292 years"
	}
	return (time.Duration(ms) * time.Millisecond).String()
}

// refuse records a refused sample's metric name and series and, if first is unset, its
// description.
func (a *appendRun) refuse(first *error, target string, s *Sample, why string) {
	a.names[s.Labels.Get(labels.MetricName)] = struct{}{}
	if a.series != nil {
		h := s.Labels.Hash()
		if !slices.ContainsFunc(a.series[h], func(l labels.Labels) bool { return labels.Equal(l, s.Labels) }) {
			a.series[h] = append(a.series[h], s.Labels)
			if a.nSeries++; a.nSeries > MaxRefusedSeries {
				a.series = nil
			}
		}
	}
	if *first == nil {
		*first = fmt.Errorf("target %s: series %s at %s: %s",
			target, cutSeries(s.Labels.String()), time.UnixMilli(s.T).UTC().Format(time.RFC3339Nano), why)
	}
}

// maxQuotedSeries is how much of a refused series an Append's error quotes: a label
// value may be megabytes long, and serve writes the error into every answer that may
// read the Service.
const maxQuotedSeries = 512

// cutSeries returns a series' text cut to maxQuotedSeries bytes.
func cutSeries(s string) string {
	if len(s) <= maxQuotedSeries {
		return s
	}
	return s[:maxQuotedSeries] + "..."
}

// truncate drops what the retention no longer covers, once per quarter retention: each
// truncation walks every series. While a querier of an earlier append is open it waits
// (the next append tries again), as Prometheus' head waits for the readers of the range
// it truncates: the querier keeps seeing what it saw. A querier never closed holds it
// back until the oldest sample held is two retentions old. The caller holds mu and the store's mu.
func (h *History) truncate() {
	mint := h.newest - h.opts.Retention.Milliseconds()
	if h.truncateAt != math.MinInt64 && mint-h.truncateAt < h.opts.Retention.Milliseconds()/4 {
		return
	}
	if mint <= h.db.minTime {
		return
	}
	if h.db.low < h.db.epoch && mint-h.db.minTime < h.opts.Retention.Milliseconds() {
		return
	}
	h.truncateAt = mint
	h.db.truncate(mint)
}

// PairWithin reports whether a series matching ms holds two samples after from and at
// or before to, staleness markers not counted, less than rng apart: whether a function
// that needs two samples (rate, irate, deriv, ...) over windows of rng between from and
// to can answer. When none does, live reports whether a matching series' last sample
// there is a value, not a staleness marker: a series still exposed, whose pods' scrapes
// failed for longer than rng or which began within it, rather than one gone (or none).
func (h *History) PairWithin(ms []*labels.Matcher, from, to time.Time, rng time.Duration) (pair, live bool) {
	return h.PairWhere(ms, from, to, rng, nil)
}

// PairWhere is PairWithin counting only the pairs fits accepts: two successive values of
// a series, at a and b (milliseconds), less than rng apart; nil accepts any. With it a
// caller asks whether one of the windows a subquery evaluates holds a pair, not only
// whether the span they cover does.
func (h *History) PairWhere(ms []*labels.Matcher, from, to time.Time, rng time.Duration, fits func(a, b int64) bool) (pair, live bool) {
	h.life.RLock()
	defer h.life.RUnlock()
	mint, maxt := from.UnixMilli()+1, to.UnixMilli()
	if h.closed || maxt < mint {
		return false, false
	}
	q := h.db.querier(mint, maxt, h.opts.LookbackDelta.Milliseconds())
	defer q.Close()
	return q.pairWithin(ms, mint, maxt, rng.Milliseconds(), fits)
}

// LookbackDelta is how far back the history's own queries look (Options.LookbackDelta).
func (h *History) LookbackDelta() time.Duration { return h.opts.LookbackDelta }

// FirstSample returns the time of the oldest value (staleness markers not counted) after
// from and at or before to among the series matching ms that hold two values there, and
// false when none does: where the span the history holds for a selector's rates begins
// (NarrowRates). A series of one value has no rate, and does not set it: one exposed with
// a fixed timestamp of its own, older than the first scrape, would stretch the span
// every other series' rate is divided by.
func (h *History) FirstSample(ms []*labels.Matcher, from, to time.Time) (time.Time, bool) {
	h.life.RLock()
	defer h.life.RUnlock()
	mint, maxt := from.UnixMilli()+1, to.UnixMilli()
	if h.closed || maxt < mint {
		return time.Time{}, false
	}
	q := h.db.querier(mint, maxt, h.opts.LookbackDelta.Milliseconds())
	defer q.Close()
	t, ok := q.firstWithin(ms, mint, maxt)
	return time.UnixMilli(t), ok
}
