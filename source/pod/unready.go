package pod

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/internal/leftout"
	"github.com/podscrape/podscrape/internal/synthetic"
	"github.com/podscrape/podscrape/source"
)

// maxUnreadyNamed is how many pods one warning of pods no longer scraped names; it says
// how many more there are.
const maxUnreadyNamed = 10

// unreadyPod is a pod no longer scraped that answered before, and why (see
// UnscrapedPod).
type unreadyPod struct{ name, why string }

// answeredPods are the pods whose scrape succeeded within the history's retention, by
// name, so that a refresh can tell which pods it no longer scrapes because they turned
// not Ready or finished: their samples are missing from its results, which say so
// (Warnings). Refreshes update it one at a time (they never overlap); the mutex makes
// that visible to the race detector whatever orders them.
type answeredPods struct {
	mu     sync.Mutex
	byName map[string]answeredPod
}

// answeredPod is one pod's object and the start of the refresh it last answered.
type answeredPod struct {
	uid types.UID
	at  time.Time
}

// update records the refresh at at, which found what discovery found and scraped pods,
// and returns, sorted by name, the pods found not Ready or finished (not terminating:
// see discover) that answered a refresh less than retention before at: the ones it
// leaves out. A pod gone, terminating (a scale-down), recreated under its name (another
// UID), or that never answered (starting) is not among them, and is forgotten; so is a
// pod that last answered more than retention ago, when the history holds none of its
// series any more.
func (a *answeredPods) update(found *discovery, pods []podScrape, at time.Time, retention time.Duration) []unreadyPod {
	a.mu.Lock()
	defer a.mu.Unlock()
	prev := a.byName
	recent := func(name string, uid types.UID) (answeredPod, bool) {
		p, ok := prev[name]
		return p, ok && p.uid == uid && at.Sub(p.at) <= retention
	}
	var next map[string]answeredPod
	keep := func(name string, p answeredPod) {
		if next == nil {
			next = make(map[string]answeredPod, len(pods))
		}
		next[name] = p
	}
	for i := range pods {
		t := &pods[i].target
		if pods[i].err == nil {
			keep(t.name, answeredPod{uid: t.uid, at: at})
		} else if p, ok := recent(t.name, t.uid); ok {
			keep(t.name, p) // failed now: what it answered before is still held
		}
	}
	var out []unreadyPod
	for _, u := range found.unscraped {
		if p, ok := recent(u.Pod, u.UID); ok {
			keep(u.Pod, p)
			out = append(out, unreadyPod{name: u.Pod, why: u.Why})
		}
	}
	a.byName = next
	slices.SortFunc(out, func(x, y unreadyPod) int { return strings.Compare(x.name, y.name) })
	return out
}

// unreadyWarning is the warning of a result that leaves out pods, which holding says
// held its samples (a metric-name result) or the series it reads (a PromQL one): ""
// when pods is empty. It names the first maxUnreadyNamed, then how many more.
func (s *PodScrapingSource) unreadyWarning(holding string, pods []unreadyPod) string {
	if len(pods) == 0 {
		return ""
	}
	var b strings.Builder
	for i, p := range pods[:min(len(pods), maxUnreadyNamed)] {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "pod %s: %s", p.name, p.why)
	}
	if more := len(pods) - maxUnreadyNamed; more > 0 {
		fmt.Fprintf(&b, "; and %d more %s", more, leftout.Pods(more))
	}
	n := len(pods)
	return fmt.Sprintf("service %s: %d %s %s %s no longer scraped, %s: %s",
		s.serviceKey(), n, leftout.Pods(n), holding, leftout.Are(n), leftout.Clause(n), b.String())
}

// Subjects of unreadyWarning.
const (
	unreadyAnswered = "that answered earlier scrapes"
	unreadyHolding  = "holding series the query reads"
)

// unreadyRead returns those of pods of which store holds a series a selector of expr
// reads, stale or not, or held one before it started over (before: the clock stepped
// back); selectors of the synthetic up and scrape_* series alone are not
// counted: they are about the pods scraped, which these pods are not. nil when expr does
// not parse (its evaluation says so).
func unreadyRead(store *history.History, before []labels.Labels, expr string, pods []unreadyPod) []unreadyPod {
	pods, _ = unreadyIn(store, before, expr, pods, func(history.Window) bool { return true })
	return pods
}

// unreadySummed returns those of pods (pods no longer scraped) of which a window of expr
// that adds up over time (increase, sum_over_time, count_over_time, ...: Read.Sums, over
// a range) reads a series, and the widest such window. Such a window holds what those
// pods did up to their last scrape and nothing since: its answer is a lower bound, as a
// window reaching before the history is (ErrPartialWindow), where an estimate's (rate)
// is a figure over fewer pods, a warning.
func unreadySummed(store *history.History, before []labels.Labels, expr string, pods []unreadyPod) ([]unreadyPod, history.Read) {
	return unreadyIn(store, before, expr, pods, func(w history.Window) bool { return w.Read.Sums && w.Read.Range > 0 })
}

// unreadyIn returns those of pods of which store holds a series that a selector of a
// window of expr that keep accepts reads (see unreadyRead), and the widest such window's
// Read.
func unreadyIn(store *history.History, before []labels.Labels, expr string, pods []unreadyPod, keep func(history.Window) bool) ([]unreadyPod, history.Read) {
	var widest history.Read
	if len(pods) == 0 || store == nil {
		return nil, widest
	}
	parsed, err := history.Parse(expr)
	if err != nil {
		return nil, widest
	}
	var sels [][]*labels.Matcher
	for _, w := range history.Windows(parsed) {
		if !synthetic.Only(w.Matchers) && keep(w) {
			sels = append(sels, w.Matchers)
			if w.Read.Reach > widest.Reach || widest.Func == "" {
				widest = w.Read
			}
		}
	}
	// The series held before, by pod: a pod's matcher selects its own alone, and each
	// pod scanning them all was quadratic in the pods (every series of every pod, for
	// each pod not Ready, for each PromQL result of a refresh).
	var beforeOf map[string][]labels.Labels
	if len(before) > 0 && len(sels) > 0 {
		beforeOf = map[string][]labels.Labels{}
		for _, l := range before {
			name := l.Get(source.LabelPod)
			beforeOf[name] = append(beforeOf[name], l)
		}
	}
	var out []unreadyPod
	for _, p := range pods {
		pm := labels.MustNewMatcher(labels.MatchEqual, source.LabelPod, p.name)
		held := beforeOf[p.name]
		for _, m := range sels {
			ms := append(slices.Clip(m), pm)
			if store.Holds(ms) || slices.ContainsFunc(held, func(l labels.Labels) bool { return matchesAll(l, ms) }) {
				out = append(out, p)
				break
			}
		}
	}
	return out, widest
}

// matchesAll reports whether l matches every matcher of ms.
func matchesAll(l labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(l.Get(m.Name)) {
			return false
		}
	}
	return true
}
