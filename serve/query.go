package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/stats"
)

// queryData is the data of a query's answer, as Prometheus encodes it.
type queryData struct {
	ResultType parser.ValueType `json:"resultType"`
	Result     parser.Value     `json:"result"`
	// Stats are the evaluation's statistics, when the request's stats parameter asks
	// for them (any value, as Prometheus' default renderer reads it); nil: none.
	Stats stats.QueryStats `json:"stats,omitempty"`
}

// queryParams are what a query or query_range request asks.
type queryParams struct {
	expr       string
	start, end time.Time
	step       time.Duration // 0: an instant query
	limit      int
	lookback   time.Duration // the request's lookback_delta; 0: the server's
	timeout    time.Duration // the request's timeout; 0: none
	stats      string        // the request's stats parameter; "": no statistics
	opts       promql.QueryOpts
	// timeless is set for an instant query without a time parameter: it is evaluated at
	// now (evaluationTime). Not start's zero value: that is a time a client may send
	// (0001-01-01T00:00:00Z, or -62135596800, a Go client's zero time.Time), before the
	// history, and evaluated as now it would answer now's values for it.
	timeless bool
}

// handleQuery serves /api/v1/query.
func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	s.serveQuery(w, r, false)
}

// handleQueryRange serves /api/v1/query_range.
func (s *Server) handleQueryRange(w http.ResponseWriter, r *http.Request) {
	s.serveQuery(w, r, true)
}

func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request, ranged bool) {
	endpoint := "query"
	if ranged {
		endpoint = "query_range"
	}
	ans, err := s.query(r, ranged)
	// The engine takes back its result's slices when the query is closed: only once
	// the answer is written.
	defer ans.close()
	s.metrics.observeQuery(endpoint, err)
	if err != nil {
		respondError(w, err)
		return
	}
	respond(w, ans.data, ans.warnings, ans.infos)
}

// answer is a query's answer: its data is the engine's until close.
type answer struct {
	data            *queryData
	warnings, infos []string
	qry             promql.Query // nil: nothing to close
}

func (a *answer) close() {
	if a.qry != nil {
		a.qry.Close()
	}
}

