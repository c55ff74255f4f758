package pod_test

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// A source inside a controller-runtime manager: discovery reads Services and Pods from
// the manager's informers (no API request per refresh), and the token Secret through the
// API reader, so the manager does not start a cluster-wide Secret informer. The cached
// client starts Service and Pod informers on first use; DefaultNamespaces keeps them to
// the Service's namespace, which needs list and watch there only (without it they are
// cluster-wide and need cluster-wide list/watch).
func Example_manager() {
	ctx := context.Background()
	env, err := podscrapetest.Start(podscrapetest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Stop()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{
		Name: "epp-service", Pods: 2, Body: eppExposition,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()

	// In a program: ctrl.GetConfigOrDie(), or a config from a kubeconfig.
	mgr, err := manager.New(env.Config, manager.Options{
		Metrics: metricsserver.Options{BindAddress: "0"}, // no metrics listener in this example
		Cache:   cache.Options{DefaultNamespaces: map[string]cache.Config{svc.Namespace: {}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	podSource, err := pod.NewPodScrapingSource(ctx, mgr.GetClient(), pod.PodScrapingSourceConfig{
		ServiceName:             svc.Name,
		ServiceNamespace:        svc.Namespace,
		MetricsPort:             svc.Port,
		MetricsReaderSecretName: "metrics-reader-token", // absent here: no auth, no error
		SecretReader:            mgr.GetAPIReader(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer podSource.Close()

	// A runnable that refreshes once; a controller would refresh in Reconcile.
	done := make(chan struct{})
	err = mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		defer close(done)
		results, err := podSource.Refresh(ctx, source.RefreshSpec{})
		if err != nil {
			fmt.Println(err)
			return nil
		}
		for _, st := range results[pod.AllMetricsQuery].PodStatuses() {
			fmt.Println(st.Pod, "up:", st.Up)
		}
		return nil
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	mgrCtx, stop := context.WithCancel(ctx)
	stopped := make(chan error)
	go func() { stopped <- mgr.Start(mgrCtx) }()
	<-done
	stop()
	if err := <-stopped; err != nil {
		fmt.Println(err)
	}
	// Output:
	// epp-service-0 up: true
	// epp-service-1 up: true
}
