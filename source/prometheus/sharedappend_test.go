package prometheus

import (
	"net/http"
	"testing"

	"github.com/podscrape/podscrape/source"
)

// TestAppendToASharedResultCopies: a result's Values and Warnings are shared by every
// caller of Refresh and Get, and appending to them is what ordinary code does with a
// slice it reads (append(r.Values, other.Values...), append(r.Warnings, note)). Such an
// append must copy: with room left behind the slice's length, two readers appending to
// the same result wrote into the same shared array, racing, each one's appended element
// overwritten by the other's. A vector with a native histogram left out had such room
// in its Values, and an answer with a warning, an info and that note in its Warnings.
func TestAppendToASharedResultCopies(t *testing.T) {
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, _ int) {
		writeJSON(w, http.StatusOK, `{"status":"success","data":{"resultType":"vector","result":[`+
			`{"metric":{"pod":"a"},"histogram":[1700000000.25,{"count":"1","sum":"1","buckets":[[0,"0","1","1"]]}]},`+
			`{"metric":{"pod":"b"},"value":[1700000000.25,"3"]}]},"warnings":["w1"],"infos":["i1"]}`)
	})
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), fastConfig())
	register(t, s, "q")
	refreshed, err := s.Refresh(t.Context(), source.RefreshSpec{})
	if err != nil {
		t.Fatal(err)
	}
	cached := s.Get("q", nil)
	if cached == nil {
		t.Fatal("Get: nil, want the result just refreshed")
	}
	for from, r := range map[string]*source.MetricResult{"Refresh": refreshed["q"], "Get": &cached.Result} {
		if len(r.Values) == 0 || len(r.Warnings) == 0 {
			t.Fatalf("%s: got %d values and warnings %q, want some of each", from, len(r.Values), r.Warnings)
		}
		mine := append(r.Values, source.MetricValue{Value: 1})
		_ = append(r.Values, source.MetricValue{Value: 2}) // another reader's
		if got := mine[len(mine)-1].Value; got != 1 {
			t.Errorf("%s: the value appended to Values reads %g after another reader appended to them, want 1", from, got)
		}
		notes := append(r.Warnings, "mine")
		_ = append(r.Warnings, "theirs")
		if got := notes[len(notes)-1]; got != "mine" {
			t.Errorf("%s: the warning appended to Warnings reads %q after another reader appended to them, want %q", from, got, "mine")
		}
	}
}