// query answers a query or query_range request in Prometheus' order of checks, with
// the freshness, availability and window checks of this server around the evaluation.
// The caller closes the answer after writing it, also when err is not nil.
func (s *Server) query(r *http.Request, ranged bool) (ans answer, _ error) {
	arrived := time.Now()
	if err := r.ParseForm(); err != nil {
		return ans, &apiError{errorBadData, errors.New("error parsing form values: " + err.Error())}
	}
	p, aerr := s.parseQueryParams(r, ranged)
	if aerr != nil {
		return ans, aerr // before any scrape: a bad request costs the pods nothing
	}
	// One deadline for the whole request, as Prometheus' query timeout bounds it: the
	// wait for a --max-age scrape, the queue for an engine slot and the evaluation
	// together, from the request's arrival.
	timeout := queryTimeout
	if p.timeout > 0 && p.timeout < timeout {
		timeout = p.timeout
	}
	ctx, cancel := context.WithDeadline(r.Context(), arrived.Add(timeout))
	defer cancel()
	an, perr := s.analyses.of(p.expr)
	var late []string
	var lateSvcs []*service
	if perr == nil && s.cfg.MaxAge > 0 && s.scrapesFirst(p, ranged, arrived) {
		var err error
		if late, lateSvcs, err = s.freshen(ctx, arrived.Add(timeout-keptToAnswer(timeout)), timeout, s.servicesWhere(an.selectors, false, (*service).reads)); err != nil {
			return ans, engineError(err)
		}
	}
	if !ranged {
		p.start = s.evaluationTime(p.start, p.timeless, arrived)
		p.end = p.start
	}
	var err error
	if ranged {
		ans.qry, err = s.engine.NewRangeQuery(ctx, s.queryable(p.lookback), p.opts, p.expr, p.start, p.end, p.step)
	} else {
		ans.qry, err = s.engine.NewInstantQuery(ctx, s.queryable(p.lookback), p.opts, p.expr, p.start)
	}
	if err != nil {
		if ctx.Err() != nil {
			// The engine takes a concurrency slot to build the query too: a query that
			// waited for one past its timeout (or whose client left) is that, not a bad
			// parameter.
			return ans, engineError(err)
		}
		return ans, badParam(err, "query")
	}
	if perr != nil { // the engine parses as the parser does: unreachable
		return ans, badParam(perr, "query")
	}

	// From here, every state stored is kept until the query has checked those it must.
	for _, svc := range s.services {
		defer svc.pin()()
	}
	seqs := s.appendSeqs()
	checked := s.states()
	read := s.servicesRead(an.selectors)
	warnings, err := s.availability(r.Context(), an.selectors, read, s.mayRead(an.selectors, true))
	if err != nil {
		return ans, err
	}
	lookback := p.lookback
	if lookback <= 0 {
		lookback = s.cfg.LookbackDelta
	}
	if !ranged {
		if err := tooOldToRead(lateSvcs, p.start, lookback); err != nil {
			return ans, err
		}
		then, err := s.availabilityAt(r.Context(), an.selectors, read, p.start, lookback)
		if err != nil {
			return ans, err
		}
		warnings = append(warnings, then...)
	}
	windows := s.analyses.windowsFor(an, p.expr, p.step, p.start, p.end)
	moved, err := s.availabilityMoved(r.Context(), windows, p.start, p.end, !ranged, lookback)
	if err != nil {
		return ans, err
	}
	warnings = append(warnings, moved...)
	windowWarnings, estimates, narrow, err := s.partialWindows(ctx, windows, p, !ranged)
	if err != nil {
		return ans, err
	}
	if !ranged {
		if err := s.unreadySums(r.Context(), windows, p.start, lookback); err != nil {
			return ans, err
		}
	}
	evaluated := p.expr // the annotations' positions are in it
	if len(narrow) > 0 {
		// A rate reaching before what is held is evaluated over the span held.
		if expr, ok := s.narrowRates(p.expr, p.start, lookback, narrow); ok {
			qry, err := s.engine.NewInstantQuery(ctx, s.queryable(p.lookback), p.opts, expr, p.start)
			if err != nil {
				return ans, engineError(err)
			}
			ans.qry.Close()
			ans.qry, evaluated = qry, expr
		}
	}

	if s.beforeExec != nil {
		s.beforeExec()
	}
	res := ans.qry.Exec(ctx)
	if res.Err != nil {
		return ans, engineError(res.Err)
	}
	// A scrape that landed after the check may be what the evaluation read (every pod
	// of a Service failed: their staleness markers, an empty answer): the states now
	// decide, and so does each state of a scrape that appended since, whose appends the
	// evaluation may have read while its state was not stored yet, or was replaced
	// since by a later one's.
	read = s.servicesRead(an.selectors)
	landed, err := s.landedSince(read, checked, seqs)
	if err != nil {
		return ans, err
	}
	if landed != nil || !s.sameStates(checked) {
		// The checked scrapes' warnings stay: the evaluation, which began after the
		// check, read those scrapes where no later one it read replaced them (a scrape
		// that landed since, begun after the query's time, it read none of), so the pods
		// that failed them are missing from its answer though the latest found them back.
		first := warnings
		may := s.mayRead(an.selectors, true)
		if warnings, err = s.availability(r.Context(), an.selectors, read, may); err != nil {
			return ans, err
		}
		for _, w := range first {
			if !slices.Contains(warnings, w) {
				warnings = append(warnings, w)
			}
		}
		// A landed state's warnings too, of a scrape begun by the evaluation's time: the
		// pods that failed the scrape the evaluation read are missing from its answer
		// though the latest scrape found them back.
		for _, svc := range s.services {
			for _, st := range landed[svc] {
				w, err := s.availabilityOf(an.selectors, []*service{svc}, []*service{svc}, map[*service]*scrapeState{svc: st})
				if err != nil {
					return ans, err
				}
				if st.start.After(p.end) {
					continue // began after the evaluation's time: none of it was read
				}
				for _, w := range w {
					if !slices.Contains(warnings, w) {
						warnings = append(warnings, w)
					}
				}
			}
		}
	}
	// The pods missing from the answer first, then the Services answered from a scrape
	// older than MaxAge: respond keeps the first 10, and the missing pods must never be
	// among those it cuts ("no data" read as "no load").
	ans.warnings = append(ans.warnings, warnings...)
	ans.warnings = append(ans.warnings, late...)
	ans.warnings = append(ans.warnings, windowWarnings...)
	// Unbounded here: respond bounds the answer's warnings and infos, these and serve's
	// together, as Prometheus bounds its annotations.
	engineWarnings, engineInfos := res.Warnings.AsStrings(evaluated, 0, 0)
	ans.warnings = append(ans.warnings, engineWarnings...)
	ans.infos = engineInfos
	value := res.Value
	if empty(value) {
		if err := s.estimateEmpty(estimates); err != nil {
			return ans, err
		}
	}
	if p.limit > 0 {
		var truncated bool
		value, truncated = truncate(value, p.limit)
		if truncated {
			ans.warnings = append(ans.warnings, "results truncated due to limit")
		}
	}
	if warning := statsParamWarning(p.stats); warning != "" {
		ans.warnings = append(ans.warnings, warning)
	}
	ans.data = &queryData{ResultType: value.Type(), Result: emptyNotNull(value)}
	if p.stats != "" {
		ans.data.Stats = stats.NewQueryStats(ans.qry.Stats())
	}
	return ans, nil
}

