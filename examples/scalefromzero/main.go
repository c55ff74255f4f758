// Command scalefromzero is an example program a user can copy: the scale-from-zero check
// of llm-d's workload-variant-autoscaler, on a PodScrapingSource over the EPP Service
// instead of a Prometheus server. Every -interval (100 ms, as upstream polls) it scrapes
// the EPP pods for the flow-control queue, llm_d_epp_flow_control_queue_size or, series
// by series, its deprecated name inference_extension_flow_control_queue_size, and prints
// the requests waiting for -model; when it cannot know (a pod failed, no pod exposes the
// metric) it prints why, never 0.
//
// The client reads Services and pods from a cache (an informer on the namespace): at 10
// refreshes a second a direct client would make 20 API requests a second (BENCH.md).
// It needs get, list and watch on services and pods in -namespace, and with -secret the
// same on secrets in -secret-namespace; without them it exits at once, naming the
// informer that could not sync.
//
//	go run ./examples/scalefromzero -kubeconfig ~/.kube/config -namespace llm-d \
//	    -service epp-service -port 9090 -model Qwen/Qwen3-0.6B \
//	    -secret inference-gateway-sa-metrics-reader-secret -secret-namespace workload-variant-autoscaler-system
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/source/pod"
)

// options are the program's flags.
type options struct {
	kubeconfig, namespace, service, model string
	secret, secretNamespace               string
	port                                  int
	interval                              time.Duration
	once                                  bool
}

func main() {
	var o options
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "path to a kubeconfig; empty: $KUBECONFIG, ~/.kube/config, or in-cluster")
	flag.StringVar(&o.namespace, "namespace", "llm-d", "namespace of the EPP Service")
	flag.StringVar(&o.service, "service", "", "the EPP Service (required)")
	flag.IntVar(&o.port, "port", 9090, "the EPP pods' metrics port")
	flag.StringVar(&o.model, "model", "", "the model (target_model_name) to check (required)")
	flag.StringVar(&o.secret, "secret", "", "Secret holding a token allowed to get the EPPs' /metrics")
	flag.StringVar(&o.secretNamespace, "secret-namespace", "", "the Secret's namespace; empty: -namespace")
	flag.DurationVar(&o.interval, "interval", 100*time.Millisecond, "time between checks")
	flag.BoolVar(&o.once, "once", false, "check once, print, and exit (1 when the answer is unknown)")
	flag.Parse()
	if o.service == "" || o.model == "" {
		fmt.Fprintln(os.Stderr, "scalefromzero: -service and -model are required")
		os.Exit(2)
	}
	if o.interval <= 0 {
		fmt.Fprintf(os.Stderr, "scalefromzero: -interval must be positive, got %v\n", o.interval)
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, os.Stderr, o); err != nil {
		fmt.Fprintln(os.Stderr, "scalefromzero:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out, errOut io.Writer, o options) error {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	restConfig, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	secretNamespace := o.secretNamespace
	if secretNamespace == "" {
		secretNamespace = o.namespace
	}
	cachedSecrets := ""
	if o.secret != "" {
		cachedSecrets = secretNamespace
	}
	reader, err := cachedReader(ctx, restConfig, cacheSyncTimeout, o.namespace, cachedSecrets)
	if err != nil {
		return err
	}
	src, err := pod.NewPodScrapingSource(ctx, reader, pod.PodScrapingSourceConfig{
		ServiceName: o.service, ServiceNamespace: o.namespace, MetricsPort: int32(o.port),
		MetricsReaderSecretName: o.secret, MetricsReaderSecretNamespace: secretNamespace,
		ScrapeTimeout: o.interval * 5, // a slow EPP delays the next check, never overlaps it
	})
	if err != nil {
		return err
	}
	defer src.Close()
	check, err := newQueueCheck(src, o.model)
	if err != nil {
		return err
	}
	// Only a loop needs a ticker: -once must not depend on -interval being usable.
	var tick <-chan time.Time
	if !o.once {
		t := time.NewTicker(o.interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		n, err := check.pending(ctx)
		switch {
		case err != nil && o.once:
			return err
		case err != nil:
			fmt.Fprintf(errOut, "%s unknown: %v\n", o.model, err)
		case n > 0:
			fmt.Fprintf(out, "%s: %g requests waiting in flow control: scale from zero\n", o.model, n)
		case o.once:
			fmt.Fprintf(out, "%s: no request waiting\n", o.model)
		}
		if o.once {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
		}
	}
}

// cacheSyncTimeout bounds the first list of each informer: one the program may not list
// retries until its context ends, so without a bound -once would never return.
const cacheSyncTimeout = 30 * time.Second

// cachedReader returns a client reading Services and pods in namespace, and Secrets in
// secretNamespace unless it is empty, from informers it starts and waits for (at most
// timeout), so a refresh makes no API request. The cache starts informers lazily, on
// first use, so WaitForCacheSync alone would return at once and the first Refresh would
// block, without RBAC, until its context ended: it gets each informer the program reads,
// and an error names the one that did not sync.
func cachedReader(ctx context.Context, cfg *rest.Config, timeout time.Duration, namespace, secretNamespace string) (client.Reader, error) {
	type kind struct {
		obj client.Object
		ns  string
	}
	kinds := []kind{{&corev1.Service{}, namespace}, {&corev1.Pod{}, namespace}}
	if secretNamespace != "" {
		kinds = append(kinds, kind{&corev1.Secret{}, secretNamespace})
	}
	// Each kind in its own namespace only, so the program needs no more than the header
	// says (a Secret namespace's pods, say).
	byObject := map[client.Object]cache.ByObject{}
	for _, k := range kinds {
		byObject[k.obj] = cache.ByObject{Namespaces: map[string]cache.Config{k.ns: {}}}
	}
	c, err := cache.New(cfg, cache.Options{DefaultNamespaces: map[string]cache.Config{namespace: {}}, ByObject: byObject})
	if err != nil {
		return nil, fmt.Errorf("cache for %s: %w", cfg.Host, err)
	}
	go func() { _ = c.Start(ctx) }()
	syncCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Started first: GetInformer on a cache not yet started returns without waiting.
	if !c.WaitForCacheSync(syncCtx) {
		return nil, fmt.Errorf("cache for %s did not start", cfg.Host)
	}
	for _, k := range kinds {
		if _, err := c.GetInformer(syncCtx, k.obj); err != nil {
			return nil, fmt.Errorf("cache for %s (needs get, list and watch on %T in %s): %w", cfg.Host, k.obj, k.ns, err)
		}
	}
	return c, nil
}
