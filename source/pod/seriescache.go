package pod

import (
	"maps"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/podscrape/podscrape/internal/exposition"
	"github.com/podscrape/podscrape/internal/synthetic"
)

// seriesCaches keeps each pod's series labels from one ScrapeSeries to the next, as
// Prometheus' scrape cache does: a series a pod exposed last time is labelled without
// building its labels again (no sort, no allocation), and its labels are the very ones
// the caller's history already holds.
type seriesCaches struct {
	mu     sync.Mutex              // protects byPod, closed
	byPod  map[string]*seriesCache // by pod key; a cache in use by a scrape is out of the map
	closed bool                    // the source was closed: no cache is kept (see close)
}

// seriesCache is one pod's series labels, by the series hash the pod's parser gives
// (exposition.Sample.Hash: the source's parsers share one seed), and the labels of its
// synthetic samples.
type seriesCache struct {
	target    []labels.Label // the target labels the entries were built with
	gen       uint64         // the current scrape's
	kept      int            // entries the last successful scrape left
	peak      int            // the most entries the map has held: Go maps never shrink
	seen      int            // entries used by the current scrape
	entries   map[uint64]*seriesEntry
	synthetic [len(synthetic.Names)]*seriesEntry // up, scrape_duration_seconds, scrape_samples_scraped
	samples   []SeriesSample                     // the previous scrape's, reused by the next
	memo      exposition.Memo                    // the pod's previous exposition, for its parser
	metadata  []familyMetadata                   // the previous scrape's, reused by the next
	points    exposition.Points                  // the pod's series of several points of their own timestamps
}

// seriesEntry is the series of one exposed series. Two exposed series may have one
// label set (m{a="1"} and m{a="1",b=""}: an empty value is no label), each with its
// entry; the history they go to keeps the first sample of the label set.
type seriesEntry struct {
	labels labels.Labels
	hash   uint64 // the parser's series hash
	name   string // the sample's name as exposed, checked on every hit
	gen    uint64 // the last scrape that used it
	ref    any    // the caller's slot (SeriesSample.Ref)
}

// take returns the cache of pod key for one scrape, built for target (emptied when it
// was built for other target labels), out of the map until put back.
func (c *seriesCaches) take(key string, target []labels.Label) *seriesCache {
	c.mu.Lock()
	sc := c.byPod[key]
	delete(c.byPod, key)
	c.mu.Unlock()
	if sc == nil || !slices.Equal(sc.target, target) {
		sc = &seriesCache{target: target, entries: map[uint64]*seriesEntry{}}
	}
	sc.gen++
	sc.seen = 0
	return sc
}

// failedGrowth is how many entries failed scrapes may add to a pod's cache beyond twice
// what its last successful scrape left before one of them forgets the series it did not
// see: Prometheus' scrape cache's bound.
const failedGrowth = 1000

// minCacheRoom is the room for series a pod's cache keeps whatever the pod exposes;
// past it, room for more than four times what the pod exposes is given back.
const minCacheRoom = 1024

// put returns a pod's cache after its scrape; a scrape that succeeded forgets the series
// it did not see. A failed one keeps them (the series past where it failed come back
// next time), unless the cache has grown past twice what the last successful scrape
// left plus failedGrowth: a pod whose label values change at every scrape, and whose
// scrapes fail after reading much of the exposition (over SampleLimit, as such a pod
// soon is), would grow it without end. Prometheus' scrape cache is flushed so.
func (c *seriesCaches) put(key string, sc *seriesCache, ok bool) {
	sc.peak = max(sc.peak, len(sc.entries))
	if (ok || len(sc.entries) > 2*sc.kept+failedGrowth) && len(sc.entries) > sc.seen {
		for k, e := range sc.entries {
			if e.gen != sc.gen {
				delete(sc.entries, k)
			}
		}
	}
	if ok {
		sc.kept = len(sc.entries)
	}
	// What a spike of the pod's exposition made the cache hold is given back once its
	// series fell to a quarter of it: a pod that exposed 100,000 series once and then 10
	// would keep the map's 100,000 slots and the slice of 100,000 samples while it lives.
	if sc.peak > 4*len(sc.entries)+minCacheRoom {
		entries := make(map[uint64]*seriesEntry, len(sc.entries))
		maps.Copy(entries, sc.entries)
		sc.entries, sc.peak = entries, len(entries)
	}
	if cap(sc.samples) > 4*len(sc.samples)+minCacheRoom {
		sc.samples = nil // the next scrape sizes its own
	}
	if cap(sc.metadata) > 4*len(sc.metadata)+minCacheRoom {
		sc.metadata = nil // a spike of families (an id in the metric names) gone
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return // a scrape in progress at Close, or since: kept for no next scrape
	}
	if c.byPod == nil {
		c.byPod = map[string]*seriesCache{}
	}
	c.byPod[key] = sc
}

// close forgets every pod's cache, and those of scrapes in progress when they end: a
// closed source keeps none, also while its caller still holds it (a ScrapeSeries of it
// builds each pod's anew).
func (c *seriesCaches) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed, c.byPod = true, nil
}

// keep forgets the caches of pods not in targets.
func (c *seriesCaches) keep(targets []target) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.byPod) <= len(targets) {
		return
	}
	live := make(map[string]struct{}, len(targets))
	for i := range targets {
		live[targets[i].key] = struct{}{}
	}
	for k := range c.byPod {
		if _, ok := live[k]; !ok {
			delete(c.byPod, k)
		}
	}
}