// tooOldToRead returns the error (HTTP 503) of an instant query evaluated at at, looking
// back lookback, that reads Services late for the scrape MaxAge asked for (freshen),
// answered from their latest scrape, when some pod's samples of that scrape are older
// than the lookback delta then: the evaluation reads none of them, and would answer
// empty, or without those pods, with the late warning alone. Under a MaxAge shorter than
// an interval longer than the lookback delta, a pod that hangs makes every query's scrape
// late (each is cancelled as its query leaves), and the interval's scrape grows so old.
func tooOldToRead(late []*service, at time.Time, lookback time.Duration) error {
	var down []string
	for _, svc := range late {
		if st := svc.state.Load(); st != nil && !st.start.After(at.Add(-lookback)) {
			down = append(down, fmt.Sprintf("service %s: the scrape --max-age asked for did not finish within the query's timeout, and its latest scrape, at %s, is older than the lookback delta of %s before the query's time %s: it has no sample to answer from",
				svc.key, st.start.UTC().Format(warningTime), lookback, at.UTC().Format(warningTime)))
		}
	}
	if len(down) > 0 {
		return &apiError{errorUnavailable, fmt.Errorf("no data to answer from: %s", joinBounded(down, "service"))}
	}
	return nil
}

// evaluationTime is when an instant query asked at t (timeless: with no time parameter)
// is evaluated; arrived is when its request arrived: now when readAsNow, else t.
func (s *Server) evaluationTime(t time.Time, timeless bool, arrived time.Time) time.Time {
	if timeless || s.readAsNow(t, arrived) {
		return time.Now()
	}
	return t
}

// readAsNow reports whether an instant query asked at t is evaluated at now. (Without a
// time, it is too, after the scrape MaxAge may have taken for it, so the answer includes
// that scrape: evaluationTime.) Under MaxAge, a time that is the client's clock's now is
// read as now: evaluated as asked, it falls before the scrape the request waited for, and
// the answer would miss it and be up to an interval old. Such a time is at most MaxAge
// before the request arrived (prometheus-adapter and client_golang send their now to
// the millisecond), or, written to the second, in the second before it (KEDA sends its
// now in RFC 3339, to the second). Any other time is evaluated as asked.
func (s *Server) readAsNow(t, arrived time.Time) bool {
	if s.cfg.MaxAge <= 0 || t.After(arrived) {
		return false
	}
	ago := arrived.Sub(t)
	return ago <= s.cfg.MaxAge || (t.Nanosecond() == 0 && ago < time.Second)
}

