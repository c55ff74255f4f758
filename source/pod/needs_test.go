package pod

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// Every position a placeholder can take: where a metric name could stand, what the
// template reads is known only with its params (byParams); elsewhere it is the names the
// template reads, or every metric.
func TestTemplateReads(t *testing.T) {
	for _, tc := range []struct {
		template      string
		names         []string
		all, byParams bool
	}{
		{`sum(rate(x{namespace="{{.namespace}}",model_name="{{.modelID}}"}[5m]))`, []string{"x"}, false, false},
		{`sum(increase(x_total{a="b"}[{{.retentionPeriod}}]))`, []string{"x_total"}, false, false},
		{`x[{{.range}}:{{.step}}]`, []string{"x"}, false, false},
		{`quantile_over_time({{.q}}, x[5m])`, []string{"x"}, false, false},
		{`x{pod=~"{{.podFilter}}"}`, []string{"x"}, false, false},
		{`label_replace(x, "dst", "{{.v}}", "src", "(.*)")`, []string{"x"}, false, false},
		{`x offset {{.offset}}`, []string{"x"}, false, false},
		{`topk({{.k}}, x)`, []string{"x"}, false, false},
		{`x / y`, []string{"x", "y"}, false, false},
		{`{__name__="{{.metric}}"}`, nil, false, true},
		{`{__name__="{{.metric}}", pod!=""}`, nil, false, true},
		{`{"{{.metric}}"}`, nil, false, true},
		{`{{.metric}}`, nil, false, true},
		{`{{.metric}}{a="b"}`, nil, false, true},
		{`{{.metric}}_total`, nil, false, true},
		{`vllm:{{.metric}}`, nil, false, true},
		{`rate({{.metric}}[5m])`, nil, false, true},
		{`sum by (pod) ({{.metric}})`, nil, false, true},
		{`x + {{.other}}`, nil, false, true},
		{`{__name__=~"vllm:.*"}`, nil, true, false},
		{`{__name__=~"{{.re}}"}`, nil, true, false},
		{`sum by ({{.label}}) (x)`, nil, true, false}, // does not parse filled: every metric, to be safe
		{`rate(x[5m]`, nil, true, false},
	} {
		names, all, byParams := templateReads(tc.template)
		if all != tc.all || byParams != tc.byParams || !slices.Equal(names, tc.names) {
			t.Errorf("templateReads(%s): got %v, all %t, byParams %t; want %v, all %t, byParams %t",
				tc.template, names, all, byParams, tc.names, tc.all, tc.byParams)
		}
	}
}

