package prometheus

import (
	"errors"
	"testing"

	"github.com/podscrape/podscrape/source"
)

// A template that cannot be filled (a missing param, a value refused where it stands)
// fails its query with a *QueryError, as every other failure does and as Refresh's doc
// promises: errors.As finds it, with the query's name, no expression (none was sent),
// and the fill error as its cause. The message names the query once.
func TestTemplateFailureIsAQueryError(t *testing.T) {
	srv := okServer(t)
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), fastConfig())
	s.QueryList().MustRegister(source.QueryTemplate{Name: "q", Type: source.QueryTypePromQL, Params: []string{"modelID"},
		Template: `x{model_name="{{.modelID}}"} > {{.threshold}}`})
	for _, tc := range []struct {
		name   string
		params map[string]string
		want   string
	}{
		{"missing param", map[string]string{"threshold": "1"}, `query "q": parameter "modelID" is missing`},
		{"value refused", map[string]string{"modelID": "m", "threshold": "1 or vector(1)"},
			`query "q": parameter "threshold": value "1 or vector(1)" stands outside a string literal and is not a number, duration or name (letters, digits, '_', ':', '.')`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			results, err := s.Refresh(t.Context(), source.RefreshSpec{Params: tc.params})
			r := results["q"]
			var qe *QueryError
			if r == nil || !errors.As(r.Error, &qe) || qe.Query != "q" || qe.Expr != "" || qe.Attempts != 0 {
				t.Fatalf("got %T %v; want a *QueryError for q with no expression and no attempt", r.Error, r.Error)
			}
			if got := r.Error.Error(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if !errors.Is(err, ErrAllQueriesFailed) || len(srv.received()) != 0 {
				t.Errorf("Refresh error %v after %d requests; want ErrAllQueriesFailed and no request", err, len(srv.received()))
			}
		})
	}
}
