package serve

import (
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"
)

// routes builds the handler of every endpoint, with the methods Prometheus accepts.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	both := func(path string, h http.HandlerFunc) {
		mux.HandleFunc("GET "+path, h)
		mux.HandleFunc("POST "+path, h)
	}
	both("/api/v1/query", s.handleQuery)
	both("/api/v1/query_range", s.handleQueryRange)
	both("/api/v1/series", s.handleSeries)
	both("/api/v1/labels", s.handleLabels)
	mux.HandleFunc("GET /api/v1/label/{name}/values", s.handleLabelValues)
	mux.HandleFunc("GET /api/v1/metadata", s.handleMetadata)
	both("/api/v1/query_exemplars", s.handleExemplars)
	both("/api/v1/format_query", s.handleFormatQuery)
	mux.HandleFunc("GET /api/v1/rules", s.handleRules)
	mux.HandleFunc("GET /api/v1/alerts", s.handleAlerts)
	mux.HandleFunc("GET /api/v1/targets", s.handleTargets)
	mux.HandleFunc("GET /api/v1/status/buildinfo", s.handleBuildInfo)
	mux.HandleFunc("GET /federate", s.handleFederate)
	mux.HandleFunc("GET /-/healthy", s.handleHealthy)
	mux.HandleFunc("GET /-/ready", s.handleReady)
	if s.gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
	}
	return mux
}

// handleExemplars serves /api/v1/query_exemplars: none, as a Prometheus server without
// exemplar storage answers (text expositions carry none here), so Grafana's exemplar
// toggle gets an answer rather than a 404.
func (s *Server) handleExemplars(w http.ResponseWriter, _ *http.Request) {
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
// Prometheus data source for its rules, lists none instead of failing on a 404.
func (s *Server) handleRules(w http.ResponseWriter, _ *http.Request) {
	respond(w, struct {
		Groups []any `json:"groups"`
	}{Groups: []any{}}, nil, nil)
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
