package serve

import (
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"
)

// routes builds the handler of every endpoint, with the methods Prometheus accepts.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(path string, h http.HandlerFunc, post bool) {
		h = compressed(formParsed(h))
		m := methods{http.MethodGet: h, http.MethodOptions: handleOptions}
		if post {
			m[http.MethodPost] = h
		}
		mux.Handle("/api/v1/"+path, m)
	}
	api("query", s.handleQuery, true)
	api("query_range", s.handleQueryRange, true)
	api("series", s.handleSeries, true)
	api("labels", s.handleLabels, true)
	api("label/{name}/values", s.handleLabelValues, false)
	api("metadata", s.handleMetadata, false)
	api("query_exemplars", s.handleExemplars, true)
	api("format_query", s.handleFormatQuery, true)
	api("rules", s.handleRules, false)
	api("alerts", s.handleAlerts, false)
	api("targets", s.handleTargets, false)
	api("status/buildinfo", s.handleBuildInfo, false)
	// Prometheus' API answers OPTIONS on any path under it, served or not.
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			handleOptions(w, r)
			return
		}
		http.NotFound(w, r)
	})
	mux.Handle("/federate", methods{http.MethodGet: compressed(s.handleFederate)})
	mux.Handle("/-/healthy", methods{http.MethodGet: s.handleHealthy, http.MethodHead: s.handleHealthy})
	mux.Handle("/-/ready", methods{http.MethodGet: s.handleReady, http.MethodHead: s.handleReady})
	if s.gatherer != nil {
		mux.Handle("/metrics", methods{http.MethodGet: promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}).ServeHTTP})
	}
	return mux
}

// formParsed parses a request's form before h reads its parameters: the query string,
// and a url-encoded body, which Go reads up to 10 MB. A multipart body is not read:
// r.FormValue would parse it whole, whatever its size, keeping 32 MB in memory and
// writing the rest to the temporary directory.
func formParsed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			respondError(w, &apiError{errorBadData, errors.New("error parsing form values: " + err.Error())})
			return
		}
		h(w, r)
	}
}

// methods routes one path's requests by method as Prometheus' router (httprouter) does.
// A ServeMux pattern "GET /path" does not: it serves HEAD as GET, where Prometheus
// answers 405 (its probes aside), and OPTIONS 405, where Prometheus answers 200. A method
// without a handler is 405 with an Allow header listing the path's methods and OPTIONS;
// OPTIONS without a handler is 200 with that header alone. routes does not change it
// once built, so it is safe for concurrent use.
type methods map[string]http.HandlerFunc

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := m[r.Method]; ok {
		h(w, r)
		return
	}
	allowed := []string{http.MethodOptions}
	for method := range m {
		if method != http.MethodOptions {
			allowed = append(allowed, method)
		}
	}
	slices.Sort(allowed)
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	if r.Method == http.MethodOptions {
		return
	}
	http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
}

// handleOptions answers OPTIONS on the API as Prometheus does (its CORS preflight): 204,
// no body. The Access-Control headers Prometheus adds when the request has an Origin are
// left out: serve's other answers carry none, so a browser's cross-origin call would fail
// at them anyway.
func handleOptions(w http.ResponseWriter, _ *http.Request) {
	w.Header().Add("Vary", "Origin")
	w.WriteHeader(http.StatusNoContent)
}

// handleExemplars serves /api/v1/query_exemplars: none, as a Prometheus server without
// exemplar storage answers (text expositions carry none here), so Grafana's exemplar
// toggle gets an answer rather than a 404. Its parameters are checked as Prometheus
// checks them: a bad start, end or expression is 400, not an empty answer. An
// expression without a selector (1+1) answers [] too, where Prometheus answers 204 with
// no body, which client_golang's QueryExemplars fails to decode.
func (s *Server) handleExemplars(w http.ResponseWriter, r *http.Request) {
	start, err := timeParam(r, "start", minTime)
	if err != nil {
		respondError(w, badParam(err, "start"))
		return
	}
	end, err := timeParam(r, "end", maxTime)
	if err != nil {
		respondError(w, badParam(err, "end"))
		return
	}
	if end.Before(start) {
		respondError(w, &apiError{errorBadData, errors.New("end timestamp must not be before start timestamp")})
		return
	}
	if _, err := s.parser.ParseExpr(r.FormValue("query")); err != nil {
		respondError(w, &apiError{errorBadData, err})
		return
	}
	respond(w, []any{}, nil, nil)
}

