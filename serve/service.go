package serve

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podscrape/podscrape/internal/flight"
	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/internal/synthetic"
	"github.com/podscrape/podscrape/source/pod"
)

// service is one Service: its source, its history, and what its latest scrape found.
type service struct {
	cfg  ServiceConfig
	key  string // namespace/name
	src  *pod.PodScrapingSource
	hist *history.History
	// retention is the history's: how long a not-Ready pod's series held before the
	// history started over are kept (unreadyPod.held).
	retention time.Duration

	scrapes *flight.Group[want, *scrapeState] // runs never overlap: appends stay in order
	state   atomic.Pointer[scrapeState]       // the latest scrape; nil before the first
	// demandState is the latest scrape a query under MaxAge took or waited for (when
	// it asked and how long the scrape lasted, with monotonic readings); demands is
	// signalled after each, for the loop to re-phase on it (schedule). Without a loop
	// running, the signal waits unread.
	demandState atomic.Pointer[demand]
	demands     chan struct{}
	everUp      atomic.Bool // a pod was scraped successfully at least once
	began       atomic.Bool // a scrape has begun: the first is under way until state is set
	metrics     *serverMetrics
	// health, when the Server reads through StartCache's Cache, is how its informers'
	// requests to the API server fare (discoveryStale); nil otherwise.
	health *informerHealth

	// appends are the times, oldest first, of the appends that stored a scrape of some
	// pod (or of a Service of no pod) within the retention, and the one before: a stretch
	// without one is an outage (every pod failed, or discovery did), a gap a window
	// starting in it reads only after (history.GapAt, partialWindows). Written by the
	// scrapes, which never overlap, read by queries: under appendsMu.
	appendsMu sync.Mutex
	appends   []time.Time
	// spaced says two successive appends are further apart than history.MinGap, the
	// shortest gap: without, no window starts in one, and queries skip the check.
	spaced atomic.Bool

	// appending makes a scrape's append to the history and the storing of its state one
	// step for the queries: a scrape holds it from before its Append until its state is
	// stored, and appendSeq counts those steps' edges (odd while one is under way). An
	// evaluation may read the appends of scrapes whose states its query did not check
	// (every pod failed: their staleness markers, an empty answer): a query that finds
	// appendSeq moved since it read the states it checked, or odd then, waits on appending
	// and checks the states of those scrapes too (Server.landedSince).
	appending sync.Mutex
	appendSeq atomic.Uint64
	// landed are the states of the latest scrapes that appended, oldest first: at most
	// maxLanded of them, and every one a query in progress may have to check (pins).
	// Under appending.
	landed []*scrapeState
	// pins are the appendSeq values the queries in progress began at, each with their
	// count: a state stored since one of them is kept in landed until that query ends,
	// however many scrapes land during its evaluation. Under pinsMu.
	pinsMu sync.Mutex
	pins   map[uint64]int

	// afterAppend, when set (by tests only), is called by each scrape once it has
	// appended to the history, before it stores its state.
	afterAppend func()
}

// pin notes that a query begins, before it reads the states it checks: the states of the
// scrapes that append from now on are kept until it calls the returned unpin.
func (s *service) pin() (unpin func()) {
	s.pinsMu.Lock()
	defer s.pinsMu.Unlock()
	// The states after the latest stored: the query may still find the one stored before
	// (a scrape between its seq's step and its Store, appendSeq even).
	seq := s.appendSeq.Load()
	seq -= min(seq, 2-seq%2)
	if s.pins == nil {
		s.pins = map[uint64]int{}
	}
	s.pins[seq]++
	return func() {
		s.pinsMu.Lock()
		defer s.pinsMu.Unlock()
		if s.pins[seq]--; s.pins[seq] == 0 {
			delete(s.pins, seq)
		}
	}
}

// oldestPin returns the oldest appendSeq a query in progress began at (pin), if any.
func (s *service) oldestPin() (uint64, bool) {
	s.pinsMu.Lock()
	defer s.pinsMu.Unlock()
	if len(s.pins) == 0 {
		return 0, false
	}
	return slices.Min(slices.Collect(maps.Keys(s.pins))), true
}

