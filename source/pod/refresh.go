package pod

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"

	"github.com/podscrape/podscrape/internal/flight"
	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/internal/leftout"
	"github.com/podscrape/podscrape/source"
)

// refresher runs the source's refreshes for its flight.Group: one at a time, each
// scraping every pod once for the selections of all the Refresh calls it serves.
type refresher struct{ s *PodScrapingSource }

var _ flight.Work[*selection, refreshOutcome] = refresher{}

// refreshOutcome is what one shared refresh hands every caller. Run fills the scrape;
// Finish turns it into results and drops the rest.
type refreshOutcome struct {
	sel         *selection // what the pods' scrapes kept (and the history stored)
	pods        []podScrape
	collectedAt time.Time

	results map[string]*source.MetricResult // by query name, for every caller's queries

	// For PromQL queries, evaluated per caller on the history (see evalPromQL):
	store   *history.History // the history the scrape was stored in, nil when none: what the queries read
	evalAt  time.Time        // the newest scrape's start (or where the history stored it): the instant the queries run at
	podErr  error            // the failed pods' errors: their series are stale, so aggregations miss them
	refused refusal          // what the history refused of this scrape
	err     error            // the refresh's error, for answers taken from the scrape loop's last run

	unready []unreadyPod // pods that answered before, no longer scraped: not Ready, or finished (see answeredPods)
	// noReady is the warning of every result when the Service selects pods none of which
	// is Ready (a rollout between its old pod's termination and its new pod's readiness):
	// "" otherwise, a Service that selects no pod (scaled to zero) included.
	noReady string
}

// Covers reports whether a scrape for have answers the queries of want.
func (r refresher) Covers(have, want *selection) bool { return have.covers(want) }

// Merge returns the selection of the queries of both.
func (r refresher) Merge(a, b *selection) *selection {
	_, hist, _ := r.s.historyNeeds()
	return merge(a, b, r.s.registered(), hist)
}

// Run discovers the pods, reads the token and scrapes every pod once for sel.
func (r refresher) Run(ctx context.Context, sel *selection) (refreshOutcome, error) {
	s := r.s
	progress := &runProgress{}
	s.progress.Store(progress)
	found, err := s.discover(ctx)
	if errors.Is(err, errNoSelector) {
		err = nil // the guide: a Service without a selector has no pods, an empty result
	}
	if err != nil {
		return refreshOutcome{}, err
	}
	targets := found.targets
	progress.stage.Store(stageToken)
	token, err := s.token(ctx)
	if err != nil {
		return refreshOutcome{}, err
	}

	collectedAt := s.config.Clock.Now()
	job := s.newScrapeJob(sel, token)
	// The history the run stores in, taken before it scrapes: when Close lets it go
	// meanwhile, the run still stores in it and its callers read it, as if Close had
	// come after (a new one would hold this scrape alone, every window partial, and the
	// closed source would keep it).
	store, _, storeErr := s.historyNeeds()
	if epoch := s.historyEpoch(store); storeErr == nil && epoch != "" {
		s.points.use(epoch)
		job.points = true
	}
	job.progress = progress
	progress.scraping(targets)
	pods := s.scrapeAll(ctx, targets, job)
	s.points.keep(targets)
	s.recordMetadata(sel, pods)
	s.rememberSize(sel.key, pods)
	s.metrics.observeScrapes(pods)
	if err := ctx.Err(); err != nil {
		return refreshOutcome{}, err // the progress stays at the pods that had not answered
	}
	unready := s.answered.update(&found, pods, collectedAt, s.retention())
	progress.stage.Store(stageStore)
	log := logr.FromContextOrDiscard(ctx)
	for i := range pods {
		switch {
		case pods[i].err != nil:
			log.V(1).Info("pod scrape failed", "service", s.serviceKey(), "pod", pods[i].target.key,
				"reason", ScrapeReason(pods[i].err), "error", pods[i].err.Error())
		case pods[i].dropped > 0:
			log.V(1).Info("pod exposed samples Prometheus would not store (a repeated series: the first kept; a timestamp out of range): dropped",
				"service", s.serviceKey(), "pod", pods[i].target.key, "dropped", pods[i].dropped)
		}
	}
	out := refreshOutcome{sel: sel, pods: pods, collectedAt: collectedAt, evalAt: collectedAt, unready: unready}
	if len(targets) == 0 && found.selected > 0 {
		// Empty, as the guide has it, but not "no load": say why (ScrapeSeries' error).
		out.noReady = fmt.Sprintf("service %s: %s among the %d %s it selects: %s; the answer holds no pod's current samples",
			s.serviceKey(), ErrNoReadyPods, found.selected, leftout.Pods(found.selected), found.noneScraped())
	}
	for i := range pods {
		if pods[i].scrapedAt.After(out.evalAt) {
			out.evalAt = pods[i].scrapedAt
		}
	}
	// Runs never overlap, so the history receives the scrapes in order. It stores what
	// the selection kept for it; a history that cannot be created is reported by the
	// PromQL results (see evalPromQL).
	if store == nil {
		// None when the run began: a PromQL query registered since, or one that could
		// not be created then, tried again.
		store, _, storeErr = s.historyNeeds()
	}
	if storeErr == nil && store != nil {
		// A refresh in the same millisecond as the one before (a clock that does not
		// move) is stored a millisecond later: its queries run there.
		out.store = store
		out.refused, out.evalAt = s.appendHistory(ctx, store, sel.hist, pods, out.evalAt, len(targets) == 0 && len(unready) > 0)
		if job.points {
			s.points.commit(pods, sel.hist) // stored: the pods' next scrapes need not hand those points again
		}
	}
	progress.stage.Store(stageDone)
	return out, nil
}

