package pod

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// discoverBenchRuns numbers the namespaces of BenchmarkDiscoverServicesOfOneNamespace's
// runs (-count runs it again).
var discoverBenchRuns atomic.Int64

// BenchmarkDiscoverServicesOfOneNamespace measures the discovery of every Service of a
// namespace once, through an informer cache (a manager's, serve's StartCache), with 100
// pods per Service: 1 Service and 20 (2,000 pods in the namespace). The pod list of one
// Service is the namespace's pods filtered by its selector, so each discovery reads
// every pod of the namespace: linear in the Services and pods would be 20 times, not
// 400.
//
//	go test ./source/pod -run '^$' -bench DiscoverServicesOfOneNamespace -benchtime 100x
func BenchmarkDiscoverServicesOfOneNamespace(b *testing.B) {
	const perService = 100
	for _, services := range []int{1, 20} {
		b.Run(fmt.Sprintf("services=%d", services), func(b *testing.B) {
			ctx := context.Background()
			ns := fmt.Sprintf("bench-discover-%d-%d", services, discoverBenchRuns.Add(1))
			if err := cp.CreateNamespace(ctx, ns); err != nil {
				b.Fatal(err)
			}
			block := localcluster.NewAddressBlock()
			var wg sync.WaitGroup
			errs := make(chan error, services*perService)
			limit := make(chan struct{}, 16)
			for s := range services {
				sel := map[string]string{"app": fmt.Sprintf("svc-%d", s)}
				if err := cp.CreateService(ctx, ns, fmt.Sprintf("svc-%d", s), sel, 8000); err != nil {
					b.Fatal(err)
				}
				for i := range perService {
					ip := block.Next()
					wg.Go(func() {
						limit <- struct{}{}
						defer func() { <-limit }()
						_, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: fmt.Sprintf("svc-%d-%d", s, i), Labels: sel, IP: ip, Ready: true})
						if err != nil {
							errs <- err
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			informers, err := cache.New(cp.Config, cache.Options{Scheme: localcluster.Scheme(), DefaultNamespaces: map[string]cache.Config{ns: {}}})
			if err != nil {
				b.Fatal(err)
			}
			ictx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); _ = informers.Start(ictx) }()
			b.Cleanup(func() { stop(); <-done })
			informers.WaitForCacheSync(ctx)
			srcs := make([]*PodScrapingSource, services)
			for s := range srcs {
				src, err := NewPodScrapingSource(ctx, informers, PodScrapingSourceConfig{ServiceName: fmt.Sprintf("svc-%d", s), ServiceNamespace: ns, MetricsPort: 8000})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(src.Close)
				srcs[s] = src
			}
			for _, src := range srcs { // until the informers hold every pod
				for {
					found, err := src.discover(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if len(found.targets) == perService {
						break
					}
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, src := range srcs {
					if _, err := src.discover(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
