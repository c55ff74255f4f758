//go:build !nodemo

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/render"
	"github.com/podscrape/podscrape/cmd/podscrape/internal/snapshot"
	"github.com/podscrape/podscrape/internal/localcluster"
	queries "github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// demoHelpLine is the root command's line for demo.
const demoHelpLine = "  podscrape demo                                    see it work on a local control plane\n"

// demoWarmup is how many simulation steps run before the first scrape, so the first
// view already shows load.
const demoWarmup = 30

// demoEPPMetrics are the EPP metrics the demo shows unless --all: what an autoscaler
// reads, under llm-d-router's current llm_d_epp_* names (the EPP still emits the
// deprecated inference_extension_* twins beside them: --all shows both).
func demoEPPMetrics() []string {
	return []string{
		"llm_d_epp_average_kv_cache_utilization",
		"llm_d_epp_average_queue_size",
		"llm_d_epp_flow_control_queue_size",
		"llm_d_epp_per_endpoint_queue_size",
		"llm_d_epp_ready_endpoints",
		"llm_d_epp_request_running",
		"llm_d_epp_request_total",
		"llm_d_epp_scheduler_attempts_total",
	}
}

// demoPreviousEPPMetrics are the EPP metrics the demo shows with --generation previous:
// the names of the EPP before llm-d-router (v1.2.1).
func demoPreviousEPPMetrics() []string {
	return []string{
		"inference_extension_flow_control_queue_size",
		"inference_objective_request_total",
		"inference_objective_running_requests",
		"inference_pool_average_kv_cache_utilization",
		"inference_pool_average_queue_size",
		"inference_pool_per_pod_queue_size",
		"inference_pool_ready_pods",
	}
}

// demoVLLMMetrics are the vLLM metrics the demo shows unless --all.
func demoVLLMMetrics() []string {
	return []string{
		"vllm:generation_tokens_total",
		"vllm:kv_cache_usage_perc",
		"vllm:num_requests_running",
		"vllm:num_requests_waiting",
	}
}

// demoSGLangMetrics are the SGLang metrics the demo shows unless --all.
func demoSGLangMetrics() []string {
	return []string{
		"sglang:generation_tokens_total",
		"sglang:num_queue_reqs",
		"sglang:num_running_reqs",
		"sglang:token_usage",
	}
}

// demoOptions are the flags of podscrape demo.
type demoOptions struct {
	once     bool
	interval time.Duration
	output   string
	seed     uint64
	all      bool
	// noPrometheus skips the side-by-side panel and its Prometheus server.
	noPrometheus bool
	// generation is "current" or "previous": which release's metric names the pods expose.
	generation string
}

func newDemoCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start a local control plane with an llm-d install and watch podscrape scrape it",
		Long: `demo starts a real local control plane (kube-apiserver and etcd, built into bin/k8s first
when missing) and installs what an llm-d install looks like in namespace llm-d:

  - Service epp-service selecting 2 endpoint picker (EPP) pods, whose /metrics demand a
    Bearer token checked by TokenReview and SubjectAccessReview, as the real EPP's do;
    a ServiceAccount token minted with the TokenRequest API is stored in Secret
    inference-gateway-sa-metrics-reader-secret of namespace workload-variant-autoscaler-system;
  - Service vllm selecting 4 vLLM pods of two variants (pod label llm-d.ai/variant):
    2 Ready, 1 not Ready and 1 terminating, which are skipped;
  - Service sglang selecting 1 SGLang pod of a third variant.

Every pod is a real HTTP server on its own loopback address, exposing today's metrics of
the real programs (the EPP's llm_d_epp_* names beside their deprecated
inference_extension_* twins, vLLM's _total counters and engine label, SGLang's sglang:*
set) under a simulated load; the model servers' samples carry llm_d_ai_variant, mapped
from the pod label (PodLabels). demo then scrapes the three Services every --interval and
shows what changed, until Ctrl-C, which stops the servers and the control plane and
removes their temporary directories. With --once it scrapes each Service once and exits.

Below, the workload-variant-autoscaler's current PromQL queries (vLLM's, SGLang's and the
EPP's, per instance, pod and variant) are answered twice, side by side: directly from the
pods (no Prometheus server) and by a real Prometheus server (built into bin/prometheus
first when missing; loopback only) scraping the same pods with the relabeling upstream
documents (llm-d.ai/variant as llm_d_ai_variant), each with the age of the data behind
it, and a sparkline of the direct answers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runE(func() error { return o.run(cmd.Context(), stdout, stderr) })
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.once, "once", false, "scrape each Service once, print, and exit")
	f.DurationVar(&o.interval, "interval", 2*time.Second, "time between refreshes")
	f.StringVarP(&o.output, "output", "o", string(render.FormatTable), "output format: table|wide|json (json: one document per Service, no panel, the header on stderr)")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the simulated load: the same seed replays the same load")
	f.BoolVar(&o.all, "all", false, "show every metric, not only the ones an autoscaler reads")
	f.BoolVar(&o.noPrometheus, "no-prometheus", false, "do not start the Prometheus server that the autoscaler's queries are compared with")
	f.StringVar(&o.generation, "generation", "current", "metric names the pods expose: current, or previous (vLLM without _total, the EPP before llm_d_epp_*) to see the queries' fallbacks")
	return cmd
}

func (o *demoOptions) run(ctx context.Context, stdout, stderr io.Writer) (err error) {
	format, perr := render.ParseFormat(o.output)
	switch {
	case perr != nil:
		return usagef("--output must be one of table|wide|json, got %q", o.output)
	case o.interval <= 0:
		return usagef("--interval must be positive, got %s", o.interval)
	case format == render.FormatProm:
		return usagef("--output prom is for one Service (podscrape scrape): demo shows three; use table, wide or json")
	}
	var gen localcluster.Generation
	switch o.generation {
	case "current":
	case "previous":
		gen = localcluster.Previous
	default:
		return usagef("--generation must be current or previous, got %q", o.generation)
	}

	from := "bin/k8s"
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		from = dir
	}
	fmt.Fprintf(stderr, "Starting a local control plane (kube-apiserver and etcd from %s) ...\n", from)
	cp, err := localcluster.Start(localcluster.Options{Progress: stderr})
	if errors.Is(err, localcluster.ErrOutsideRepository) {
		// The library's hint is for a module of one's own; the demo's place is the clone.
		return fmt.Errorf("control-plane binaries: %w: run the demo from a clone of the repository "+
			"(make demo there builds them into bin/k8s), or set KUBEBUILDER_ASSETS to a directory holding kube-apiserver and etcd "+
			"('go run github.com/podscrape/podscrape/tools/buildenvtest@latest -o DIR' builds them) and PROMETHEUS_BINARY to a Prometheus server (or give --no-prometheus)",
			localcluster.ErrOutsideRepository)
	}
	if err != nil {
		return err
	}
	defer func() {
		if serr := cp.Stop(); serr != nil {
			err = errors.Join(err, fmt.Errorf("stop control plane: %w", serr))
		}
	}()
	stepEvery := time.Duration(0)
	if !o.once {
		stepEvery = o.interval / 4
	}
	if ctx.Err() != nil {
		return nil // interrupted while the control plane started: stop it, and that is all
	}
	llmd, err := cp.InstallLLMD(ctx, localcluster.LLMDOptions{Seed: o.seed, StepEvery: stepEvery, Generation: gen})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer func() {
		if cerr := llmd.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("stop llm-d pods: %w", cerr))
		}
	}()
	for range demoWarmup {
		llmd.Step()
	}

	dir, err := os.MkdirTemp("", "podscrape-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := localcluster.WriteKubeconfig(cp.Config, llmd.Namespace, kubeconfig); err != nil {
		return err
	}
	self := selfCommand(os.Args[0])
	hint := fmt.Sprintf("While it runs, scrape it yourself:\n  %s --kubeconfig %s scrape %s --port %d\n"+
		"  %s --kubeconfig %s scrape %s --port %d --secret %s --secret-namespace %s",
		self, shellQuote(kubeconfig), llmd.VLLMService, llmd.VLLMPort,
		self, shellQuote(kubeconfig), llmd.EPPService, llmd.EPPPort, llmd.SecretName, llmd.SecretNamespace)

	targets, err := o.targets(ctx, cp, llmd)
	if err != nil {
		return err
	}
	defer func() {
		for _, t := range targets {
			t.close()
		}
	}()

	if o.once {
		fmt.Fprintf(stderr, "llm-d is installed in namespace %s; pods %s are skipped: one not Ready, one terminating.\n",
			llmd.Namespace, strings.Join(llmd.SkippedVLLMPods, ", "))
		if err := o.scrapeOnce(ctx, stdout, stderr, targets, format); err != nil && ctx.Err() == nil {
			return err
		}
		return nil
	}
	var footer func(context.Context) string
	// -o json shows no panel: no Prometheus server to start, or to build first, for it.
	if !o.noPrometheus && format != render.FormatJSON {
		fmt.Fprintln(stderr, "Starting the Prometheus server (bin/prometheus, loopback only) to compare with ...")
		cmp, err := startComparison(ctx, cp, llmd, dir, stderr)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("prometheus for the comparison (--no-prometheus skips it): %w", err)
		}
		defer cmp.stop()
		footer = cmp.frame
		hint += fmt.Sprintf("\n  %s --kubeconfig %s query 'max by (pod) (vllm:num_requests_waiting)' %s --port %d\n"+
			"  %s query 'max by (pod) (vllm:num_requests_waiting)' --prometheus %s",
			self, shellQuote(kubeconfig), llmd.VLLMService, llmd.VLLMPort, self, cmp.prom.URL)
	}
	ds, err := startDemoServe(ctx, cp, llmd) // demoserve.go
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, ds.stop()) }()
	hint += "\nPoint Grafana or promtool at Prometheus' HTTP API of these pods (podscrape serve, no Prometheus server): " + ds.url
	header := func() string {
		return fmt.Sprintf("podscrape demo: llm-d on a local control plane, refreshed every %s (Ctrl-C to stop)\n%s",
			o.interval, hint)
	}
	if format == render.FormatJSON {
		// stdout is the documents alone: the header, which says how to reach the demo, once
		// on stderr.
		fmt.Fprintln(stderr, header())
	}
	// Ctrl-C ends the demo with 0 whenever it comes, before the first frame too: nothing
	// reads its output as an answer.
	if err := watch(ctx, stdout, stderr, o.interval, targets, format, header, footer); ctx.Err() == nil || !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// targets are the demo's three Services: the EPPs with the metrics reader's Secret, the
// vLLM pods and the SGLang pod, the model servers' samples labelled with their variant.
func (o *demoOptions) targets(ctx context.Context, cp *localcluster.ControlPlane, l *localcluster.LLMD) ([]*target, error) {
	eppFilter := snapshot.Filter{Metrics: demoEPPMetrics()}
	if o.generation == "previous" {
		eppFilter = snapshot.Filter{Metrics: demoPreviousEPPMetrics()}
	}
	// The model servers' sources label every series with the variant, up too: the
	// filters say so, or up would read as a sample and not as the pod's status.
	vllmFilter := snapshot.Filter{Metrics: demoVLLMMetrics(), PodLabels: queries.PodLabels()}
	sglangFilter := snapshot.Filter{Metrics: demoSGLangMetrics(), PodLabels: queries.PodLabels()}
	if o.all {
		eppFilter.Metrics, vllmFilter.Metrics, sglangFilter.Metrics = nil, nil, nil
	}
	epp, err := newTarget(ctx, cp.Client, pod.PodScrapingSourceConfig{
		ServiceName: l.EPPService, ServiceNamespace: l.Namespace, MetricsPort: l.EPPPort,
		MetricsReaderSecretName: l.SecretName, MetricsReaderSecretNamespace: l.SecretNamespace,
		MetricsReaderSecretKey: l.SecretKey,
	}, eppFilter)
	if err != nil {
		return nil, err
	}
	vllm, err := newTarget(ctx, cp.Client, pod.PodScrapingSourceConfig{
		ServiceName: l.VLLMService, ServiceNamespace: l.Namespace, MetricsPort: l.VLLMPort,
		PodLabels: queries.PodLabels(),
	}, vllmFilter)
	if err != nil {
		epp.close()
		return nil, err
	}
	sglang, err := newTarget(ctx, cp.Client, pod.PodScrapingSourceConfig{
		ServiceName: l.SGLangService, ServiceNamespace: l.Namespace, MetricsPort: l.SGLangPort,
		PodLabels: queries.PodLabels(),
	}, sglangFilter)
	if err != nil {
		epp.close()
		vllm.close()
		return nil, err
	}
	return []*target{epp, vllm, sglang}, nil
}

// scrapeOnce scrapes each target once and prints it, as podscrape scrape prints one
// Service: with json, a target's failure is in its document too, and stderr gets what
// the table would say of it (stderrNotes: failed pods, warnings, a metric matching
// nothing); any failure is the command's.
func (o *demoOptions) scrapeOnce(ctx context.Context, out, stderr io.Writer, targets []*target, format render.Format) error {
	var errs []error
	for i, t := range targets {
		s, err := t.collect(ctx)
		if s != nil {
			if i > 0 && (format == render.FormatTable || format == render.FormatWide) {
				fmt.Fprintln(out)
			}
			opts := render.Options{Format: format}
			if err != nil {
				opts.Error = err.Error() // json: every pod failed, said in the document too
			}
			if werr := render.Write(out, s, opts); werr != nil {
				return werr
			}
			if format != render.FormatTable && format != render.FormatWide {
				fmt.Fprint(stderr, stderrNotes(s, err != nil))
			}
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
