package history

import (
	"context"
	"testing"
	"time"
)

// TestAppendLatest: AppendStats.Latest is where a query reads the whole Append: the
// scrape's time, a millisecond later for each append in the same millisecond (samples and
// markers alike), never a sample's own timestamp ahead of its scrape.
func TestAppendLatest(t *testing.T) {
	h := newHistory(t, Options{})
	ms := time.Millisecond
	steps := []struct {
		what    string
		at      time.Time
		scrapes []Scrape
		want    time.Time
	}{
		{"first scrape", t0, []Scrape{scrape("a", t0, "x", 1.0, "y", 1.0)}, t0},
		{"same millisecond", t0, []Scrape{scrape("a", t0, "x", 2.0, "y", 2.0)}, t0.Add(ms)},
		{"a marker alone moves it", t0, []Scrape{scrape("a", t0, "y", 3.0), scrape("b", t0, "z", 1.0)}, t0.Add(2 * ms)},
		{"a vanished target's markers", t0, []Scrape{{Target: "c", Time: t0}}, t0.Add(3 * ms)},
		{"own timestamps ahead do not", t0.Add(time.Second), []Scrape{{Target: "d", Time: t0.Add(time.Second), Samples: []Sample{own("d", "w", t0.Add(5*time.Minute), 1)}}}, time.Time{}},
		{"a moving clock", t0.Add(2 * time.Second), []Scrape{scrape("a", t0.Add(2*time.Second), "y", 4.0)}, t0.Add(2 * time.Second)},
	}
	for _, st := range steps {
		got, err := h.Append(context.Background(), st.at, st.scrapes)
		if err != nil {
			t.Fatalf("%s: %v", st.what, err)
		}
		if !got.Latest.Equal(st.want) {
			t.Errorf("%s: Latest = %s, want %s", st.what, got.Latest.Sub(t0), st.want.Sub(t0))
		}
	}
	// At Latest of the third append, x (vanished) is stale and y reads 3.
	if got := query(t, h, `x{pod="a"}`, t0.Add(2*ms)); len(got) != 0 {
		t.Errorf("x at t0+2ms = %v, want nothing: marked stale in the same millisecond", got)
	}
}
