package prometheus

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/podscrape/podscrape/source"
)

// thanosServer answers as Thanos Query does with a store down: without
// partial_response=false, status success with what the other stores hold and a warning;
// with it, 422. It sends the query string of each request's URL to sent.
func thanosServer(t *testing.T, sent chan<- url.Values) *apiServer {
	return newAPIServer(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		sent <- r.URL.Query()
		if r.Form.Get("partial_response") == "false" {
			writeJSON(w, http.StatusUnprocessableEntity, `{"status":"error","errorType":"execution","error":"fetch series: store 10.0.0.7:10901 unavailable"}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"3"]}]},`+
			`"warnings":["receive series from Addr: 10.0.0.7:10901: rpc error: code = Unavailable"]}`)
	})
}

// NewAPI asks for whole answers: with a store down, the query fails (no values, not
// cached) instead of answering a partial sum with a warning and no Error, which reads as
// the whole. A URL that sets partial_response itself is sent as written: "true" accepts
// the partial answer, "false" is not sent twice; its other parameters are kept.
func TestPartialResponsesRefusedUnlessTheURLAcceptsThem(t *testing.T) {
	const query = "sum(vllm:num_requests_waiting)"
	for _, tc := range []struct {
		name      string
		suffix    string // appended to the server's URL
		wantSent  url.Values
		wantError bool
	}{
		{"default: whole answers", "", url.Values{"partial_response": {"false"}}, true},
		{"URL accepts partial answers", "/?partial_response=true", url.Values{"partial_response": {"true"}}, false},
		{"URL asks for whole answers", "/?partial_response=false", url.Values{"partial_response": {"false"}}, true},
		{"another parameter kept", "/?dedup=true", url.Values{"dedup": {"true"}, "partial_response": {"false"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent := make(chan url.Values, 1)
			srv := thanosServer(t, sent)
			a, err := NewAPI(ClientConfig{URL: srv.URL + tc.suffix})
			if err != nil {
				t.Fatal(err)
			}
			s := NewPrometheusSource(t.Context(), a, fastConfig())
			register(t, s, query)
			results, _ := s.Refresh(t.Context(), source.RefreshSpec{})
			r := results[query]
			got := <-sent
			for name, want := range tc.wantSent {
				if !slices.Equal(got[name], want) {
					t.Errorf("%s in the request URL: got %q, want %q", name, got[name], want)
				}
			}
			if tc.wantError {
				var apiErr *v1.Error
				if !errors.As(r.Error, &apiErr) || !strings.Contains(r.Error.Error(), "store 10.0.0.7:10901 unavailable") || len(r.Values) != 0 {
					t.Errorf("a store down: got values %v, Error %v; want no values and Thanos' error", r.Values, r.Error)
				}
				if s.Get(query, nil) != nil {
					t.Error("a store down: the failed query was cached")
				}
				return
			}
			if r.Error != nil || r.FirstValue().Value != 3 || len(r.Warnings) != 1 {
				t.Errorf("partial answers accepted: got values %v, Error %v, warnings %q; want 3 with Thanos' warning", r.Values, r.Error, r.Warnings)
			}
		})
	}
}

// Thanos Query up to v0.30 answers a query no store matched (every sidecar gone from its
// endpoints, a store's external labels no longer matching) with "success", an empty
// result and the warning "No StoreAPIs matched for this query", whatever
// partial_response says (thanos-io/thanos v0.30.0 pkg/store/proxy.go:281-283; v0.31
// dropped the warning, #6082). That empty answer read as no load, cached: it is now an
// Error wrapping ErrPartialAnswer, not cached, also when the URL accepts partial
// answers (no store answered: nothing is partial, it is none).
func TestNoStoreMatchedIsNoAnswer(t *testing.T) {
	const query = "sum(vllm:num_requests_waiting)"
	for _, suffix := range []string{"", "/?partial_response=true"} {
		t.Run("URL"+suffix, func(t *testing.T) {
			srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, _ int) {
				writeJSON(w, http.StatusOK, `{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["No StoreAPIs matched for this query"]}`)
			})
			a, err := NewAPI(ClientConfig{URL: srv.URL + suffix})
			if err != nil {
				t.Fatal(err)
			}
			s := NewPrometheusSource(t.Context(), a, fastConfig())
			register(t, s, query)
			results, _ := s.Refresh(t.Context(), source.RefreshSpec{})
			r := results[query]
			var qe *QueryError
			if !errors.As(r.Error, &qe) || !errors.Is(r.Error, ErrPartialAnswer) || !strings.Contains(r.Error.Error(), "No StoreAPIs matched") {
				t.Errorf("got values %v, Error %v; want a *QueryError wrapping ErrPartialAnswer quoting Thanos' warning", r.Values, r.Error)
			}
			if s.Get(query, nil) != nil {
				t.Error("an answer of no store was cached")
			}
		})
	}
}
