package llmd_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// The scheduler queries' label filters, on an EPP whose data tells each one apart:
//   - scheduler_dispatch_rate counts successful attempts only (failures grow twice as
//     fast beside them);
//   - scheduler_queue_size falls back to model_name only for series without a
//     target_model_name: a queue of requests for m rewritten to another target is not
//     m's.
func TestSchedulerQueriesLabelFilters(t *testing.T) {
	const model = "m"
	ctx := context.Background()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "epp", PodNames: []string{"epp-0"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC))
	src, err := pod.NewPodScrapingSource(ctx, env.Client, pod.PodScrapingSourceConfig{
		ServiceName: svc.Name, ServiceNamespace: svc.Namespace, MetricsPort: svc.Port, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	if err := llmd.Register(src.QueryList(), llmd.SchedulerQueries()); err != nil {
		t.Fatal(err)
	}
	src.QueryList().MustRegister(source.QueryTemplate{Name: "success_rate", Type: source.QueryTypePromQL,
		Template: `rate(` + llmd.EPPSchedulerAttempts + `{status="success",target_model_name="{{.modelID}}"}[1m])`, Params: []string{source.ParamModelID}})

	refresh := func(modelID string) map[string]*source.MetricResult {
		t.Helper()
		rs, err := src.Refresh(ctx, source.RefreshSpec{Params: map[string]string{source.ParamNamespace: svc.Namespace, source.ParamModelID: modelID}})
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	var rs map[string]*source.MetricResult
	for round := range 3 {
		var b strings.Builder
		attempts := `%s{endpoint_name="vllm-0",port="8000",status=%q,target_model_name=%q} %d` + "\n"
		fmt.Fprintf(&b, attempts, llmd.EPPSchedulerAttempts, "success", model, 30*round)
		fmt.Fprintf(&b, attempts, llmd.EPPSchedulerAttempts, "failure", model, 60*round)
		fmt.Fprintf(&b, "%s{model_name=%q,target_model_name=\"other\"} 5\n", llmd.EPPFlowControlQueueSize, model)
		fmt.Fprintf(&b, "%s{model_name=\"n\"} 2\n", llmd.EPPFlowControlQueueSize)
		svc.Pods()[0].SetBody(b.String())
		if round > 0 {
			clk.Step(30 * time.Second)
		}
		rs = refresh(model)
	}
	dispatch, success := rs[llmd.SchedulerDispatchRate], rs["success_rate"]
	if len(dispatch.Values) != 1 || len(success.Values) != 1 ||
		math.Abs(dispatch.Values[0].Value-success.Values[0].Value) > 1e-9 || dispatch.Values[0].Labels["pod_name"] != "vllm-0" {
		t.Errorf("%s: got %v, want the successful attempts' rate %v for pod_name vllm-0", llmd.SchedulerDispatchRate, dispatch.Values, success.Values)
	}
	if q := rs[llmd.SchedulerQueueSize]; len(q.Values) != 0 {
		t.Errorf("%s for %s: got %v, want none: the queued requests of %s target another model", llmd.SchedulerQueueSize, model, q.Values, model)
	}
	if q := refresh("n")[llmd.SchedulerQueueSize]; len(q.Values) != 1 || q.Values[0].Value != 2 {
		t.Errorf("%s for n: got %v, want 2 (by model_name: the series has no target_model_name)", llmd.SchedulerQueueSize, q.Values)
	}
}
