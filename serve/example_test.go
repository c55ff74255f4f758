package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
	"github.com/podscrape/podscrape/source/pod"
)

// Example serves Prometheus' HTTP API over a Service's pods, as `podscrape serve` does:
// New with the Services, Run for the scrape loops, Handler on an HTTP server, then a
// client's instant query, answered from a scrape no older than MaxAge. Here the pods are
// podscrapetest's, on a real API server; in a program, the client is a manager's or
// serve's own cache (StartCache) and the Handler is served on a real listener.
func Example() {
	ctx := context.Background()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{
		Pods: 2,
		Body: "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 3\n",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()

	srv, err := serve.New(ctx, env.Client, serve.Config{
		Services: []serve.ServiceConfig{{Source: pod.PodScrapingSourceConfig{
			ServiceName: svc.Name, ServiceNamespace: svc.Namespace, MetricsPort: svc.Port,
		}}},
		MaxAge: 2 * time.Second, // a query scrapes first when the newest scrape is older
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	runCtx, stop := context.WithCancel(ctx)
	loops := make(chan error, 1)
	go func() { loops <- srv.Run(runCtx) }()
	hs := httptest.NewServer(srv.Handler())
	defer func() {
		hs.Close()
		stop()
		<-loops
		_ = srv.Close() // after Run returned
	}()

	// What KEDA's prometheus trigger, prometheus-adapter or Grafana send.
	resp, err := http.Get(hs.URL + "/api/v1/query?query=" + url.QueryEscape("sum(vllm:num_requests_waiting)"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var answer struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, answer.Status, answer.Data.Result[0].Value[1])
	// Output: 200 success 6
}
