package pod

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/source"
)

// ErrNoHistory is wrapped by a PromQL result's Error when the history holds nothing the
// query could be answered from: no scrape is stored yet, or the metrics the query reads
// are not (a query registered, or a metric needed, since the scrape evaluated). Its values,
// if any, are not an answer: read it as "unknown", never as "no load".
var ErrNoHistory = errors.New("not in the history yet")

// ErrHistorySeriesLimit is wrapped by a PromQL result's Error when the history refused
// new series at HistorySeriesLimit: the answer may lack them.
var ErrHistorySeriesLimit = history.ErrSeriesLimit

// ErrSampleAhead is wrapped by the Error of a PromQL result that selects a series of which
// the history refused samples whose own timestamp was more than 10 minutes ahead of their
// scrape (a pod's skewed clock, an exporter writing microseconds): only that pod's
// samples are refused, as Prometheus refuses them.
var ErrSampleAhead = history.ErrFutureSample

// ErrSampleOutOfOrder is wrapped by the Error of a PromQL result that selects a series of
// which the history dropped samples with their own timestamps that were older than their
// series' newest sample, or than the retention.
var ErrSampleOutOfOrder = history.ErrOutOfOrder

// evalPromQL answers PromQL queries with params over the history store at time at, the
// collection time of the scrape last appended. Each result's Error joins what made its
// answer incomplete: the query's own failure (a missing parameter, a parse or evaluation
// error), storeErr (the history could not be created), ErrNoHistory (a metric it reads
// is not stored yet), a *PartialWindowError (a window that adds up over time reaches
// before the history), incomplete (the pods whose scrapes failed: their series are
// stale, so aggregations leave them out) and, for an expression that selects a series the
// history refused samples of, the refusal. A window of an estimate (rate, avg_over_time,
// ...) reaching before the history is a warning, unless the answer is empty: then it is
// the Error, a *PartialWindowError (a rate over a single scrape estimates nothing; read as
// no value, it would be "no load"). So are the pods of unready whose series a selector
// reads: no longer scraped, their series went stale and the answer leaves them out (a
// window that adds up over time over their series is a *PartialWindowError with LeftOut:
// a lower bound); and noReady, when not "": the Service selects pods none of which is
// Ready.
func (s *PodScrapingSource) evalPromQL(ctx context.Context, store *history.History, storeErr error, queries []source.QueryTemplate, params map[string]string, at time.Time, incomplete error, refused refusal, unready []unreadyPod, noReady string) map[string]*source.MetricResult {
	out := make(map[string]*source.MetricResult, len(queries))
	var cov coverage
	if store != nil {
		cov = s.coverage(store)
		cov.pairs = store.PairWhere
		cov.answers = func(expr string, at time.Time) (bool, error) {
			res, err := store.Query(ctx, expr, at)
			return len(res.Points) > 0, err
		}
	}
	for _, q := range queries {
		r := &source.MetricResult{QueryName: q.Name, CollectedAt: at}
		out[q.Name] = r
		expr, err := source.FillTemplate(q, params)
		if err != nil {
			r.Error = err
			continue
		}
		if store == nil {
			if storeErr == nil {
				storeErr = ErrNoHistory
			}
			r.Error = fmt.Errorf("query %q: %w", q.Name, storeErr)
			continue
		}
		covErr, warnings, estimate, narrow := cov.assess(q.Name, expr, at)
		// A rate whose window reaches before what is held is evaluated over the span
		// held: over the whole window it would read low by the span missing.
		evaluated := expr
		if len(narrow) > 0 {
			evaluated, _, _ = history.NarrowRates(expr, at, func(i int, w history.Window) (time.Time, bool) {
				if !slices.Contains(narrow, i) {
					return time.Time{}, false
				}
				return store.FirstSample(w.Matchers, w.ReadsAfter(at, store.LookbackDelta()), at.Add(-w.Offset))
			})
		}
		res, err := store.Query(ctx, evaluated, at)
		if err != nil {
			r.Error = fmt.Errorf("query %q: %s: %w", q.Name, expr, err)
			continue
		}
		r.Values = make([]source.MetricValue, len(res.Points))
		for i, p := range res.Points {
			r.Values[i] = source.MetricValue{Value: p.V, Timestamp: time.UnixMilli(p.T), Labels: p.Metric.Map()}
		}
		if covErr == nil && estimate != nil && len(r.Values) == 0 {
			// Nothing estimated at all (a rate over one scrape): not "no load".
			covErr = estimate
		}
		r.Warnings = append(res.Warnings, warnings...)
		before := s.heldBefore(store, at)
		read := unreadyRead(store, before, expr, unready)
		if w := s.unreadyWarning(unreadyHolding, read); w != "" {
			r.Warnings = append(r.Warnings, w)
		}
		// Of the pods the query reads, those a summing window reads (none to ask of when
		// it reads none).
		if pods, rd := unreadySummed(store, before, expr, read); len(pods) > 0 && covErr == nil {
			// A sum over time of a pod no longer scraped stops at its last scrape: a
			// lower bound (an idle count of a model whose pod turned not Ready under a
			// burst it is serving unseen), never "idle". A warning alone would let a
			// reader that checks only Error scale it to zero.
			covErr = &PartialWindowError{Query: q.Name, Func: rd.Func, Window: rd.Reach, At: rd.At, Held: at.Sub(cov.oldest),
				LeftOut: s.unreadyWarning(unreadyHolding, pods)}
		}
		if noReady != "" {
			r.Warnings = append(r.Warnings, noReady)
		}
		if len(r.Warnings) == 0 {
			r.Warnings = nil
		}
		// Shared with the cache's readers: with no room past its length, a caller's
		// append copies instead of writing where another reader's would.
		r.Warnings = slices.Clip(r.Warnings)
		r.Error = incomplete
		if refErr := refused.of(expr); covErr != nil || refErr != nil {
			r.Error = errors.Join(covErr, incomplete, refErr)
		}
	}
	return out
}
