package serve

import (
	"fmt"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// syntheticNames are the series the server writes per pod itself: a selector of only
// these reads a Service's health, not its data, and is answered whatever the pods did,
// while the Service has pods to answer for (servicesRead).
var syntheticNames = map[string]bool{"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true}

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

// onlySynthetic reports whether matchers select only the server's per-pod series.
func onlySynthetic(matchers []*labels.Matcher) bool {
	for _, m := range matchers {
		if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
			return syntheticNames[m.Value]
		}
	}
	return false
}

// reads reports whether a selector with matchers reads svc: it may select a series of
// svc (its job and namespace matchers do not exclude it) and svc's history holds such a
// series, or svc never scraped a pod successfully (what it exposes is not known yet), or
// svc gives no data now and one of the series it held when it last did matches (an
// outage longer than the retention leaves nothing in the history to match). Label
// matchers count as much as the metric name: another model's Service down, exposing the
// same metric names, is not read by a selector of this model's series.
func (svc *service) reads(matchers []*labels.Matcher) bool {
	if svc.excludes(matchers) {
		return false
	}
	if !svc.everUp.Load() || svc.hist.Holds(matchers) {
		return true
	}
	st := svc.state.Load()
	return st != nil && st.unavailable() && exposedMatch(st.exposed, matchers)
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
		if !onlySynthetic(m) {
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
			if data && onlySynthetic(m) {
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
// nothing to give (HTTP 503, naming each such Service and its pods' errors), or a data
// selector whose series the Service holds only of pods that failed their latest scrape
// (two models behind one Service, one model's pods all down: its answer would be empty,
// and read as no load). Else it returns the warnings naming the pods of the read Services
// that failed their latest scrape, and what the histories of the Services it may read
// refused (a refused series is not in the history, so no selector is seen to read it).
func (s *Server) availability(sels [][]*labels.Matcher, read, may []*service) (warnings []string, err error) {
	var down []string
	for _, svc := range read {
		st := svc.state.Load()
		if st == nil {
			down = append(down, fmt.Sprintf("service %s: not scraped yet", svc.key))
			continue
		}
		if st.unavailable() {
			down = append(down, svc.errUnavailable(st).Error())
			continue
		}
		if failed := st.failed(); len(failed) > 0 {
			if d := svc.onlyFailedHold(st, sels); d != "" {
				down = append(down, d)
				continue
			}
			parts := make([]string, len(failed))
			for i, p := range failed {
				parts[i] = fmt.Sprintf("pod %s: %v", p.name, p.err)
			}
			warnings = append(warnings, fmt.Sprintf("service %s: %d of %d pods failed their latest scrape at %s, the answer leaves them out: %s",
				svc.key, len(failed), len(st.pods), st.start.UTC().Format(warningTime), strings.Join(parts, "; ")))
		}
	}
	for _, svc := range may {
		if st := svc.state.Load(); st != nil && st.appendErr != nil {
			warnings = append(warnings, st.appendErr.Error())
		}
	}
	if len(down) > 0 {
		return warnings, &apiError{errorUnavailable, fmt.Errorf("no data to answer from: %s", strings.Join(down, "; "))}
	}
	return warnings, nil
}

// onlyFailedHold names the first data selector of sels whose series svc holds only of
// pods that failed their latest scrape st, and those pods' errors; "" when none.
func (svc *service) onlyFailedHold(st *scrapeState, sels [][]*labels.Matcher) string {
	up := map[string]bool{}
	var failed []podState
	for _, p := range st.pods {
		if p.up {
			up[p.name] = true
		} else {
			failed = append(failed, p)
		}
	}
	for _, m := range sels {
		if onlySynthetic(m) || svc.excludes(m) {
			continue
		}
		if svc.hist.HoldsWhere(m, func(l labels.Labels) bool { return up[l.Get(podLabel)] }) {
			continue
		}
		var parts []string
		for _, p := range failed {
			if svc.hist.HoldsWhere(m, func(l labels.Labels) bool { return l.Get(podLabel) == p.name }) {
				parts = append(parts, fmt.Sprintf("pod %s: %v", p.name, p.err))
			}
		}
		if len(parts) > 0 {
			return fmt.Sprintf("service %s: every pod with series matching %s failed its latest scrape at %s: %s",
				svc.key, selectorText(m), st.start.UTC().Format(warningTime), strings.Join(parts, "; "))
		}
	}
	return ""
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