// maxLanded is how many states of the scrapes that appended a service keeps at least,
// queries in progress or not: those a query in progress may check are kept besides
// (pin), however many land during its evaluation (a slow one, or one that waits for a
// concurrency slot, under a short interval).
const maxLanded = 8

// recordAppend notes the append at at that stored a pod's scrape (stored), after the
// history started over when steppedBack: the appends before are another history's.
func (s *service) recordAppend(at time.Time, stored, steppedBack bool) {
	s.appendsMu.Lock()
	defer s.appendsMu.Unlock()
	if steppedBack {
		s.appends = nil
		s.spaced.Store(false)
	}
	if !stored {
		return
	}
	if n := len(s.appends); n == 0 || at.After(s.appends[n-1]) {
		s.appends = append(s.appends, at)
	}
	// Of the appends before the retention only the last is kept, for the gap that may
	// straddle it.
	drop := 0
	for drop+1 < len(s.appends) && s.appends[drop+1].Before(at.Add(-s.retention)) {
		drop++
	}
	s.appends = slices.Delete(s.appends, 0, drop)
	spaced := false
	for i := 1; i < len(s.appends) && !spaced; i++ {
		spaced = s.appends[i].Sub(s.appends[i-1]) > history.MinGap
	}
	s.spaced.Store(spaced)
}

// reachesBefore reports whether a window starting at from and ending at last reaches
// before the Service's oldest scrape (oldest) by more than Prometheus extrapolates over
// (extrapolates: Window.Extrapolates; else at all): history.ReachesBefore over its
// appends, the spacing at most its interval (the loop's scrapes, or closer ones queries
// under MaxAge made: on demand, the loop's interval may be an hour). The pod source's
// coverage check applies the same rule.
func (s *service) reachesBefore(oldest, from, last time.Time, extrapolates bool) bool {
	if !from.Before(oldest) {
		return false
	}
	s.appendsMu.Lock()
	defer s.appendsMu.Unlock()
	return history.ReachesBefore(s.appends, oldest, from, last, s.cfg.Interval, extrapolates)
}

// spacing returns the average spacing of the Service's appends from from to last, at
// most its interval (as reachesBefore reads it); zero with fewer than two.
func (s *service) spacing(from, last time.Time) time.Duration {
	s.appendsMu.Lock()
	defer s.appendsMu.Unlock()
	i := sort.Search(len(s.appends), func(j int) bool { return !s.appends[j].Before(from) })
	n := sort.Search(len(s.appends), func(j int) bool { return s.appends[j].After(last) })
	if n-i < 2 {
		return 0
	}
	return min(s.appends[n-1].Sub(s.appends[i])/time.Duration(n-i-1), s.cfg.Interval)
}

// appendTimes returns a copy of s.appends.
func (s *service) appendTimes() []time.Time {
	s.appendsMu.Lock()
	defer s.appendsMu.Unlock()
	return slices.Clone(s.appends)
}

// scrapeState is what one scrape of a Service found. Immutable once stored.
type scrapeState struct {
	start, end time.Time
	pods       []podState // sorted by pod name
	// err is why the Service gave nothing: its discovery or Secret failed, the pods it
	// selects are all not Ready (pod.ErrNoReadyPods), or every pod failed (then pods say
	// each one's error). Nil otherwise, also when it selects no pod (scaled to zero).
	err error
	// appendErr is what the history refused (the series limit, rejected samples).
	appendErr error
	// seq is the service's appendSeq once this state was stored: even, and 2 more than
	// the state before it when its scrape appended to the history.
	seq uint64
	// appended is, when its scrape appended to the history, the instant from which a
	// query reads the whole of that append (its samples and the staleness markers of the
	// pods it no longer scraped: AppendStats.Latest, at least the append's time).
	appended time.Time
	// exposed is, while err is set, the labels of the series the history held when the
	// Service last gave data (the history's own, shared): an outage longer than the
	// retention still reads them, selector by selector, and so does a scrape that
	// started the history over (the clock stepped back) in which every pod failed.
	exposed []labels.Labels
	// lastPods are, while discovery or the Secret fails (err set, pods empty), the pods
	// of the latest scrape that listed any, each down with err: the targets
	// /api/v1/targets shows, as Prometheus keeps the targets its discovery last gave. Set
	// too while no pod is Ready (pod.ErrNoReadyPods), for a discovery failure that may
	// follow, but not shown then: pods that are not Ready are no targets. Nil
	// for a Service that never had pods. Queries read pods alone: a Service with no pod
	// list has no pod to answer up for.
	lastPods []podState
	// unready are the pods the history holds series of that this scrape did not scrape
	// because they are not Ready or have finished, as its discovery found them (see
	// unreadyHolders), sorted by name: their series went stale, so an answer leaves
	// them out, and a query whose data selectors read their series is warned, or
	// answered 503 when only such pods and failed ones hold them (availability).
	// Carried from one scrape to the next while the pod, the same object, stays so and
	// its series are held.
	unready []unreadyPod
	// dark are the pods of pods that failed this scrape and whose series the history
	// holds none of but the synthetic up and scrape_* ones: never scraped successfully
	// (a pod failing since serve started), or not within the retention. What they
	// expose is not known, so a data selector they may match reads the Service (reads),
	// and one that no pod giving data holds is 503 (onlyDownHold).
	dark []podState
}