// handleFormatQuery serves /api/v1/format_query: the expression pretty-printed, as
// Prometheus formats it (Grafana's query editor's "Format query").
func (s *Server) handleFormatQuery(w http.ResponseWriter, r *http.Request) {
	expr, err := s.parser.ParseExpr(r.FormValue("query"))
	if err != nil {
		respondError(w, badParam(err, "query"))
		return
	}
	respond(w, expr.Pretty(0), nil, nil)
}

// handleRules serves /api/v1/rules: no rule groups, as a Prometheus server without rule
// files answers (serve evaluates no rules), so Grafana's alerting view, which asks every
// Prometheus data source for its rules, lists none instead of failing on a 404. Its
// parameters are checked as Prometheus checks them: a bad one is 400, not an empty list.
func (s *Server) handleRules(w http.ResponseWriter, r *http.Request) {
	if err := s.checkRulesParams(r); err != nil {
		respondError(w, err)
		return
	}
	respond(w, struct {
		Groups []any `json:"groups"`
	}{Groups: []any{}}, nil, nil)
}

// checkRulesParams checks a rules request's parameters in Prometheus' order, with its
// messages: match[], type, exclude_alerts, then the pagination of groups, whose token
// can name no group here.
func (s *Server) checkRulesParams(r *http.Request) *apiError {
	if _, err := parseMatchers(s.parser, r.Form["match[]"]); err != nil {
		return &apiError{errorBadData, err}
	}
	query := r.URL.Query()
	if typ := strings.ToLower(query.Get("type")); typ != "" && typ != "alert" && typ != "record" {
		return badParam(fmt.Errorf("not supported value %q", typ), "type")
	}
	if v := strings.ToLower(query.Get("exclude_alerts")); v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return badParam(fmt.Errorf("error converting exclude_alerts: %w", err), "exclude_alerts")
		}
	}
	limit, token := query.Get("group_limit"), query.Get("group_next_token")
	if token != "" && limit == "" {
		return badParam(errors.New("group_limit needs to be present in order to paginate over the groups"), "group_next_token")
	}
	if limit != "" {
		n, err := strconv.ParseInt(limit, 10, 32)
		if err != nil {
			return badParam(fmt.Errorf("group_limit needs to be a valid number: %w", err), "group_limit")
		}
		if n <= 0 {
			return badParam(errors.New("group_limit needs to be greater than 0"), "group_limit")
		}
		if token != "" {
			return badParam(fmt.Errorf("invalid group_next_token '%v'. were rule groups changed?", token), "group_next_token")
		}
	}
	return nil
}

// handleAlerts serves /api/v1/alerts: no alerts, as a Prometheus server without rules
// answers.
func (s *Server) handleAlerts(w http.ResponseWriter, _ *http.Request) {
	respond(w, struct {
		Alerts []any `json:"alerts"`
	}{Alerts: []any{}}, nil, nil)
}

// handleHealthy serves /-/healthy: the process answers.
func (s *Server) handleHealthy(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("Podscrape serve is Healthy.\n"))
}

// handleReady serves /-/ready: 200 once every Service has been scraped once, else 503,
// as Prometheus' while its storage starts.
func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	if !s.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("Service Unavailable: not every Service has been scraped yet\n"))
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("Podscrape serve is Ready.\n"))
}

// buildInfo is the data of /api/v1/status/buildinfo.
type buildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Branch    string `json:"branch"`
	BuildUser string `json:"buildUser"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
}

// handleBuildInfo serves /api/v1/status/buildinfo: Grafana reads it to tell which
// Prometheus flavour it talks to.
func (s *Server) handleBuildInfo(w http.ResponseWriter, _ *http.Request) {
	respond(w, buildInfo{Version: s.cfg.Version, GoVersion: runtime.Version()}, nil, nil)
}

// promDuration formats d as Prometheus writes durations (15s, 1m30s).
func promDuration(d time.Duration) string { return model.Duration(d).String() }
