package serve

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/internal/leftout"
	"github.com/podscrape/podscrape/internal/synthetic"
)

// excludes reports whether matchers exclude every series of svc by the labels the server
// sets on all of them: job and namespace.
func (svc *service) excludes(matchers []*labels.Matcher) bool {
	for _, m := range matchers {
		switch m.Name {
		case jobLabel:
			if !m.Matches(svc.cfg.Source.ServiceName) {
				return true
			}
		case namespaceLabel:
			if !m.Matches(svc.cfg.Source.ServiceNamespace) {
				return true
			}
		}
	}
	return false
}

// reads reports whether a selector with matchers reads svc: it may select a series of
// svc (its job and namespace matchers do not exclude it) and svc's history holds such a
// series, or svc never scraped a pod successfully (what it exposes is not known yet) and
// the matchers on its pods' target labels do not exclude every pod it lists, or
// svc gives no data now and one of the series it held when it last did matches (an
// outage longer than the retention leaves nothing in the history to match), or a pod
// that failed its latest scrape and holds no series but the synthetic ones (what it
// exposes is not known either) may have a series it matches (darkFor). Label
// matchers count as much as the metric name: another model's Service down, exposing the
// same metric names, is not read by a selector of this model's series.
func (svc *service) reads(matchers []*labels.Matcher) bool {
	if svc.excludes(matchers) {
		return false
	}
	st := svc.state.Load()
	if !svc.everUp.Load() {
		// What it exposes is not known; but the target labels of the pods it lists are,
		// and every series of theirs carries them.
		return st == nil || len(st.pods) == 0 || synthetic.Only(matchers) ||
			slices.ContainsFunc(st.pods, func(p podState) bool { return !targetExcludes(p.labels, matchers) }) ||
			slices.ContainsFunc(st.unready, func(p unreadyPod) bool { return !targetExcludes(p.labels, matchers) })
	}
	if svc.hist.Holds(matchers) {
		return true
	}
	if st == nil {
		return false
	}
	if slices.ContainsFunc(st.unready, func(p unreadyPod) bool { return p.holds(matchers) }) {
		return true
	}
	return st.unavailable() && exposedMatch(st.exposed, matchers) || len(svc.darkFor(st, matchers)) > 0
}

// darkFor returns the names of the pods of st.dark, and of st.unready's dark ones (not
// Ready since), whose target labels (job, namespace, pod, instance and the source's
// own, which every series of the pod carries) matchers do not exclude, when another pod
// of svc exposed a metric whose name the matchers match: such a pod runs the program the
// Service's other pods run, so a selector of a metric none of them ever exposed
// (another Service's, a typo) reads none of it, nor does a selector of only the
// synthetic series.
func (svc *service) darkFor(st *scrapeState, matchers []*labels.Matcher) []string {
	if synthetic.Only(matchers) {
		return nil
	}
	var out []string
	for _, p := range st.dark {
		if !targetExcludes(p.labels, matchers) {
			out = append(out, p.name)
		}
	}
	for _, p := range st.unready {
		if p.dark && !targetExcludes(p.labels, matchers) {
			out = append(out, p.name)
		}
	}
	if len(out) == 0 {
		return nil
	}
	names := []*labels.Matcher{synthetic.Not}
	for _, m := range matchers {
		if m.Name == labels.MetricName {
			names = append(names, m)
		}
	}
	if !svc.hist.Holds(names) && !exposedMatch(st.exposed, names) {
		return nil
	}
	return out
}

// targetExcludes reports whether a matcher of matchers on one of a pod's target labels
// target does not match the pod's value: no series of the pod matches them.
func targetExcludes(target labels.Labels, matchers []*labels.Matcher) bool {
	for _, m := range matchers {
		if m.Name == labels.MetricName || !target.Has(m.Name) {
			continue
		}
		if !m.Matches(target.Get(m.Name)) {
			return true
		}
	}
	return false
}

