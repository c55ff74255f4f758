// Package podscrapetest runs loopback pods behind a Service on a real Kubernetes API
// server, for testing code that scrapes them (a controller built on
// github.com/podscrape/podscrape/source/pod, or any scraper), in the spirit of
// net/http/httptest and controller-runtime's envtest.
//
// An Environment is a real kube-apiserver and etcd, started through envtest. Its
// NewService creates a Service and Ready pods whose status IPs are loopback addresses
// (127.A.B.x), each served by a real HTTP server bound to that address and the Service's
// port. Each pod serves the body or the handler the test sets, and can be made unready,
// added or deleted while the test runs. Nothing here sends traffic to a non-loopback
// address.
//
//	env, err := podscrapetest.Start(podscrapetest.Options{})
//	...
//	defer env.Stop()
//	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{
//		Pods: 2,
//		Body: "# TYPE queue gauge\nqueue 3\n",
//	})
//	...
//	defer svc.Close()
//	src, err := pod.NewPodScrapingSource(ctx, env.Client, pod.PodScrapingSourceConfig{
//		ServiceName: svc.Name, ServiceNamespace: svc.Namespace, MetricsPort: svc.Port,
//	})
//
// A package whose tests share one Environment starts it in TestMain with Run.
//
// # Simulated llm-d programs
//
// A Simulation serves pods as vLLM, SGLang and llm-d's endpoint picker (EPP) expose
// their /metrics today (Current: vLLM's _total counters and engine label, the EPP's
// llm_d_epp_* names beside their deprecated twins, SGLang's sglang:* set), under a load
// that moves, or as they did in early 2026 (Previous), so code reading them can test its
// fallbacks. ServiceOptions.Simulation serves a Service's pods from one. Pod labels such
// as llm-d.ai/variant go in ServiceOptions.PodLabels.
//
// # Binaries
//
// Start needs kube-apiserver and etcd: the directory KUBEBUILDER_ASSETS (or
// Options.BinaryAssetsDirectory) names, as for envtest. Inside the podscrape repository
// they default to bin/k8s, built from the Go module proxy on first use
// (hack/build-envtest.sh). In your own module, build them once, at the versions this
// repository tests with, from the Go module proxy (about 8 minutes the first time):
//
//	go run github.com/podscrape/podscrape/tools/buildenvtest -o bin/k8s
//	export KUBEBUILDER_ASSETS=$PWD/bin/k8s
//
// Without them, Start's error says so and gives that command.
//
// # Flags
//
// envtest imports controller-runtime's pkg/client/config, which registers a -kubeconfig
// flag on flag.CommandLine: a test binary that imports this package must not define its
// own. (Importing source/pod alone registers no flag.)
//
// # Concurrency
//
// An Environment and its Services are safe for concurrent use; many tests can share one
// Environment, each with Services in its own namespace (the default).
package podscrapetest