// scrapesFirst reports whether a query of parameters p, whose request arrived at
// arrived, scrapes under MaxAge before it is evaluated. An instant query does, whatever
// its time: an autoscaler's (its clock's now, evaluated as now or, past the MaxAge
// window, as asked) reads whether the pods answer from that scrape, so every pod failing
// since the last is a 503, not the last scrape's values. A range query does only when it
// ends after it arrived: one ending earlier (Grafana's, at the browser's now) cannot
// include the scrape, whose samples are later than every step, and scraping for it would
// cost the pods a scrape and each panel a wait per dashboard refresh, and move the
// interval's scrapes (schedule) off the autoscaler's polls.
func (s *Server) scrapesFirst(p queryParams, ranged bool, arrived time.Time) bool {
	return !ranged || p.end.After(arrived)
}

// parseQueryParams reads a query's parameters as Prometheus checks them.
func (s *Server) parseQueryParams(r *http.Request, ranged bool) (queryParams, *apiError) {
	p := queryParams{expr: r.FormValue("query")}
	var err error
	if p.limit, err = limitParam(r); err != nil {
		return p, badParam(err, "limit")
	}
	if !ranged {
		// Absent, the evaluation time is taken after the scrape (evaluationTime).
		p.timeless = r.FormValue("time") == ""
		if p.start, err = timeParam(r, "time", time.Time{}); err != nil {
			return p, badParam(err, "time")
		}
		p.end = p.start
	} else {
		if p.start, err = parseTime(r.FormValue("start")); err != nil {
			return p, badParam(err, "start")
		}
		if p.end, err = parseTime(r.FormValue("end")); err != nil {
			return p, badParam(err, "end")
		}
		if p.end.Before(p.start) {
			return p, badParam(errors.New("end timestamp must not be before start time"), "end")
		}
		if p.step, err = parseDuration(r.FormValue("step")); err != nil {
			return p, badParam(err, "step")
		}
		if p.step <= 0 {
			return p, badParam(errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer"), "step")
		}
		if p.end.Sub(p.start)/p.step > 11000 {
			return p, &apiError{errorBadData, errors.New("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")}
		}
	}
	if v := r.FormValue("timeout"); v != "" {
		if p.timeout, err = parseDuration(v); err != nil {
			return p, badParam(err, "timeout")
		}
		if p.timeout <= 0 {
			return p, badParam(fmt.Errorf("timeout must be positive, got %s", p.timeout), "timeout")
		}
	}
	if v := r.FormValue("lookback_delta"); v != "" {
		if p.lookback, err = parseDuration(v); err != nil {
			return p, &apiError{errorBadData, errors.New("error parsing lookback delta duration: " + err.Error())}
		}
	}
	p.stats = r.FormValue("stats")
	// Per-step statistics are asked with stats=all, and given only by an engine that
	// enables them, which Prometheus' does not by default (its promql-per-step-stats
	// feature) and serve's does not.
	p.opts = promql.NewPrometheusQueryOpts(p.stats == "all", p.lookback, nil)
	return p, nil
}

// statsParamWarning is the warning Prometheus adds to an answer whose stats parameter is
// neither empty nor one of the values it documents ("true", "all"); "" when it adds none.
func statsParamWarning(v string) string {
	switch v {
	case "", "true", "all":
		return ""
	}
	return fmt.Sprintf("value %q for parameter \"stats\" is deprecated and will be rejected in the next major release, use %q or %q", v, "true", "all")
}

// truncate keeps the first limit series of a vector or matrix.
func truncate(v parser.Value, limit int) (parser.Value, bool) {
	switch x := v.(type) {
	case promql.Vector:
		if len(x) > limit {
			return x[:limit], true
		}
	case promql.Matrix:
		if len(x) > limit {
			return x[:limit], true
		}
	}
	return v, false
}

// empty reports whether v is a vector or matrix without a series.
func empty(v parser.Value) bool {
	switch x := v.(type) {
	case promql.Vector:
		return len(x) == 0
	case promql.Matrix:
		return len(x) == 0
	}
	return false
}

// emptyNotNull returns an empty vector or matrix as a non-nil one, which encodes as []
// as Prometheus answers, not null.
func emptyNotNull(v parser.Value) parser.Value {
	switch x := v.(type) {
	case promql.Vector:
		if x == nil {
			return promql.Vector{}
		}
	case promql.Matrix:
		if x == nil {
			return promql.Matrix{}
		}
	}
	return v
}