// Finish builds the results of every query of key (the queries of every caller the
// refresh served) and caches them, unless every pod failed. Refreshes finish in the
// order they ran, so the cache only moves forward.
func (r refresher) Finish(key *selection, out refreshOutcome, err error) (refreshOutcome, error) {
	if err != nil {
		// The run before is no answer any more (the Service gone, the API down): a
		// Refresh of PromQL queries scrapes itself, and says why, instead of answering
		// from it (loopState.recent). Unless this run was only cancelled, every caller
		// having given up: that says nothing of the Service, and a PromQL Refresh
		// scraping itself then would wait for the pod that made them give up.
		if !errors.Is(err, context.Canceled) {
			r.s.loop.finished(&refreshOutcome{err: err})
		}
		return refreshOutcome{}, err
	}
	s := r.s
	pods := out.pods
	results := out.sel.results(pods, key.queries, out.collectedAt)
	if w := s.unreadyWarning(unreadyAnswered, out.unready); w != "" {
		// Every metric-name result would have held their samples, up at least.
		for _, r := range results {
			r.Warnings = []string{w}
		}
	}
	if out.noReady != "" {
		for _, r := range results {
			r.Warnings = append(r.Warnings, out.noReady)
		}
	}
	var errs []error
	for i := range pods {
		if pods[i].err != nil {
			errs = append(errs, pods[i].err)
		}
	}
	done := refreshOutcome{sel: out.sel, results: results, store: out.store, evalAt: out.evalAt, podErr: errors.Join(errs...), refused: out.refused, unready: out.unready, noReady: out.noReady}
	if len(pods) > 0 && len(errs) == len(pods) {
		done.err = fmt.Errorf("refresh service %s: %w (%d %s): %w",
			s.serviceKey(), ErrAllPodsFailed, len(pods), leftout.Pods(len(pods)), done.podErr)
		s.loop.finished(&done)
		return done, done.err
	}
	entries := make([]source.CacheEntry, 0, len(results))
	for _, r := range results {
		entries = append(entries, source.CacheEntry{Result: r})
	}
	s.loop.finished(&done) // before the cache: a reader seeing the results finds the run
	// The age restarts only when results were stored: a scrape for the history alone
	// (the loop's, with no metric-name query to refresh) stored none.
	if s.cache.SetAll(entries, s.config.DefaultTTL) > 0 {
		s.metrics.observeStored()
	}
	return done, nil
}
