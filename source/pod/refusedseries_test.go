package pod

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
)

// A refused sample puts its error only on the PromQL results whose selectors match its
// series: a selector of the same metric that leaves that series out answers without it.
func TestPromQLRefusedSeriesFailOnlyTheirSelectors(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	_, cfg := startBodyPod(t, fmt.Sprintf("q{k=\"skewed\"} 5 %d\nq{k=\"ok\"} 7\nother 1\n", t0.Add(20*time.Minute).UnixMilli()))
	s, _ := fakeClockSource(t, cfg, t0, []source.QueryTemplate{
		{Name: "ok", Template: `sum(q{k="ok"})`},
		{Name: "not_skewed", Template: `sum(q{k!="skewed"})`},
		{Name: "other", Template: `sum(other)`},
		{Name: "skewed", Template: `sum(q{k="skewed"})`},
		{Name: "all", Template: `sum(q)`},
		{Name: "any", Template: `count({k=~"sk.*"})`},
	})
	rs := mustRefresh(t, s)
	for name, want := range map[string]bool{"ok": false, "not_skewed": false, "other": false, "skewed": true, "all": true, "any": true} {
		if got := errors.Is(rs[name].Error, ErrSampleAhead); got != want {
			t.Errorf("%s: got Error %v; want ErrSampleAhead %t", name, rs[name].Error, want)
		}
	}
	if r := rs["ok"]; r.FirstValue().Value != 7 {
		t.Errorf("ok: got %v, want 7", r.Values)
	}
}
