package parity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/prometheus"
)

// TestServerFailures runs a PrometheusSource through a proxy in front of the real
// Prometheus server: bad PromQL (400, 422) fails its query alone with the server's
// message and is never retried; a query the server holds past QueryTimeout fails alone;
// the server stopped fails every query (connection refused, straight to it) while Get
// keeps the last answer; a new server behind the same address answers again.
func TestServerFailures(t *testing.T) {
	ctx := t.Context()
	f := newFleet(t, ctx, 2, 0, 1)
	const targets = 3
	promA := f.prometheus(t, ctx)
	px := newProxy(t, promA.URL)
	api, err := prometheus.NewAPI(prometheus.ClientConfig{URL: px.URL})
	if err != nil {
		t.Fatal(err)
	}
	src := prometheus.NewPrometheusSource(ctx, api, prometheus.PrometheusSourceConfig{
		DefaultTTL: time.Hour, QueryTimeout: 2 * time.Second, RetryBackoff: 10 * time.Millisecond,
	})
	sel := fmt.Sprintf(`up{namespace=%q}`, f.namespace)
	queries := map[string]string{
		"targets":      "count(" + sel + ")",
		"up_sum":       "sum(" + sel + ")",
		"bad_syntax":   "sum(" + sel,
		"many_to_many": sel + " * on() " + sel,
	}
	for name, expr := range queries {
		src.QueryList().MustRegister(source.QueryTemplate{Name: name, Type: source.QueryTypePromQL, Template: expr})
	}
	waitScraped(t, ctx, promA, time.Now(), targets)

	t.Run("bad PromQL", func(t *testing.T) {
		results, err := src.Refresh(ctx, source.RefreshSpec{Queries: []string{"targets", "bad_syntax", "many_to_many"}})
		if err != nil {
			t.Fatalf("got %v, want nil: targets answered", err)
		}
		if v := results["targets"].FirstValue().Value; results["targets"].Error != nil || v != targets {
			t.Errorf("targets: got %v, %v; want %d", v, results["targets"].Error, targets)
		}
		for _, tt := range []struct {
			name, message string
			status        int
			errorType     v1.ErrorType
		}{
			{"bad_syntax", "parse error", 400, v1.ErrBadData},
			{"many_to_many", "many-to-many matching not allowed", 422, v1.ErrExec},
		} {
			r := results[tt.name]
			var apiErr *v1.Error
			if !errors.As(r.Error, &apiErr) || apiErr.Type != tt.errorType || !strings.Contains(r.Error.Error(), tt.message) {
				t.Errorf("%s: got %v, want a %s error with the server's %q", tt.name, r.Error, tt.errorType, tt.message)
			}
			if got := px.statuses(queries[tt.name]); !slices.Equal(got, []int{tt.status}) {
				t.Errorf("%s: the server answered %v, want one %d and no retry", tt.name, got, tt.status)
			}
			if len(r.Values) != 0 || src.Get(tt.name, nil) != nil {
				t.Errorf("%s: got values %v or a cached value, want neither", tt.name, r.Values)
			}
		}
	})

	t.Run("slow", func(t *testing.T) {
		px.hold("count(")
		defer px.hold("")
		results, err := src.Refresh(ctx, source.RefreshSpec{Queries: []string{"targets", "up_sum"}})
		if err != nil {
			t.Fatalf("got %v, want nil: up_sum answered", err)
		}
		if e := results["targets"].Error; !errors.Is(e, context.DeadlineExceeded) {
			t.Errorf("targets: got %v, want context.DeadlineExceeded", e)
		}
		if r := results["up_sum"]; r.Error != nil || r.FirstValue().Value != targets {
			t.Errorf("up_sum: got %v, %v; want %d", r.FirstValue().Value, r.Error, targets)
		}
		if got := src.Get("targets", nil); got == nil || got.Result.FirstValue().Value != targets {
			t.Errorf("targets after a timeout: got %+v, want the cached %d", got, targets)
		}
	})

	t.Run("stopped, then restarted", func(t *testing.T) {
		if err := promA.Stop(); err != nil {
			t.Fatal(err)
		}
		// Straight to the stopped server: connection refused, every query fails.
		direct, err := prometheus.NewAPI(prometheus.ClientConfig{URL: promA.URL})
		if err != nil {
			t.Fatal(err)
		}
		down := prometheus.NewPrometheusSource(ctx, direct, prometheus.PrometheusSourceConfig{QueryTimeout: 200 * time.Millisecond, RetryBackoff: 10 * time.Millisecond})
		down.QueryList().MustRegister(source.QueryTemplate{Name: "targets", Type: source.QueryTypePromQL, Template: queries["targets"]})
		results, err := down.Refresh(ctx, source.RefreshSpec{})
		if !errors.Is(err, prometheus.ErrAllQueriesFailed) || !errors.Is(results["targets"].Error, syscall.ECONNREFUSED) {
			t.Errorf("stopped server: got %v (result: %v), want ErrAllQueriesFailed and connection refused", err, results["targets"].Error)
		}

		// Through the proxy: 502, retried, then the query fails; the cache keeps its value.
		results, err = src.Refresh(ctx, source.RefreshSpec{Queries: []string{"targets"}})
		if !errors.Is(err, prometheus.ErrAllQueriesFailed) || !strings.Contains(fmt.Sprint(results["targets"].Error), "502") {
			t.Errorf("behind the proxy: got %v (result: %v), want ErrAllQueriesFailed and the 502", err, results["targets"].Error)
		}
		var qerr *prometheus.QueryError
		if !errors.As(results["targets"].Error, &qerr) || qerr.Attempts < 2 {
			t.Errorf("behind the proxy: got %v, want retries", results["targets"].Error)
		}
		if got := src.Get("targets", nil); got == nil || got.Result.FirstValue().Value != targets {
			t.Errorf("targets while down: got %+v, want the cached %d", got, targets)
		}

		promB := f.prometheus(t, ctx)
		px.point(t, promB.URL)
		deadline := time.Now().Add(60 * time.Second)
		for {
			results, err := src.Refresh(ctx, source.RefreshSpec{Queries: []string{"targets"}})
			r := results["targets"]
			if err == nil && r.Error == nil && r.FirstValue().Value == targets {
				if got := src.Get("targets", nil); !got.Result.CollectedAt.Equal(r.CollectedAt) {
					t.Errorf("cache after the restart: got %s, want the new answer of %s", got.Result.CollectedAt, r.CollectedAt)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the restarted server did not answer within 60s: %v, %+v", err, r)
			}
			select {
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	})
}
