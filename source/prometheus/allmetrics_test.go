package prometheus

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/source"
)

// TestAllMetricsIsNoEmptyAnswer: a program moving from the pod source registers the
// guide's all_metrics query on this one too (a metric-name query whose Template is
// all_metrics: every sample of every pod there). A server holds no metric of that name:
// sent as a selector it answered an empty vector, with no Error, where the pod source
// answers every sample: "no load" from a query that cannot answer. It fails, naming the
// query and what to do, with no request sent, and nothing cached.
func TestAllMetricsIsNoEmptyAnswer(t *testing.T) {
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, _ int) {
		writeJSON(w, http.StatusOK, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	})
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), fastConfig())
	s.QueryList().MustRegister(source.QueryTemplate{Name: "all_metrics", Type: source.QueryTypeMetricName, Template: "all_metrics"})
	s.QueryList().MustRegister(source.QueryTemplate{Name: "waiting", Type: source.QueryTypeMetricName, Template: "vllm:num_requests_waiting"})

	results, err := s.Refresh(t.Context(), source.RefreshSpec{Queries: []string{"all_metrics"}})
	r := results["all_metrics"]
	var qe *QueryError
	if r == nil || !errors.As(r.Error, &qe) || len(r.Values) != 0 || !strings.Contains(r.Error.Error(), "all_metrics") {
		t.Fatalf("all_metrics: got %+v; want no values and a QueryError naming it", r)
	}
	if !errors.Is(err, ErrAllQueriesFailed) {
		t.Errorf("Refresh: got %v, want ErrAllQueriesFailed", err)
	}
	if n := srv.count("all_metrics"); n != 0 {
		t.Errorf("the server was asked for all_metrics %d times, want never", n)
	}
	if c := s.Get("all_metrics", nil); c != nil {
		t.Errorf("cached: %+v, want nothing", c)
	}
	// A metric of its own name still answers as a selector.
	results, err = s.Refresh(t.Context(), source.RefreshSpec{Queries: []string{"waiting"}})
	if err != nil || results["waiting"].Error != nil {
		t.Errorf("waiting: %v, %v; want an answer", err, results["waiting"].Error)
	}
}
