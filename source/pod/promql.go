package pod

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/source"
)

// ErrNoHistory is a PromQL result's Error when the source has no history to evaluate on:
// none of its refreshes has stored a scrape yet.
var ErrNoHistory = errors.New("no scrape stored in the history yet")

// ErrHistorySeriesLimit is wrapped by a PromQL result's Error when the history refused
// new series at HistorySeriesLimit: the answer may lack them.
var ErrHistorySeriesLimit = history.ErrSeriesLimit

// evalPromQL answers PromQL queries with params over the history at time at, the
// collection time of the scrape last appended. Each result's Error joins what made its
// answer incomplete: the query's own failure (a missing parameter, a parse or evaluation
// error), the pods whose scrapes failed (their series are stale, so aggregations leave
// them out), and series the history refused (stored).
func evalPromQL(ctx context.Context, store *history.History, queries []source.QueryTemplate, params map[string]string, at time.Time, incomplete error) map[string]*source.MetricResult {
	out := make(map[string]*source.MetricResult, len(queries))
	for _, q := range queries {
		r := &source.MetricResult{QueryName: q.Name, CollectedAt: at}
		out[q.Name] = r
		expr, err := source.FillTemplate(q, params)
		if err != nil {
			r.Error = err
			continue
		}
		if store == nil {
			r.Error = fmt.Errorf("query %q: %w", q.Name, ErrNoHistory)
			continue
		}
		res, err := store.Query(ctx, expr, at)
		if err != nil {
			r.Error = fmt.Errorf("query %q: %s: %w", q.Name, expr, err)
			continue
		}
		r.Values = make([]source.MetricValue, len(res.Points))
		for i, p := range res.Points {
			r.Values[i] = source.MetricValue{Value: p.V, Timestamp: time.UnixMilli(p.T), Labels: p.Metric.Map()}
		}
		r.Warnings = res.Warnings
		r.Error = incomplete
	}
	return out
}
