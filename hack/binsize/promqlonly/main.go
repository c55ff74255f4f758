// Command promqlonly is without plus Prometheus' PromQL engine over an empty storage: the
// floor of what PromQL on pods costs.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func main() {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var pods corev1.PodList
	err = c.List(context.Background(), &pods, client.InNamespace("ns"))
	fmt.Println(len(pods.Items), err)
	ch := chunkenc.NewXORChunk()
	app, _ := ch.Appender()
	app.Append(0, 1, 1)
	ng := promql.NewEngine(promql.EngineOpts{MaxSamples: 1000, Timeout: time.Minute})
	q, err := ng.NewInstantQuery(context.Background(), storage.QueryableFunc(func(int64, int64) (storage.Querier, error) { return storage.NoopQuerier(), nil }), nil, "sum(rate(x[5m]))", time.Now())
	if err == nil {
		fmt.Println(q.Exec(context.Background()).Value, ch.NumSamples())
	}
}