// unreadyPod is a pod no longer scraped: its name, its object's UID and why
// (pod.UnscrapedPod's words).
type unreadyPod struct {
	name string
	uid  types.UID
	why  string
	// dark is set when the history holds none of the pod's series but the synthetic ones
	// (it failed every scrape it had within the retention): what it exposes is not
	// known, as for scrapeState.dark. labels are its target's labels, for darkFor.
	dark   bool
	labels labels.Labels
	// held are the pod's series the history held before an append of this scrape or an
	// earlier one started it over (the clock stepped back) while the pod was not Ready,
	// kept until heldUntil, a retention after that scrape: the history no longer holds
	// them, but the answers still leave the pod out.
	held      []labels.Labels
	heldUntil time.Time
}

// holds reports whether one of p.held matches every matcher.
func (p *unreadyPod) holds(matchers []*labels.Matcher) bool { return exposedMatch(p.held, matchers) }

// podState is one pod's target at one scrape.
type podState struct {
	name     string
	uid      types.UID // the Pod object's: a pod recreated under its name is another
	up       bool
	err      error // nil when up
	scraped  time.Time
	duration time.Duration
	labels   labels.Labels // the target's labels: job, namespace, pod and the source's own
}

// failed returns the pods whose scrape failed.
func (st *scrapeState) failed() []podState {
	var out []podState
	for _, p := range st.pods {
		if !p.up {
			out = append(out, p)
		}
	}
	return out
}

// unavailable reports whether the Service gave no data at its latest scrape.
func (st *scrapeState) unavailable() bool { return st.err != nil }

// want is what a caller of a scrape asks: a scrape that started at or after
// asked-maxAge. A run started for a caller that asked at t started at or after t.
// demand marks a query's ask under MaxAge, tick the loop's scrape falling due.
type want struct {
	asked  time.Time
	maxAge time.Duration
	demand bool
	tick   bool
	polled time.Time // merged keys: the earliest asked of a query's ask under MaxAge
}

// pollTime returns when the earliest query asking under MaxAge of those w stands for
// asked, or the zero time when none did.
func (w want) pollTime() time.Time {
	if w.polled.IsZero() && w.demand {
		return w.asked
	}
	return w.polled
}

// scrapeWork runs a service's scrapes for its flight group.
type scrapeWork struct{ s *service }

// Covers reports whether a run started for have answers w2: it started late enough, or
// it is a query's scrape under MaxAge and w2 the loop's tick. That scrape re-phases the
// loop when it ends (schedule), so a scrape of the loop's own queued after it would
// scrape the pods again at once for nothing, however long ago it started: a slow
// scrape (a hung pod's) outlasts the quarter interval of the tick's maxAge.
func (w scrapeWork) Covers(have, w2 want) bool {
	return (have.demand && w2.tick) || !w2.asked.Add(-w2.maxAge).After(have.asked)
}