// exposedMatch reports whether one of the series exposed matches every matcher.
func exposedMatch(exposed []labels.Labels, matchers []*labels.Matcher) bool {
	for _, l := range exposed {
		ok := true
		for _, m := range matchers {
			if !m.Matches(l.Get(m.Name)) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// servicesRead returns, in the Server's order, the Services whose latest scrape decides
// whether an expression of selectors sels can be answered: those its data selectors read
// (see reads), and those its selectors of only the synthetic up and scrape_* series read
// while the Service has no pod to report on (never scraped, or its discovery or Secret
// failed): up answers for each pod down, but there is no pod to answer for then.
func (s *Server) servicesRead(sels [][]*labels.Matcher) []*service {
	return s.servicesWhere(sels, false, func(svc *service, m []*labels.Matcher) bool {
		if !svc.reads(m) {
			return false
		}
		if !synthetic.Only(m) {
			return true
		}
		st := svc.state.Load()
		return st == nil || (st.err != nil && len(st.pods) == 0)
	})
}

// mayRead returns the Services whose job and namespace the selectors sels do not
// exclude (data selectors only when data is set): those whose refused samples a query is
// warned of. A fresh scrape under MaxAge is taken of fewer: the Services the selectors
// read (reads), so that a Service whose series no selector matches (another program's
// behind another Service of the namespace, one of its pods hung) costs the query nothing.
func (s *Server) mayRead(sels [][]*labels.Matcher, data bool) []*service {
	return s.servicesWhere(sels, data, func(svc *service, m []*labels.Matcher) bool { return !svc.excludes(m) })
}

// servicesWhere returns, in the Server's order, the Services for which some selector of
// sels (a data selector when data is set) satisfies match.
func (s *Server) servicesWhere(sels [][]*labels.Matcher, data bool, match func(*service, []*labels.Matcher) bool) []*service {
	var out []*service
	for _, svc := range s.services {
		for _, m := range sels {
			if data && synthetic.Only(m) {
				continue
			}
			if match(svc, m) {
				out = append(out, svc)
				break
			}
		}
	}
	return out
}

// warningTime is how warnings write a scrape's time: RFC 3339 to the millisecond.
const warningTime = "2006-01-02T15:04:05.000Z07:00"

// availability returns the error of a query of selectors sels that reads Services with
// nothing to give (HTTP 503, naming the first 10 such Services and their pods' errors,
// then how many more: joinBounded), or a data
// selector whose series the Service holds only of pods that failed their latest scrape
// or are not Ready (two models behind one Service, one model's pods all down: its answer
// would be empty, and read as no load). Else it returns the warnings naming the pods of the read Services
// that failed their latest scrape, and what the histories of the Services it may read
// refused (a refused series is not in the history, so no selector is seen to read it).
func (s *Server) availability(_ context.Context, sels [][]*labels.Matcher, read, may []*service) (warnings []string, err error) {
	return s.availabilityOf(sels, read, may, nil)
}

// availabilityOf is availability with the state of a Service that states holds (nil:
// none) instead of its latest: a state stored after an evaluation began, which may have
// read that scrape's appends.
func (s *Server) availabilityOf(sels [][]*labels.Matcher, read, may []*service, states map[*service]*scrapeState) (warnings []string, err error) {
	var down []string
	// wait is how long to ask again after when every Service down is one not scraped yet
	// (Retry-After), of notYet Services: when another is down, the answer is final.
	var wait time.Duration
	notYet := 0
	for _, svc := range read {
		st := svc.state.Load()
		if of, ok := states[svc]; ok {
			st = of
		}
		if st == nil {
			down = append(down, fmt.Sprintf("service %s: not scraped yet", svc.key))
			wait = max(wait, svc.firstScrapeWait())
			notYet++
			continue
		}
		// Its informers cut off from the API server: the pods scraped are those they
		// last gave, pods added since are missing (warned, then 503).
		if w, d := svc.discoveryState(); d != "" {
			down = append(down, d)
			continue
		} else if w != "" {
			warnings = append(warnings, w)
		}
		if st.unavailable() {
			down = append(down, svc.errUnavailable(st).Error())
			continue
		}
		if d := svc.onlyDownHold(st, sels); d != "" {
			down = append(down, d)
			continue
		}
		if failed := st.failed(); len(failed) > 0 {
			n := len(failed)
			warnings = append(warnings, fmt.Sprintf("service %s: %d of %d pods failed %s latest scrape at %s, %s: %s",
				svc.key, n, len(st.pods), leftout.Their(n), st.start.UTC().Format(warningTime), leftout.Clause(n), podErrors(failed)))
		}
		if w := svc.unreadyWarning(st, sels); w != "" {
			warnings = append(warnings, w)
		}
	}
	for _, svc := range may {
		st := svc.state.Load()
		if of, ok := states[svc]; ok {
			st = of
		}
		if st != nil && st.appendErr != nil {
			warnings = append(warnings, st.appendErr.Error())
		}
	}
	if len(down) > 0 {
		err := &apiError{errorUnavailable, fmt.Errorf("no data to answer from: %s", joinBounded(down, "service"))}
		if notYet == len(down) {
			return warnings, &retryLater{err, wait}
		}
		return warnings, err
	}
	return warnings, nil
}

// firstScrapeWait is how long a query finding svc not scraped yet is asked to wait
// before it asks again (Retry-After): while its first scrape is under way, a second, the
// least the header says (healthy pods answer within milliseconds; a hung one holds the
// scrape for its timeout, and each ask then is answered so again); before one has begun
// (the Server not Run yet), the interval.
func (svc *service) firstScrapeWait() time.Duration {
	if svc.began.Load() {
		return time.Second
	}
	return svc.cfg.Interval
}

// onlyDownHold names the first data selector of sels whose series svc holds only of
// pods that failed their latest scrape st, or that st found no longer scraped because
// they are not Ready (failing their readiness probe under load: skipped, their series
// went stale) or have finished (st.unready), and those pods' errors; "" when none. A pod
// gone from the API, or terminating, is no reason: a model scaled to zero answers
// empty, as in Prometheus; nor is a pod created again under the name of one that held
// the series (a StatefulSet's, starting), which never held them.
func (svc *service) onlyDownHold(st *scrapeState, sels [][]*labels.Matcher) string {
	scraped := make(map[string]*podState, len(st.pods))
	for i := range st.pods {
		scraped[st.pods[i].name] = &st.pods[i]
	}
	unready := make(map[string]string, len(st.unready))
	for _, p := range st.unready {
		unready[p.name] = p.why
	}
	for _, m := range sels {
		if synthetic.Only(m) || svc.excludes(m) {
			continue
		}
		if svc.hist.HoldsWhere(m, func(l labels.Labels) bool { p := scraped[l.Get(podLabel)]; return p != nil && p.up }) {
			continue
		}
		holders := map[string]bool{}
		svc.hist.HoldsWhere(m, func(l labels.Labels) bool {
			holders[l.Get(podLabel)] = true
			return false
		})
		for _, p := range st.unready {
			if p.holds(m) {
				holders[p.name] = true
			}
		}
		// Pods that failed and gave no data within the retention may expose such series.
		dark := svc.darkFor(st, m)
		for _, name := range dark {
			holders[name] = true
		}
		var parts []string
		anyUnready := false
		for _, name := range slices.Sorted(maps.Keys(holders)) {
			if p := scraped[name]; p != nil {
				parts = append(parts, fmt.Sprintf("pod %s: %v", name, p.err))
			} else if why := unready[name]; why != "" {
				parts = append(parts, fmt.Sprintf("pod %s: %s", name, why))
				anyUnready = true
			}
		}
		if len(parts) == 0 {
			continue
		}
		with := "with series matching " + selectorText(m)
		if len(dark) > 0 {
			with += ", or that may have them (it gave no data within the retention: what it exposes is unknown),"
		}
		what := "failed its latest scrape at " + st.start.UTC().Format(warningTime)
		named := joinNamed(parts)
		if anyUnready {
			what += " or is not Ready"
			// Not joinNamed's pointer to /api/v1/targets: not-Ready pods are no targets.
			named = strings.Join(parts[:min(len(parts), maxPodsNamed)], "; ") + moreNotTargets(len(parts))
		}
		return fmt.Sprintf("service %s: every pod %s %s: %s", svc.key, with, what, named)
	}
	return ""
}

// unreadyWarning names the pods of st.unready holding series a data selector of sels
// matches: no longer scraped because they are not Ready (a pod failing its readiness
// probe under load, the busiest one) or have finished, their series went stale, and the
// answer leaves them out, as it leaves out the pods that failed, which are named too.
// "" when there are none.
func (svc *service) unreadyWarning(st *scrapeState, sels [][]*labels.Matcher) string {
	named, n := svc.unreadyHolding(st, sels)
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("service %s: %d %s holding series the query reads %s no longer scraped (as of the latest scrape at %s), %s: %s",
		svc.key, n, leftout.Pods(n), leftout.Are(n), st.start.UTC().Format(warningTime), leftout.Clause(n), named)
}

// unreadyHolding names the pods of st.unready holding series a data selector of sels
// matches (see unreadyWarning), the first maxPodsNamed of them, and counts them.
func (svc *service) unreadyHolding(st *scrapeState, sels [][]*labels.Matcher) (named string, n int) {
	var parts []string
	for _, p := range st.unready {
		for _, m := range sels {
			if synthetic.Only(m) || svc.excludes(m) {
				continue
			}
			if p.holds(m) || svc.hist.Holds(append(slices.Clip(m), labels.MustNewMatcher(labels.MatchEqual, podLabel, p.name))) {
				parts = append(parts, fmt.Sprintf("pod %s: %s", p.name, p.why))
				break
			}
		}
	}
	if len(parts) == 0 {
		return "", 0
	}
	// Not joinNamed: these pods are not targets, so /api/v1/targets does not list them.
	return strings.Join(parts[:min(len(parts), maxPodsNamed)], "; ") + moreNotTargets(len(parts)), len(parts)
}

// maxPodsNamed is how many pods' errors one warning or error names: a Service of 2,000
// pods, 1,000 of them failing, would add 200 KB to every answer. Prometheus' API answers
// at most 10 of a query's warnings likewise, and counts the others; /api/v1/targets
// has every pod's error.
const maxPodsNamed = 10

// podErrors names pods and their errors, the first maxPodsNamed of them, then how many
// more there are.
func podErrors(pods []podState) string {
	parts := make([]string, 0, min(len(pods), maxPodsNamed))
	for _, p := range pods[:min(len(pods), maxPodsNamed)] {
		parts = append(parts, fmt.Sprintf("pod %s: %v", p.name, p.err))
	}
	return strings.Join(parts, "; ") + more(len(pods))
}

// joinNamed joins the "pod name: why" parts, the first maxPodsNamed of them, then how
// many more there are.
func joinNamed(parts []string) string {
	return strings.Join(parts[:min(len(parts), maxPodsNamed)], "; ") + more(len(parts))
}

// more says how many of n pods, all of them targets, were left unnamed, and where to
// find them; "" when none.
func more(n int) string {
	if s := moreNotTargets(n); s != "" {
		return s + " (each in /api/v1/targets)"
	}
	return ""
}

// moreNotTargets is more for pods some of which are not targets (not Ready): how many of
// n were left unnamed, without sending the reader to /api/v1/targets; "" when none.
func moreNotTargets(n int) string {
	if n <= maxPodsNamed {
		return ""
	}
	return fmt.Sprintf("; and %d more %s", n-maxPodsNamed, leftout.Pods(n-maxPodsNamed))
}

// selectorText writes matchers as a selector: {__name__="x",model_name="a"}.
func selectorText(matchers []*labels.Matcher) string {
	parts := make([]string, len(matchers))
	for i, m := range matchers {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// states returns the latest scrape of each Service, in the Server's order.
func (s *Server) states() []*scrapeState {
	out := make([]*scrapeState, len(s.services))
	for i, svc := range s.services {
		out[i] = svc.state.Load()
	}
	return out
}

// sameStates reports whether every Service's latest scrape is still the one in states.
func (s *Server) sameStates(states []*scrapeState) bool {
	for i, svc := range s.services {
		if svc.state.Load() != states[i] {
			return false
		}
	}
	return true
}

// appendSeqs returns each Service's appendSeq, in the Server's order: a query reads them
// before the states it checks (landedSince).
func (s *Server) appendSeqs() []uint64 {
	out := make([]uint64, len(s.services))
	for i, svc := range s.services {
		out[i] = svc.appendSeq.Load()
	}
	return out
}

// landedSince returns, by Service of read, the states of the scrapes that appended to
// its history since a query read seqs (appendSeqs) and then the states it checked
// (states, in the Server's order), or that were appending then, waiting for those under
// way to store theirs: an evaluation since may have read their appends. A Service whose
// history did not change has none. The query pinned the states (service.pin) before it
// read seqs, so every one is kept; the error, should one be missing, is the query's 503:
// what it read is not known.
func (s *Server) landedSince(read []*service, checked []*scrapeState, seqs []uint64) (map[*service][]*scrapeState, error) {
	var out map[*service][]*scrapeState
	for i, svc := range s.services {
		if seqs[i]%2 == 0 && svc.appendSeq.Load() == seqs[i] || !slices.Contains(read, svc) {
			continue
		}
		if s.onLandedWait != nil {
			s.onLandedWait()
		}
		var from uint64 // the checked state's seq: the states after it landed since
		if checked[i] != nil {
			from = checked[i].seq
		}
		svc.appending.Lock()
		now := svc.appendSeq.Load()
		var landed []*scrapeState
		for _, st := range svc.landed {
			if st.seq > from {
				landed = append(landed, st)
			}
		}
		svc.appending.Unlock()
		if uint64(len(landed)) < (now-from)/2 {
			return nil, &apiError{errorUnavailable, fmt.Errorf("service %s: scraped %d times while the query was evaluated: what the evaluation read cannot be checked, ask again", svc.key, (now-from)/2)}
		}
		if out == nil {
			out = map[*service][]*scrapeState{}
		}
		out[svc] = landed
	}
	return out, nil
}

// availabilityAt returns the error (HTTP 503) of an instant query evaluated at at, before
// the latest scrape of a Service it reads (read) ended, whose evaluation reads an earlier
// scrape (a client's clock behind serve's; KEDA's time, written to the second, in the
// second after a scrape) that the history's up series show gave nothing: every pod
// failed it, or every pod holding a data selector's series (onlyDownHold). The
// evaluation reads those pods' staleness markers and answers empty, while the check of
// the latest scrape (availability) found the pods answering; or in which the pods
// holding a data selector's series were not scraped because they were not Ready (the
// state of that scrape, while kept, says so). Else it returns the warnings naming the
// pods that failed such an earlier scrape, or were not scraped then: the answer leaves
// them out, though the latest scrape, whose warnings the query carries, found them back.
// lookback is the query's.
func (s *Server) availabilityAt(ctx context.Context, sels [][]*labels.Matcher, read []*service, at time.Time, lookback time.Duration) (warnings []string, _ error) {
	var down []string
	for _, svc := range read {
		st := svc.state.Load()
		if st == nil || !at.Before(st.end) {
			continue
		}
		then, err := svc.stateAt(ctx, at, lookback)
		if err != nil {
			return nil, &apiError{errorExec, fmt.Errorf("service %s: %w", svc.key, err)}
		}
		switch {
		case then == nil:
		case then.unavailable():
			down = append(down, svc.errUnavailable(then).Error())
		default:
			if d := svc.onlyDownHold(then, sels); d != "" {
				down = append(down, d)
				break
			}
			if failed := then.failed(); len(failed) > 0 {
				n := len(failed)
				warnings = append(warnings, fmt.Sprintf("service %s: %d of %d pods failed %s scrape at %s, which the query reads at %s, %s: %s",
					svc.key, n, len(then.pods), leftout.Their(n), then.start.UTC().Format(warningTime), at.UTC().Format(warningTime), leftout.Clause(n), podErrors(failed)))
			}
			if named, n := svc.unreadyHolding(then, sels); n > 0 {
				warnings = append(warnings, fmt.Sprintf("service %s: %d %s holding series the query reads %s left out of the scrape at %s, which the query reads at %s, %s: %s",
					svc.key, n, leftout.Pods(n), leftout.Are(n), then.start.UTC().Format(warningTime), at.UTC().Format(warningTime), leftout.Clause(n), named))
			}
		}
	}
	if len(down) > 0 {
		return nil, &apiError{errorUnavailable, fmt.Errorf("no data to answer from at %s, the query's time, before the latest scrape: %s",
			at.UTC().Format(warningTime), joinBounded(down, "service"))}
	}
	return warnings, nil
}

// availabilityMoved is availabilityAt for each instant selector of windows (the
// expression's, history.Windows) whose @ or offset moves the time it reads: from an
// instant query's time start, or, pinned by @, from its own time (start() and end() are
// start and end), in a range query too, where it reads that one time at every step. A
// selector moved to a scrape in which its pods failed reads their staleness markers.
func (s *Server) availabilityMoved(ctx context.Context, windows []history.Window, start, end time.Time, instant bool, lookback time.Duration) (warnings []string, _ error) {
	for _, w := range windows {
		if w.Range != 0 || (w.Offset == 0 && !w.Pinned) || (!w.Pinned && !instant) || synthetic.Only(w.Matchers) {
			continue
		}
		at := start
		if pinned, ok := w.PinnedAt(); ok {
			at = pinned
		} else if w.StartOrEnd == parser.END {
			at = end
		}
		sels := [][]*labels.Matcher{w.Matchers}
		ws, err := s.availabilityAt(ctx, sels, s.servicesRead(sels), at.Add(-w.Offset), lookback)
		if err != nil {
			return nil, err
		}
		warnings = append(warnings, ws...)
	}
	return warnings, nil
}
