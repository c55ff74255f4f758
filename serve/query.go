package serve

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// queryData is the data of a query's answer, as Prometheus encodes it.
type queryData struct {
	ResultType parser.ValueType `json:"resultType"`
	Result     parser.Value     `json:"result"`
}

// queryParams are what a query or query_range request asks.
type queryParams struct {
	expr       string
	start, end time.Time
	step       time.Duration // 0: an instant query
	limit      int
	lookback   time.Duration // the request's lookback_delta; 0: the server's
	opts       promql.QueryOpts
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
	data, warnings, infos, err := s.query(r, ranged)
	s.metrics.observeQuery(endpoint, err)
	if err != nil {
		respondError(w, err)
		return
	}
	respond(w, data, warnings, infos)
}

// query answers a query or query_range request in Prometheus' order of checks, with
// the freshness, availability and window checks of this server around the evaluation.
func (s *Server) query(r *http.Request, ranged bool) (_ *queryData, warnings, infos []string, _ error) {
	if err := r.ParseForm(); err != nil {
		return nil, nil, nil, &apiError{errorBadData, errors.New("error parsing form values: " + err.Error())}
	}
	an, perr := s.analyses.of(r.FormValue("query"))
	if perr == nil && s.cfg.MaxAge > 0 {
		// Scrape before reading the time: the evaluation time must be after the scrape.
		if err := s.freshen(r.Context(), s.mayRead(an.selectors, false)); err != nil {
			return nil, nil, nil, engineError(err)
		}
	}
	p, aerr := s.parseQueryParams(r, ranged)
	if aerr != nil {
		return nil, nil, nil, aerr
	}
	ctx := r.Context()
	if v := r.FormValue("timeout"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			return nil, nil, nil, badParam(err, "timeout")
		}
		if d > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
	}
	var qry promql.Query
	var err error
	if ranged {
		qry, err = s.engine.NewRangeQuery(ctx, s.queryable(p.lookback), p.opts, p.expr, p.start, p.end, p.step)
	} else {
		qry, err = s.engine.NewInstantQuery(ctx, s.queryable(p.lookback), p.opts, p.expr, p.start)
	}
	if err != nil {
		return nil, nil, nil, badParam(err, "query")
	}
	defer qry.Close()
	if perr != nil { // the engine parses as the parser does: unreachable
		return nil, nil, nil, badParam(perr, "query")
	}

	warnings, err = s.availability(s.servicesRead(an.selectors), s.mayRead(an.selectors, true))
	if err != nil {
		return nil, nil, nil, err
	}
	windowWarnings, err := s.partialWindows(an.windows, p.start)
	if err != nil {
		return nil, nil, nil, err
	}
	warnings = append(warnings, windowWarnings...)

	res := qry.Exec(ctx)
	if res.Err != nil {
		return nil, nil, nil, engineError(res.Err)
	}
	engineWarnings, engineInfos := res.Warnings.AsStrings(p.expr, 10, 10)
	warnings = append(warnings, engineWarnings...)
	infos = engineInfos
	value := res.Value
	if p.limit > 0 {
		var truncated bool
		value, truncated = truncate(value, p.limit)
		if truncated {
			warnings = append(warnings, "results truncated due to limit")
		}
	}
	return &queryData{ResultType: value.Type(), Result: emptyNotNull(value)}, warnings, infos, nil
}

// parseQueryParams reads a query's parameters as Prometheus checks them.
func (s *Server) parseQueryParams(r *http.Request, ranged bool) (queryParams, *apiError) {
	p := queryParams{expr: r.FormValue("query")}
	var err error
	if p.limit, err = limitParam(r); err != nil {
		return p, badParam(err, "limit")
	}
	if !ranged {
		if p.start, err = timeParam(r, "time", time.Now()); err != nil {
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
	if v := r.FormValue("lookback_delta"); v != "" {
		if p.lookback, err = parseDuration(v); err != nil {
			return p, &apiError{errorBadData, errors.New("error parsing lookback delta duration: " + err.Error())}
		}
	}
	p.opts = promql.NewPrometheusQueryOpts(false, p.lookback, nil)
	return p, nil
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