func (w scrapeWork) Merge(a, b want) want {
	m := a
	if b.asked.After(a.asked) {
		m = b
	}
	m.demand = a.demand || b.demand
	m.polled = a.pollTime()
	if p := b.pollTime(); !p.IsZero() && (m.polled.IsZero() || p.Before(m.polled)) {
		m.polled = p
	}
	return m
}

func (w scrapeWork) Run(ctx context.Context, k want) (*scrapeState, error) {
	return w.s.scrapeOnce(ctx)
}

// Finish signals the loop to re-phase (schedule) after a scrape a query under MaxAge
// took or waited for: its own, or the loop's that it joined under way (the Service's
// scrape outlasted the lead, and the poll came before it ended), on the time of the
// earliest such query and the scrape's length.
func (w scrapeWork) Finish(k want, st *scrapeState, err error) (*scrapeState, error) {
	if polled := k.pollTime(); err == nil && !polled.IsZero() {
		w.s.demandState.Store(&demand{asked: polled, took: st.end.Sub(st.start)})
		select {
		case w.s.demands <- struct{}{}:
		default: // the loop has a signal to read still; it reads the latest demand
		}
	}
	return st, err
}

func newService(cfg ServiceConfig, hist *history.History, m *serverMetrics, src *pod.PodScrapingSource) *service {
	s := &service{cfg: cfg, key: cfg.key(), src: src, hist: hist, metrics: m, demands: make(chan struct{}, 1)}
	m.addService(s.key)
	s.scrapes = flight.NewGroup[want, *scrapeState](scrapeWork{s})
	return s
}

// scrape returns a scrape that started no more than w.maxAge before w.asked: the latest
// one when it is recent enough, else a new one, shared with concurrent callers.
func (s *service) scrape(ctx context.Context, w want) (*scrapeState, error) {
	if st := s.state.Load(); st != nil && !st.start.Before(w.asked.Add(-w.maxAge)) {
		return st, nil
	}
	st, _, err := s.scrapes.Do(ctx, w)
	return st, err
}

// scrapeOnce scrapes the source's pods (ScrapeSeries), appends the pods' samples to the history and stores
// the new state. The error is ctx's only: a Service that gave nothing is a state.
func (s *service) scrapeOnce(ctx context.Context) (*scrapeState, error) {
	return s.scrapeShifted(ctx, 0)
}

