package history

import (
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// postings index series by label: name -> value -> the series with that pair, in the
// order they were created. The store's mu protects it.
type postings struct {
	count  int
	all    []*memSeries
	values map[string]map[string][]*memSeries
	peak   map[string]int // by name: the most values its map held since it was made (Go maps never shrink)
	// names is the most label names values (and peak) held since they were made: a
	// spike of label names (an id in a label's name) left their room otherwise.
	names int
	gen   uint64     // moves at each series created or dropped
	cache matchCache // the series matching the selectors asked lately (matching)
}

func (p *postings) add(ms *memSeries) {
	if p.values == nil {
		p.values = map[string]map[string][]*memSeries{}
		p.peak = map[string]int{}
	}
	p.count++
	p.gen++
	p.all = append(p.all, ms)
	ms.lset.Range(func(l labels.Label) {
		vals := p.values[l.Name]
		if vals == nil {
			vals = map[string][]*memSeries{}
			p.values[l.Name] = vals
			p.names = max(p.names, len(p.values))
		}
		list := vals[l.Value]
		if list == nil {
			p.peak[l.Name] = max(p.peak[l.Name], len(vals)+1)
		}
		vals[l.Value] = append(list, ms)
	})
}

// remove drops the series of gone, which are marked dead.
func (p *postings) remove(gone []*memSeries) {
	if len(gone) == 0 {
		return
	}
	dead := func(ms *memSeries) bool { return ms.dead }
	p.count -= len(gone)
	p.gen++
	p.all = fit(slices.DeleteFunc(p.all, dead))
	// Each list once, whatever the number of its series gone: a list per series gone
	// walked a shared list (namespace, job) once per series, quadratic in a rollout.
	affected := map[labels.Label]struct{}{}
	for _, ms := range gone {
		ms.lset.Range(func(l labels.Label) { affected[l] = struct{}{} })
	}
	var thinned map[string]struct{} // names that lost values and still have some
	for l := range affected {
		vals := p.values[l.Name]
		if list := slices.DeleteFunc(vals[l.Value], dead); len(list) > 0 {
			vals[l.Value] = fit(list)
			continue
		}
		delete(vals, l.Value)
		if len(vals) == 0 {
			delete(p.values, l.Name)
			delete(p.peak, l.Name)
			delete(thinned, l.Name)
			continue
		}
		if thinned == nil {
			thinned = map[string]struct{}{}
		}
		thinned[l.Name] = struct{}{}
	}
	// A name's map of values that held far more than it holds now (a label whose
	// values spiked beside those of the usual series) is made anew without that room.
	for name := range thinned {
		if vals := p.values[name]; oversized(p.peak[name], len(vals)) {
			m := make(map[string][]*memSeries, len(vals))
			for v, list := range vals {
				m[v] = list
			}
			p.values[name], p.peak[name] = m, len(vals)
		}
	}
	// So are the maps of label names, once far fewer names are held than they held.
	if oversized(p.names, len(p.values)) {
		values := make(map[string]map[string][]*memSeries, len(p.values))
		peak := make(map[string]int, len(p.values))
		for name, vals := range p.values {
			values[name], peak[name] = vals, p.peak[name]
		}
		p.values, p.peak, p.names = values, peak, len(values)
	}
}

// fit returns list, or a copy of it without its spare room when it keeps far more room
// than it holds series (oversized): a shared list (namespace, pod, instance) and all
// keep the capacity of a spike of series long after the retention dropped them
// otherwise. remove calls it on the lists it walks anyway, so it adds no walk; a list
// of a steady history, never far below its capacity, is kept as it is.
func fit(list []*memSeries) []*memSeries {
	if !oversized(cap(list), len(list)) {
		return list
	}
	return slices.Clone(list)
}

// shrinkFactor and shrinkRoom say when a slice or map keeps room to give back: when it
// has room for (slices) or once held (maps) more than shrinkFactor times what it holds
// now, plus shrinkRoom. A steady history holds about what its structures grew to, so
// never reallocates them; a spike of series (a label's cardinality blowing up once
// until a rollout fixes it) leaves them at a small part of their room.
const (
	shrinkFactor = 4
	shrinkRoom   = 256
)

// oversized reports whether a slice or map with room for, or a peak of, room entries
// holding n keeps room to give back.
func oversized(room, n int) bool { return room > shrinkFactor*n+shrinkRoom }

// candidates returns the series that may match ms: those of the most selective matcher
// that needs its label set, or every series. The caller checks every matcher on each.
// The returned slice is the index's or a new one; the caller must not change it.
//
// Its cost is bounded by the list it returns, not by the series a matcher other than
// an equality selects: equality matchers are looked up first (one map read each), and
// another matcher's list (a regular expression's, which gathers the lists of every
// value it matches) is built only while it stays shorter than the best so far, and
// only when the label has fewer values than that list holds series (matching each
// value costs about what checking each candidate does), or that list is too long for
// matching to keep its matches (maxCachedMatch). A caller asking for the series
// of one pod among thousands (pod="p" with model_name=~"m|n", once per pod not Ready in
// a query's check) otherwise gathered every series of the model each time: quadratic in
// the pods.
func (p *postings) candidates(ms []*labels.Matcher) []*memSeries {
	best := p.all
	for _, m := range ms {
		if m.Type != labels.MatchEqual || m.Matches("") {
			continue // series without the label match: no index narrows it
		}
		if best = shorter(best, p.values[m.Name][m.Value]); len(best) == 0 {
			return nil
		}
	}
	for _, m := range ms {
		if m.Type == labels.MatchEqual || m.Matches("") {
			continue
		}
		vals := p.values[m.Name]
		if len(vals) >= len(best) && len(best) <= maxCachedMatch {
			// Checking best's series costs no more than matching every value, and
			// matching keeps what it finds (a larger best would not be kept).
			continue
		}
		var list []*memSeries
		better := true
		for v, l := range vals {
			if !m.Matches(v) {
				continue
			}
			if len(list)+len(l) >= len(best) {
				better = false // no narrower than best: not built further
				break
			}
			list = append(list, l...)
		}
		if better {
			if best = list; len(best) == 0 {
				return nil
			}
		}
	}
	return best
}

// shorter returns list when it holds fewer series than best, else best.
func shorter(best, list []*memSeries) []*memSeries {
	if len(list) < len(best) {
		return list
	}
	return best
}