func TestCoverageCheck(t *testing.T) {
	at := t0.Add(10 * time.Minute)
	cov := coverage{
		oldest: t0,
		since: storedSince{names: map[string]time.Time{
			"old": t0, "new": at.Add(-2 * time.Minute), "later": at.Add(time.Second),
		}},
	}
	for _, tc := range []struct {
		expr      string
		noHistory bool
		partial   time.Duration // the Held of the PartialWindowError; 0 for none
		warnings  int
	}{
		{`old`, false, 0, 0},
		{`increase(old[10m])`, false, 0, 0},
		{`increase(old[10m] offset 1s)`, false, 10 * time.Minute, 0},
		{`old offset 11m`, false, 10 * time.Minute, 0},
		{`increase(new[5m])`, false, 2 * time.Minute, 0},
		{`rate(new[5m])`, false, 0, 1},
		{`rate(new[5m]) / rate(new[5m])`, false, 0, 1},
		{`rate(new[5m]) + increase(old[5m])`, false, 0, 1},
		{`sum_over_time(rate(new[1m])[3m:])`, false, 2 * time.Minute, 1},
		{`increase(new[5m] @ 100)`, false, 2 * time.Minute, 0},        // pinned before the history
		{`new - first_over_time(new[5m])`, false, 2 * time.Minute, 0}, // the growth over 5m: a lower bound
		{`new`, false, 0, 0},
		{`missing`, true, 0, 0},
		{`later`, true, 0, 0},
		{`{__name__=~"o.*"}`, true, 0, 0},
		{`vector(1)`, false, 0, 0},
		{`rate(old[5m]`, false, 0, 0}, // the evaluation reports it
	} {
		err, warnings, _ := cov.check("q", tc.expr, at)
		var pw *PartialWindowError
		switch {
		case tc.noHistory != errors.Is(err, ErrNoHistory):
			t.Errorf("%s: got %v, want ErrNoHistory %t", tc.expr, err, tc.noHistory)
		case tc.partial > 0 && (!errors.As(err, &pw) || pw.Held != tc.partial || !errors.Is(err, ErrPartialWindow)):
			t.Errorf("%s: got %v, want a partial window with %s held", tc.expr, err, tc.partial)
		case tc.partial == 0 && !tc.noHistory && err != nil:
			t.Errorf("%s: got %v, want no error", tc.expr, err)
		case len(warnings) != tc.warnings:
			t.Errorf("%s: got warnings %q, want %d", tc.expr, warnings, tc.warnings)
		}
	}
	// A window longer than the retention is never covered: the error says why.
	short := cov
	short.retention = 5 * time.Minute
	err, _, _ := short.check("q", `increase(new[10m])`, at)
	var pw *PartialWindowError
	if !errors.As(err, &pw) || pw.Retention != 5*time.Minute ||
		err.Error() != `query "q": increase over 10m0s reaches before the history's oldest scrape (2m0s held; HistoryRetention 5m0s is shorter than the window): partial window` {
		t.Errorf("a window longer than the retention: got %v, want it named", err)
	}
	if err, _, _ := short.check("q", `increase(new[1m])`, at); err != nil {
		t.Errorf("a covered window under a short retention: got %v", err)
	}
	// Storing every metric covers any selector from then on.
	all := coverage{oldest: t0, since: storedSince{all: at.Add(-time.Minute)}}
	if err, _, _ := all.check("q", `increase({__name__=~"o.*"}[1m])`, at); err != nil {
		t.Errorf("every metric stored for 1m, increase over 1m: got %v, want none", err)
	}
	if err, _, _ := all.check("q", `increase(x[2m])`, at); !errors.Is(err, ErrPartialWindow) {
		t.Errorf("every metric stored for 1m, increase over 2m: got %v, want ErrPartialWindow", err)
	}
}

// A name a refresh does not store starts over when stored again; storing every metric
// keeps the names' own times.
func TestStoredSince(t *testing.T) {
	var c storedSince
	names := func(n ...string) storedNames {
		s := storedNames{names: map[string]struct{}{}}
		for _, x := range n {
			s.names[x] = struct{}{}
		}
		return s
	}
	t1, t2, t3 := t0.Add(time.Minute), t0.Add(2*time.Minute), t0.Add(3*time.Minute)
	c.record(names("a"), t0, time.Hour)
	c.record(names("a", "b"), t1, time.Hour)
	c.record(names("b"), t2, time.Hour)
	c.record(names("a", "b"), t3, time.Hour)
	if a, _ := c.from("a"); !a.Equal(t3) {
		t.Errorf("a, dropped at %s and stored again at %s: from %s, want %s", t2, t3, a, t3)
	}
	if b, _ := c.from("b"); !b.Equal(t1) {
		t.Errorf("b, stored since %s: from %s", t1, b)
	}
	all := names("b")
	all.all = true
	c.record(all, t3.Add(time.Minute), time.Hour)
	if b, _ := c.from("b"); !b.Equal(t1) {
		t.Errorf("b once every metric is stored: from %s, want %s", b, t1)
	}
	if x, ok := c.from("x"); !ok || !x.Equal(t3.Add(time.Minute)) {
		t.Errorf("x once every metric is stored: from %s, %t", x, ok)
	}
	if _, ok := c.from("c"); !ok {
		t.Error("c once every metric is stored: not stored")
	}
	c.record(names("b"), t3.Add(2*time.Minute), time.Hour)
	if _, ok := c.from("x"); ok {
		t.Error("x after every metric is no longer stored: still stored")
	}
}
