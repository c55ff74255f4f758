package history

import (
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// postings index series by label: name -> value -> the series with that pair, in the
// order they were created (ascending id). The store's mu protects it.
type postings struct {
	count  int
	all    []*memSeries
	values map[string]map[string][]*memSeries
}

func (p *postings) add(ms *memSeries) {
	if p.values == nil {
		p.values = map[string]map[string][]*memSeries{}
	}
	p.count++
	p.all = append(p.all, ms)
	ms.lset.Range(func(l labels.Label) {
		vals := p.values[l.Name]
		if vals == nil {
			vals = map[string][]*memSeries{}
			p.values[l.Name] = vals
		}
		vals[l.Value] = append(vals[l.Value], ms)
	})
}

// remove drops the series of gone, which are marked dead.
func (p *postings) remove(gone []*memSeries) {
	if len(gone) == 0 {
		return
	}
	dead := func(ms *memSeries) bool { return ms.dead }
	p.count -= len(gone)
	p.all = slices.DeleteFunc(p.all, dead)
	// Each list once, whatever the number of its series gone: a list per series gone
	// walked a shared list (namespace, job) once per series, quadratic in a rollout.
	affected := map[labels.Label]struct{}{}
	for _, ms := range gone {
		ms.lset.Range(func(l labels.Label) { affected[l] = struct{}{} })
	}
	for l := range affected {
		vals := p.values[l.Name]
		if list := slices.DeleteFunc(vals[l.Value], dead); len(list) > 0 {
			vals[l.Value] = list
			continue
		}
		delete(vals, l.Value)
		if len(vals) == 0 {
			delete(p.values, l.Name)
		}
	}
}

// candidates returns the series that may match ms: those of the most selective matcher
// that needs its label set, or every series. The caller checks every matcher on each.
// The returned slice is the index's or a new one; the caller must not change it.
func (p *postings) candidates(ms []*labels.Matcher) []*memSeries {
	best := p.all
	for _, m := range ms {
		if m.Matches("") {
			continue // series without the label match: no index narrows it
		}
		vals := p.values[m.Name]
		var list []*memSeries
		if m.Type == labels.MatchEqual {
			list = vals[m.Value]
		} else {
			for v, l := range vals {
				if m.Matches(v) {
					list = append(list, l...)
				}
			}
		}
		if len(list) < len(best) {
			best = list
		}
		if len(best) == 0 {
			return nil
		}
	}
	return best
}