// entry returns smp's series entry from the cache, building its labels with build when
// the pod did not expose the series at its previous scrape. An entry is found by the
// series hash and its name is checked; the labels are trusted to match with the hash,
// as the parser trusts it to tell series apart.
func (sc *seriesCache) entry(smp *exposition.Sample, build func(*exposition.Sample) labels.Labels) *seriesEntry {
	e, ok := sc.entries[smp.Hash]
	if !ok || e.name != smp.Name {
		if ok && e.gen == sc.gen {
			sc.seen-- // another name under the hash, seen now: replaced, counted again below
		}
		e = &seriesEntry{labels: build(smp), hash: smp.Hash, name: smp.Name}
		sc.entries[smp.Hash] = e
	}
	sc.use(e)
	return e
}

// use records that the current scrape exposed e.
func (sc *seriesCache) use(e *seriesEntry) {
	if e.gen != sc.gen {
		e.gen = sc.gen
		sc.seen++
	}
}

// commitPoints commits, for each of pods whose scrape succeeded, the points of its
// series of several points that scrape noted (exposition.Points.Commit): ScrapeSeries
// returned its samples. A scrape that failed, or whose ScrapeSeries returned no pods (its
// context ended), leaves them as they were, so the pod's next scrape returns again the
// points the caller never got.
func (c *seriesCaches) commitPoints(pods []podScrape) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range pods {
		if pods[i].err != nil {
			continue
		}
		if sc := c.byPod[pods[i].target.key]; sc != nil {
			sc.points.Commit()
		}
	}
}

// syntheticEntry returns the entry of the pod's i-th synthetic sample (synthetic.Names),
// building its labels with build the first time.
func (sc *seriesCache) syntheticEntry(i int, build func() labels.Labels) *seriesEntry {
	e := sc.synthetic[i]
	if e == nil {
		e = &seriesEntry{labels: build(), name: synthetic.Names[i]}
		sc.synthetic[i] = e
	}
	return e
}

// podPoints holds each pod's exposition.Points for the history Refresh feeds: the
// latest time of its series with several points of their own timestamps. A pod's is
// used by its scrape alone (refreshes never overlap).
type podPoints struct {
	mu     sync.Mutex
	epoch  string // the history the Points were kept for (historyEpoch)
	byPod  map[string]*targetPoints
	closed bool // the source was closed: no Points are kept (see close)
}

// targetPoints is one pod's Points, the target labels its series were stored with, and
// the metrics the history stored of the scrape whose points they hold.
type targetPoints struct {
	instance string
	labels   []podLabel
	pts      exposition.Points
	// stored are the needs of the append that committed pts: the points of a metric
	// not among them never went to the history (a metric the history starts storing
	// since is handed whole).
	stored storedNames
}

// use starts a refresh feeding the history of epoch: Points kept for another history,
// or one started over, are forgotten.
func (pp *podPoints) use(epoch string) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if epoch != pp.epoch {
		pp.epoch = epoch
		clear(pp.byPod)
	}
}

// get returns the Points of target t, made when it has none, or when the ones kept were
// for other series: a pod recreated under its name (a StatefulSet's) at another IP, or
// with other values of the pod labels the series carry, gives other series, whose points
// the history does not hold. (Recreated with the same ones, its series are the old pod's,
// as to Prometheus, and their points the history holds are not handed to it again.)
// With them it returns the metrics the history stored of the points they hold.
func (pp *podPoints) get(t *target) (*exposition.Points, storedNames) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	tp := pp.byPod[t.key]
	if tp == nil || tp.instance != t.instance() || !slices.Equal(tp.labels, t.labels) {
		if pp.byPod == nil {
			pp.byPod = map[string]*targetPoints{}
		}
		tp = &targetPoints{instance: t.instance(), labels: t.labels}
		if !pp.closed { // else this scrape's alone: kept for no next one
			pp.byPod[t.key] = tp
		}
	}
	return &tp.pts, tp.stored
}

// close forgets every pod's Points, and keeps none made by scrapes in progress or
// since: a closed source keeps none, also while its caller still holds it.
func (pp *podPoints) close() {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	pp.closed, pp.byPod = true, nil
}

// commit commits, for each of pods whose scrape succeeded, the points of its series of
// several points that scrape noted (exposition.Points.Commit): the history stored its
// samples. A scrape that failed (past ScrapeTimeout too, its exposition parsed whole),
// or a refresh that stored nothing (its callers gave up), leaves them as they were, so
// the pod's next scrape hands the history the points it never got. stored are the
// metrics the append stored.
func (pp *podPoints) commit(pods []podScrape, stored storedNames) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	for i := range pods {
		if pods[i].err != nil {
			continue
		}
		if tp := pp.byPod[pods[i].target.key]; tp != nil {
			tp.pts.Commit()
			tp.stored = stored
		}
	}
}

// keep forgets the Points of the pods not among targets.
func (pp *podPoints) keep(targets []target) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if len(pp.byPod) <= len(targets) {
		return
	}
	live := make(map[string]struct{}, len(targets))
	for i := range targets {
		live[targets[i].key] = struct{}{}
	}
	for k := range pp.byPod {
		if _, ok := live[k]; !ok {
			delete(pp.byPod, k)
		}
	}
}