// scrapeShifted is scrapeOnce with the scrape's times moved by shift (tests: a history
// with a past, built without waiting).
func (s *service) scrapeShifted(ctx context.Context, shift time.Duration) (*scrapeState, error) {
	s.began.Store(true)
	start := time.Now().Add(shift)
	report, err := s.src.ScrapeSeriesReport(ctx, labels.Label{Name: jobLabel, Value: s.cfg.Source.ServiceName})
	for i := 0; shift != 0 && i < len(report.Pods); i++ {
		ps := &report.Pods[i]
		ps.ScrapedAt = ps.ScrapedAt.Add(shift)
		for j := range ps.Samples {
			if !ps.Samples[j].OwnTimestamp {
				ps.Samples[j].T += shift.Milliseconds()
			}
		}
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("scrape service %s: %w", s.key, ctx.Err())
	}
	st := &scrapeState{start: start}
	appended := false
	var before []labels.Labels // the history's series before an Append that starts it over
	switch {
	case err != nil:
		// Discovery or the Secret failed, or none of the pods selected is Ready: no pod
		// was scraped. The history keeps what it had; the series go stale by the
		// lookback delta, as Prometheus' would when its service discovery fails, and
		// queries that read the Service are 503 meanwhile (st.err).
		st.err = err
		if errors.Is(err, pod.ErrNoReadyPods) && !s.holdsAny(report.Unscraped) {
			// No pod Ready, and none of those not Ready ever gave the series held
			// (terminating ones are not among them): a rollout between its old pod's
			// termination and its new pod's readiness, a Service scaled to zero still
			// draining. A scrape of nothing, as of a Service that selects no pod, not an
			// outage: no pod serving was left unseen but a draining one, as in any
			// rollout, and windows starting here are not partial (Prometheus and the
			// library answer them).
			s.recordAppend(start, true, false)
		}
	default:
		scrapes, pods := s.toScrapes(report.Pods)
		st.pods = pods
		// Until its state is stored, queries wait for it to check what they read of
		// this append (Server.landedSince).
		s.appending.Lock()
		s.appendSeq.Add(1)
		appended = true
		// The series of the pods this scrape no longer finds (not Ready, gone) are marked
		// stale at the append's time: the scrape's newest pod scrape, not its start. Marked
		// at its start, a pod that replaced them (a one-replica rollout) had no sample yet
		// between the two: an instant query there (KEDA's time to the second) read no pod
		// at all and answered [], its load there all along.
		at := start
		for i := range report.Pods {
			if t := report.Pods[i].ScrapedAt; t.After(at) {
				at = t
			}
		}
		if s.hist.StartsOver(at) {
			// The clock was stepped back: the Append empties the history. What the
			// Service exposed before is still what it exposes, should every pod fail now.
			before = s.heldSeries()
		}
		stats, aerr := s.hist.Append(ctx, at, scrapes)
		st.appended = at
		if stats.Latest.After(at) {
			st.appended = stats.Latest
		}
		if stats.SteppedBack > 0 {
			// As the library logs it: the 422s of the windows that fill again from here
			// have a cause an operator can find.
			logr.FromContextOrDiscard(ctx).Info("clock stepped back: the service's history starts over",
				"service", s.key, "steppedBack", stats.SteppedBack.String(), "at", start.UTC().Format(time.RFC3339Nano))
			s.metrics.observeReset(s.key)
		}
		if s.afterAppend != nil {
			s.afterAppend()
		}
		if aerr != nil {
			st.appendErr = fmt.Errorf("service %s: %w", s.key, aerr)
		}
		s.metrics.observeRefused(s.key, stats)
		if len(st.pods) > 0 && len(st.failed()) == len(st.pods) {
			st.err = fmt.Errorf("service %s: %w", s.key, pod.ErrAllPodsFailed)
		}
		if !errors.Is(aerr, history.ErrClosed) {
			at := start
			if stats.Latest.After(at) {
				at = stats.Latest
			}
			s.recordAppend(at, st.err == nil, stats.SteppedBack > 0)
		}
	}
	if len(st.pods) > len(st.failed()) {
		s.everUp.Store(true)
	}
	if st.err != nil {
		switch prev := s.state.Load(); {
		case prev != nil && prev.err != nil:
			st.exposed = prev.exposed
		case before != nil:
			st.exposed = before
		default:
			st.exposed = s.heldSeries()
		}
	}
	st.dark = s.darkPods(st)
	st.end = time.Now()
	if err != nil {
		st.lastPods = downPods(s.state.Load(), st)
	}
	st.unready = s.unreadyHolders(s.state.Load(), st, report.Unscraped, before)
	if appended {
		st.seq = s.appendSeq.Add(1)
		s.landed = append(s.landed, st)
		if len(s.landed) > maxLanded {
			// The oldest go, but for those a query in progress may still check.
			keep := len(s.landed) - maxLanded
			if pin, ok := s.oldestPin(); ok {
				keep = min(keep, sort.Search(len(s.landed), func(i int) bool { return s.landed[i].seq > pin }))
			}
			s.landed = slices.Delete(s.landed, 0, keep)
		}
	} else {
		st.seq = s.appendSeq.Load()
	}
	s.state.Store(st)
	if appended {
		s.appending.Unlock()
	}
	s.metrics.observeScrape(s.key, st)
	return st, nil
}

// holdsAny reports whether the history holds a series of one of pods, by name (a pod
// created again under the name of one that gave data counts: it may be that one).
func (s *service) holdsAny(pods []pod.UnscrapedPod) bool {
	for _, p := range pods {
		if s.hist.Holds([]*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, podLabel, p.Pod)}) {
			return true
		}
	}
	return false
}

