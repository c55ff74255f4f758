package pod_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// waitingQuery is the metric-name query the autoscaler below registers.
const waitingQuery = "waiting"

// autoscaler sizes a model server Deployment from the requests waiting on its pods.
type autoscaler struct {
	source   source.MetricsSource
	perPod   float64 // waiting requests one replica absorbs
	replicas int     // the current decision
}

// Reconcile is one pass of the control loop: the cached result while it lasts (Get does
// no I/O), a Refresh when it has expired. A pod that did not answer holds the decision:
// "could not scrape" is not "nothing waiting".
func (a *autoscaler) Reconcile(ctx context.Context) (string, error) {
	var how string
	cached := a.source.Get(waitingQuery, nil)
	if cached.IsExpired() { // nil-safe: a miss is expired
		if _, err := a.source.Refresh(ctx, source.RefreshSpec{Queries: []string{waitingQuery}}); err != nil {
			return "", err // every pod failed, or discovery did: hold
		}
		if cached = a.source.Get(waitingQuery, nil); cached == nil {
			return "", errors.New("refresh cached nothing")
		}
		how = "refreshed"
	} else {
		how = fmt.Sprintf("cached %s ago", cached.Age())
	}
	result := &cached.Result
	waiting, pods := 0.0, 0
	for _, st := range result.PodStatuses() {
		values, err := result.PodValues(st.Pod, "vllm:num_requests_waiting")
		switch {
		case errors.Is(err, source.ErrPodDown):
			return fmt.Sprintf("%s: pod %s down, holding at %d replicas", how, st.Pod, a.replicas), nil
		case errors.Is(err, source.ErrNoSuchMetric):
			// Up, not serving the model yet: nothing waiting there.
		case err != nil:
			return "", err
		default:
			waiting += values[0].Value
		}
		pods++
	}
	a.replicas = max(1, int(math.Ceil(waiting/a.perPod)))
	return fmt.Sprintf("%s: %g waiting on %d pods -> %d replicas", how, waiting, pods, a.replicas), nil
}

// A controller loop over Get and Refresh. A fake clock stands in for the time between
// passes; a controller would run Reconcile every few seconds (wait.UntilWithContext) or
// on events.
func Example_controllerLoop() {
	ctx := context.Background()
	env, err := podscrapetest.Start(podscrapetest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Stop()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{
		Name: "vllm", Pods: 2, Body: "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 3\n",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()

	clock := clocktesting.NewFakePassiveClock(time.Now())
	podSource, err := pod.NewPodScrapingSource(ctx, env.Client, pod.PodScrapingSourceConfig{
		ServiceName:      svc.Name,
		ServiceNamespace: svc.Namespace,
		MetricsPort:      svc.Port,
		DefaultTTL:       30 * time.Second,
		Clock:            clock,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer podSource.Close()
	podSource.QueryList().MustRegister(source.QueryTemplate{
		Name: waitingQuery, Type: source.QueryTypeMetricName, Template: "vllm:num_requests_waiting",
	})
	scaler := &autoscaler{source: podSource, perPod: 4}

	for _, pass := range []struct {
		after  time.Duration // since the previous pass
		change func()
	}{
		{0, func() {}},
		{10 * time.Second, func() { svc.Pod("vllm-1").SetBody("vllm:num_requests_waiting 10\n") }},
		{30 * time.Second, func() {}},
		{30 * time.Second, func() {
			svc.Pod("vllm-0").SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "overloaded", http.StatusServiceUnavailable)
			}))
		}},
	} {
		pass.change()
		clock.SetTime(clock.Now().Add(pass.after))
		decision, err := scaler.Reconcile(ctx)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(decision)
	}
	// Output:
	// refreshed: 6 waiting on 2 pods -> 2 replicas
	// cached 10s ago: 6 waiting on 2 pods -> 2 replicas
	// refreshed: 13 waiting on 2 pods -> 4 replicas
	// refreshed: pod vllm-0 down, holding at 4 replicas
}
