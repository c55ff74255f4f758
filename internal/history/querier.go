package history

import (
	"context"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"
)

// querier reads a store over [mint, maxt], as storage.Querier. Each Select sees the
// appends committed when it was called; two Selects of one querier may see different
// appends if one is committed between them.
type querier struct {
	s          *store
	mint, maxt int64
}

var _ storage.Querier = (*querier)(nil)

// Querier implements storage.Queryable.
func (s *store) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{s: s, mint: mint, maxt: maxt}, nil
}

// Select returns the series matching ms that have samples in the querier's range (and the
// hints' Start and End, when given), sorted by labels if sortSeries is set.
func (q *querier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	if err := ctx.Err(); err != nil {
		return storage.ErrSeriesSet(err)
	}
	start, end := q.mint, q.maxt
	if hints != nil && hints.End >= hints.Start {
		start, end = max(start, hints.Start), min(end, hints.End)
	}
	var out []*seriesSnapshot
	q.s.mu.RLock()
	for _, m := range q.s.postings.candidates(ms) {
		if !matchesAll(m.lset, ms) {
			continue
		}
		if snap := q.snapshot(m, start, end); snap != nil {
			out = append(out, snap)
		}
	}
	q.s.mu.RUnlock()
	if sortSeries {
		slices.SortFunc(out, func(a, b *seriesSnapshot) int { return labels.Compare(a.lset, b.lset) })
	}
	if hints != nil && hints.Limit > 0 && len(out) > hints.Limit {
		out = out[:hints.Limit]
	}
	return &seriesSet{series: out, i: -1}
}

// snapshot returns ms' chunks that overlap [start, end], or nil if none does. The last
// chunk is copied: appends after the caller releases the store's mu may extend it. The
// caller holds the store's mu.
func (q *querier) snapshot(ms *memSeries, start, end int64) *seriesSnapshot {
	var chunks []chunkenc.Chunk
	last := len(ms.chunks) - 1
	for i, c := range ms.chunks {
		if c.maxT < start || c.minT > end {
			continue
		}
		if i < last {
			chunks = append(chunks, c.chunk)
			continue
		}
		cc, _ := chunkenc.FromData(chunkenc.EncXOR, slices.Clone(c.chunk.Bytes())) // never fails for EncXOR
		chunks = append(chunks, cc)
	}
	if len(chunks) == 0 {
		return nil
	}
	return &seriesSnapshot{lset: ms.lset, chunks: chunks}
}

// LabelValues returns the values of name on the series matching ms with samples in the
// querier's range, sorted.
func (q *querier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	seen := map[string]struct{}{}
	q.eachSeries(ms, func(lset labels.Labels) {
		if v := lset.Get(name); v != "" {
			seen[v] = struct{}{}
		}
	})
	return sortedLimited(seen, hints), nil, nil
}

// LabelNames returns the label names of the series matching ms with samples in the
// querier's range, sorted.
func (q *querier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	seen := map[string]struct{}{}
	q.eachSeries(ms, func(lset labels.Labels) {
		lset.Range(func(l labels.Label) { seen[l.Name] = struct{}{} })
	})
	return sortedLimited(seen, hints), nil, nil
}

// eachSeries calls f with the labels of every series matching ms that has samples in the
// querier's range.
func (q *querier) eachSeries(ms []*labels.Matcher, f func(labels.Labels)) {
	q.s.mu.RLock()
	defer q.s.mu.RUnlock()
	for _, m := range q.s.postings.candidates(ms) {
		n := len(m.chunks)
		if n == 0 || m.chunks[n-1].maxT < q.mint || m.chunks[0].minT > q.maxt || !matchesAll(m.lset, ms) {
			continue
		}
		f(m.lset)
	}
}

// Close implements storage.Querier; a querier holds nothing to release.
func (*querier) Close() error { return nil }

func matchesAll(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

func sortedLimited(set map[string]struct{}, hints *storage.LabelHints) []string {
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	slices.SortFunc(out, strings.Compare)
	if hints != nil && hints.Limit > 0 && len(out) > hints.Limit {
		out = out[:hints.Limit]
	}
	return out
}

// seriesSet is the result of a Select.
type seriesSet struct {
	series []*seriesSnapshot
	i      int
}

func (s *seriesSet) Next() bool {
	s.i++
	return s.i < len(s.series)
}

func (s *seriesSet) At() storage.Series              { return s.series[s.i] }
func (*seriesSet) Err() error                        { return nil }
func (*seriesSet) Warnings() annotations.Annotations { return nil }