// unreadyHolders returns st.unready: of the pods prev scraped or carried, and prev's
// unready pods, those st did not scrape that its discovery found not Ready or finished
// (unscraped), the same Pod objects (by UID), and whose series the history still holds.
// A pod gone, terminating (a scale-down), Ready again or created again under its name
// (a StatefulSet's, starting: another pod, which never held the series) is dropped, and
// so is one whose series the retention dropped. While the Service gave nothing (st.err:
// no pod was scraped), prev's are kept as they were. before, when this scrape started the
// history over (the clock stepped back), are the series it held until then: a pod's
// among them are its held ones for a retention (unreadyPod.held).
func (s *service) unreadyHolders(prev, st *scrapeState, unscraped []pod.UnscrapedPod, before []labels.Labels) []unreadyPod {
	if prev == nil {
		return nil
	}
	if st.err != nil && len(st.pods) == 0 {
		return prev.unready
	}
	if len(unscraped) == 0 {
		return nil
	}
	found := make(map[string]*pod.UnscrapedPod, len(unscraped))
	for i := range unscraped {
		found[unscraped[i].Pod] = &unscraped[i]
	}
	var beforeOf map[string][]labels.Labels
	for _, l := range before {
		if beforeOf == nil {
			beforeOf = map[string][]labels.Labels{}
		}
		beforeOf[l.Get(podLabel)] = append(beforeOf[l.Get(podLabel)], l)
	}
	var out []unreadyPod
	var exposed map[string]bool
	check := func(name string, uid types.UID, target labels.Labels, held []labels.Labels, heldUntil time.Time) {
		u := found[name]
		if u == nil || u.UID != uid {
			return
		}
		found[name] = nil // once
		ofPod := labels.MustNewMatcher(labels.MatchEqual, podLabel, name)
		if s.hist.Holds([]*labels.Matcher{ofPod}) {
			held, heldUntil = nil, time.Time{}
		} else {
			switch {
			case len(beforeOf[name]) > 0:
				held, heldUntil = beforeOf[name], st.start.Add(s.retention)
			case len(held) > 0 && st.start.Before(heldUntil):
			default:
				return
			}
		}
		if exposed == nil {
			exposed = exposedDataPods(st.exposed)
		}
		dark := !exposed[name] && !s.holdsData(name) && !exposedDataPods(held)[name]
		out = append(out, unreadyPod{name: name, uid: uid, why: u.Why, dark: dark, labels: target, held: held, heldUntil: heldUntil})
	}
	for _, p := range prev.unready {
		check(p.name, p.uid, p.labels, p.held, p.heldUntil)
	}
	for _, p := range prev.pods {
		check(p.name, p.uid, p.labels, nil, time.Time{})
	}
	for _, p := range prev.lastPods {
		check(p.name, p.uid, p.labels, nil, time.Time{})
	}
	slices.SortFunc(out, func(a, b unreadyPod) int { return strings.Compare(a.name, b.name) })
	return out
}

// darkPods returns st.dark: the pods of st that failed their scrape and of whose series
// the history holds only the synthetic ones, nor did it when the Service last gave data
// (st.exposed: a Service down past the retention is read by what it exposed then).
func (s *service) darkPods(st *scrapeState) []podState {
	var out []podState
	var exposed map[string]bool
	for _, p := range st.pods {
		if p.up {
			continue
		}
		if exposed == nil {
			exposed = exposedDataPods(st.exposed)
		}
		if !exposed[p.name] && !s.holdsData(p.name) {
			out = append(out, p)
		}
	}
	return out
}

// holdsData reports whether the history holds a series of the pod name other than the
// synthetic ones.
func (s *service) holdsData(name string) bool {
	return s.hist.Holds([]*labels.Matcher{synthetic.Not, labels.MustNewMatcher(labels.MatchEqual, podLabel, name)})
}

// exposedDataPods returns the names of the pods of which exposed (scrapeState.exposed)
// holds a series other than the synthetic ones.
func exposedDataPods(exposed []labels.Labels) map[string]bool {
	out := map[string]bool{}
	for _, l := range exposed {
		if synthetic.Not.Matches(l.Get(labels.MetricName)) {
			out[l.Get(podLabel)] = true
		}
	}
	return out
}

// downPods returns the pods prev showed (those it scraped, else those it carried), each
// down with st's error at st's time.
func downPods(prev, st *scrapeState) []podState {
	if prev == nil {
		return nil
	}
	from := prev.pods
	if len(from) == 0 {
		from = prev.lastPods
	}
	out := make([]podState, len(from))
	for i, p := range from {
		out[i] = podState{name: p.name, uid: p.uid, err: st.err, scraped: st.start, duration: st.end.Sub(st.start), labels: p.labels}
	}
	return out
}

