package pod_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// A program outside the cluster: a client built from a kubeconfig file, as kubectl reads
// it. The test kit stands in for the cluster and writes the kubeconfig.
func Example_kubeconfig() {
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
	dir, err := os.MkdirTemp("", "kubeconfig")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	kubeconfig := filepath.Join(dir, "config")
	if err := env.WriteKubeconfig(kubeconfig, svc.Namespace); err != nil {
		fmt.Println(err)
		return
	}

	// The program: kubeconfig -> *rest.Config -> client. Use
	// clientcmd.NewNonInteractiveDeferredLoadingClientConfig to honour $KUBECONFIG and
	// --context as kubectl does, or rest.InClusterConfig inside a pod.
	restConfig, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		fmt.Println(err)
		return
	}
	k8sClient, err := client.New(restConfig, client.Options{}) // uncached: one GET/LIST per refresh
	if err != nil {
		fmt.Println(err)
		return
	}
	podSource, err := pod.NewPodScrapingSource(ctx, k8sClient, pod.PodScrapingSourceConfig{
		ServiceName:      svc.Name,
		ServiceNamespace: svc.Namespace,
		MetricsPort:      svc.Port,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer podSource.Close()
	results, err := podSource.Refresh(ctx, source.RefreshSpec{})
	if err != nil {
		fmt.Println(err)
		return
	}
	byPod := results[pod.AllMetricsQuery].ValuesByPod("inference_pool_average_queue_size")
	fmt.Println(byPod["epp-service-0"][0].Value, byPod["epp-service-1"][0].Value)
	// Output:
	// 5 5
}
