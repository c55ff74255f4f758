package history

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
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
	// Dir is where a private, empty directory is made for the storage's chunk files
	// (the tsdb head requires one; samples stay in memory and it holds no data until
	// Close). Zero: os.TempDir(). Close removes it.
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
	// Rejected is the number of samples the storage rejected: out of order or older
	// than the retention.
	Rejected int
	// Future is the number of samples refused because their own timestamp is more than
	// 10 minutes ahead of their scrape's time (Prometheus' tolerance); only that target's
	// samples are refused.
	Future int
	// Duplicates is the number of samples dropped because their series already had a
	// sample at that millisecond (two scrapes in one millisecond); not an error.
	Duplicates int
}

// History is an in-memory Prometheus storage of a source's scrapes with a PromQL engine
// over it. Create it with New and release it with Close. It is safe for concurrent use.
type History struct {
	opts   Options
	dir    string
	head   *tsdb.Head
	engine *engine

	life   sync.RWMutex // queries hold it read, Close write: no query runs on a closed head
	closed bool         // guarded by life (write) and mu

	mu         sync.Mutex // protects targets, newest, truncatedAt, oldest and serialises appends
	targets    map[string]*targetSeries
	oldest     int64 // ms of the first append; math.MinInt64 before it
	newest     int64 // ms of the newest append; math.MinInt64 before it
	truncateAt int64 // ms of the last truncation
}

// New returns an empty History. Call Close when done with it.
func New(opts Options) (*History, error) {
	opts = opts.withDefaults()
	dir, err := os.MkdirTemp(opts.Dir, "podscrape-history-")
	if err != nil {
		return nil, fmt.Errorf("history: chunk directory: %w", err)
	}
	ho := tsdb.DefaultHeadOptions()
	ho.ChunkDirRoot = dir
	// Chunks are cut at multiples of the chunk range and retention drops whole chunks,
	// so a quarter of the retention keeps at most that much extra.
	ho.ChunkRange = max(opts.Retention.Milliseconds()/4, time.Minute.Milliseconds())
	// The default stripes (16384 series maps and locks, made up front) suit a server of
	// millions of series; a source holds thousands.
	ho.StripeSize = 1024
	head, err := tsdb.NewHead(nil, nil, nil, nil, ho, nil)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("history: storage: %w", err)
	}
	h := &History{
		opts:       opts,
		dir:        dir,
		head:       head,
		targets:    map[string]*targetSeries{},
		oldest:     math.MinInt64,
		newest:     math.MinInt64,
		truncateAt: math.MinInt64,
	}
	h.engine = newEngine(opts)
	return h, nil
}

// Close releases the storage and removes its directory. Appends and queries after it fail
// with ErrClosed; Close waits for queries in flight.
func (h *History) Close() error {
	h.life.Lock()
	defer h.life.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	err := h.head.Close()
	return errors.Join(err, os.RemoveAll(h.dir))
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

// NumSeries returns the number of series held, stale ones within the retention included.
func (h *History) NumSeries() int { return int(h.head.NumSeries()) }

// Append stores one scrape of every target. A target absent from scrapes that was present
// at the previous append has all its series marked stale at time at; so has every series a
// present target no longer exposes, at the target's Scrape.Time. An append older than the
// newest one is refused with an error: history never goes backwards.
//
// The error describes refused and rejected samples; the stats count them. Samples that
// could be stored are stored whatever the error.
func (h *History) Append(ctx context.Context, at time.Time, scrapes []Scrape) (AppendStats, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var st AppendStats
	if h.closed {
		return st, ErrClosed
	}
	atMs := at.UnixMilli()
	if atMs < h.newest {
		return st, fmt.Errorf("history: append at %s is older than the newest append at %s",
			at.UTC().Format(time.RFC3339Nano), time.UnixMilli(h.newest).UTC().Format(time.RFC3339Nano))
	}

	app := h.head.Appender(ctx)
	var rejected []error
	seen := make(map[string]struct{}, len(scrapes))
	for i := range scrapes {
		sc := &scrapes[i]
		seen[sc.Target] = struct{}{}
		ts := h.targets[sc.Target]
		if ts == nil {
			ts = newTargetSeries()
			h.targets[sc.Target] = ts
		}
		ts.gen++
		for j := range sc.Samples {
			s := &sc.Samples[j]
			e := ts.lookup(s.Labels)
			if e == nil {
				if !h.admit(app, s.Labels) {
					st.Refused++
					continue
				}
				e = ts.add(s.Labels, s.OwnTimestamp)
			}
			e.gen = ts.gen
			ref, err := app.Append(e.ref, e.lset, s.T, s.V)
			if errors.Is(err, storage.ErrDuplicateSampleForTimestamp) {
				// Two scrapes in one millisecond: the series keeps the first, as a
				// Prometheus series keeps one sample per timestamp.
				st.Duplicates++
				continue
			}
			if err != nil {
				st.Rejected++
				rejected = appendFirst(rejected, fmt.Errorf("target %s: series %s at %d: %w", sc.Target, s.Labels, s.T, err))
				continue
			}
			e.ref = ref
			st.Appended++
		}
		st.StaleMarkers += ts.markStale(app, sc.Time.UnixMilli(), true)
	}
	for name, ts := range h.targets {
		if _, ok := seen[name]; ok {
			continue
		}
		ts.gen++
		st.StaleMarkers += ts.markStale(app, atMs, false)
		delete(h.targets, name)
	}
	if err := app.Commit(); err != nil {
		return st, fmt.Errorf("history: commit: %w", err)
	}
	if h.oldest == math.MinInt64 {
		h.oldest = atMs
	}
	h.newest = atMs
	h.truncate()

	var errs []error
	if st.Refused > 0 {
		errs = append(errs, fmt.Errorf("history: %w (%d series): %d samples of new series refused",
			ErrSeriesLimit, h.opts.SeriesLimit, st.Refused))
	}
	if st.Rejected > 0 {
		errs = append(errs, fmt.Errorf("history: %d samples rejected, first: %w", st.Rejected, rejected[0]))
	}
	return st, errors.Join(errs...)
}

// admit reports whether a series unknown to its target may be stored: it is already held
// (by another target, or stale) or the series limit has room.
func (h *History) admit(app storage.Appender, lset labels.Labels) bool {
	if h.head.NumSeries() < uint64(h.opts.SeriesLimit) {
		return true
	}
	if gr, ok := app.(storage.GetRef); ok {
		ref, _ := gr.GetRef(lset, lset.Hash())
		return ref != 0
	}
	return false
}

// truncate drops what the retention no longer covers, once per quarter retention: each
// truncation walks every series.
func (h *History) truncate() {
	mint := h.newest - h.opts.Retention.Milliseconds()
	if h.truncateAt != math.MinInt64 && mint-h.truncateAt < h.opts.Retention.Milliseconds()/4 {
		return
	}
	if mint <= h.head.MinTime() {
		return
	}
	h.truncateAt = mint
	// Truncation fails only on chunk files, which this head never writes before Close.
	_ = h.head.Truncate(mint)
}

func appendFirst(errs []error, err error) []error {
	if len(errs) == 0 {
		return append(errs, err)
	}
	return errs
}