// errUnavailable is why a Service read by a query gave no data.
func (s *service) errUnavailable(st *scrapeState) error {
	failed := st.failed()
	if len(failed) == 0 {
		return fmt.Errorf("service %s: latest scrape at %s: %w", s.key, st.start.UTC().Format(time.RFC3339), st.err)
	}
	return fmt.Errorf("service %s: every pod failed its latest scrape at %s: %s", s.key, st.start.UTC().Format(time.RFC3339), podErrors(failed))
}

// heldSeries returns the labels of the series the Service's history holds (the
// history's own labels, which are never changed).
func (s *service) heldSeries() []labels.Labels {
	var out []labels.Labels
	s.hist.HoldsWhere(nil, func(l labels.Labels) bool {
		out = append(out, l)
		return false
	})
	return out
}

// errFailedThen is the error of a pod whose up sample an evaluation before the latest
// scrape reads is 0: the scrape's own error is kept for the latest scrape only.
var errFailedThen = errors.New("its scrape failed (up 0; /api/v1/targets has the latest scrape's error)")

// stateAt returns the scrape of the Service an evaluation at at reads, as the history's
// up series show it: each pod's latest up sample at or before at within lookback, as
// the engine's instant selector reads it (a pod whose up is stale then was not scraped),
// up or failed (errFailedThen), start being the newest of those samples' times and err
// pod.ErrAllPodsFailed when every such pod failed; and, as unready, the pods the state
// of that scrape (when still kept) found not Ready or finished, of which there is no
// such up. Nil when no pod's up is there (the Service's discovery had failed, or the
// history does not reach back to at).
func (s *service) stateAt(ctx context.Context, at time.Time, lookback time.Duration) (*scrapeState, error) {
	maxt := at.UnixMilli()
	mint := maxt - lookback.Milliseconds() + 1
	q, err := s.hist.QueryableLookback(lookback).Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	set := q.Select(ctx, false, &storage.SelectHints{Start: mint, End: maxt}, labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, "up"))
	st := &scrapeState{}
	var it chunkenc.Iterator
	for set.Next() {
		series := set.At()
		it = series.Iterator(it)
		t, f, ok := lastFloat(it, maxt)
		if !ok || t < mint || value.IsStaleNaN(f) {
			continue
		}
		p := podState{name: series.Labels().Get(podLabel), up: f == 1, scraped: time.UnixMilli(t)}
		if !p.up {
			p.err = errFailedThen
		}
		st.pods = append(st.pods, p)
		if p.scraped.After(st.start) {
			st.start = p.scraped
		}
	}
	if err := set.Err(); err != nil {
		return nil, err
	}
	if len(st.pods) == 0 {
		return nil, nil
	}
	slices.SortFunc(st.pods, func(a, b podState) int { return strings.Compare(a.name, b.name) })
	if len(st.failed()) == len(st.pods) {
		st.err = fmt.Errorf("service %s: %w", s.key, pod.ErrAllPodsFailed)
	}
	// The pods that scrape found no longer scraped because they were not Ready or had
	// finished, as its own state says (while it is kept), and of which the evaluation
	// finds no up at at: their series went stale there, and it reads nothing of them.
	if read := s.landedRead(at); read != nil {
		for _, p := range read.unready {
			if !slices.ContainsFunc(st.pods, func(q podState) bool { return q.name == p.name }) {
				st.unready = append(st.unready, p)
			}
		}
	}
	st.end = st.start
	return st, nil
}

// landedRead returns the state of the latest scrape kept in s.landed whose append an
// evaluation at at reads whole (its staleness markers included): appended by at, to the
// millisecond. Nil when none kept was.
func (s *service) landedRead(at time.Time) *scrapeState {
	s.appending.Lock()
	defer s.appending.Unlock()
	for i := len(s.landed) - 1; i >= 0; i-- {
		if s.landed[i].appended.UnixMilli() <= at.UnixMilli() {
			return s.landed[i]
		}
	}
	return nil
}
