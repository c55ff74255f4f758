package localcluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"sync"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Names of what InstallLLMD creates, as an llm-d install with the workload variant
// autoscaler names them.
const (
	// LLMDNamespace is the namespace of the llm-d install.
	LLMDNamespace = "llm-d"
	// EPPService is the Service selecting the endpoint picker (EPP) pods.
	EPPService = "epp-service"
	// VLLMService is the Service selecting the vLLM model server pods.
	VLLMService = "vllm"
	// SGLangService is the Service selecting the SGLang model server pods.
	SGLangService = "sglang"
	// MetricsReaderNamespace is where the metrics reader's ServiceAccount and token Secret
	// live: the autoscaler's namespace, not the install's.
	MetricsReaderNamespace = "workload-variant-autoscaler-system"
	// MetricsReaderServiceAccount is the ServiceAccount allowed to get the EPP's /metrics.
	MetricsReaderServiceAccount = "inference-gateway-sa-metrics-reader"
	// MetricsReaderSecret is the Secret holding that ServiceAccount's token.
	MetricsReaderSecret = "inference-gateway-sa-metrics-reader-secret"
	// MetricsReaderSecretKey is the Secret's data key holding the token.
	MetricsReaderSecretKey = "token"
	// EPPMetricsPort and VLLMMetricsPort are the real programs' metrics ports, used when
	// free on the pods' loopback addresses (else any free port: see LLMD.EPPPort).
	EPPMetricsPort  = 9090
	VLLMMetricsPort = 8000
	// SGLangMetricsPort is SGLang's default server port, where it serves /metrics.
	SGLangMetricsPort = 30000
	// VariantLabel is the pod label naming a model server pod's variant (its
	// VariantAutoscaling), which the autoscaler's queries read as llm_d_ai_variant.
	VariantLabel = "llm-d.ai/variant"
)

// LLMDOptions configures InstallLLMD. The zero value installs in LLMDNamespace with seed
// 0, and the simulation advances only when Step is called.
type LLMDOptions struct {
	// Namespace of the install. Default LLMDNamespace.
	Namespace string
	// SecretNamespace holds the metrics reader's ServiceAccount and Secret. Default
	// MetricsReaderNamespace.
	SecretNamespace string
	// Seed makes the simulated load reproducible.
	Seed uint64
	// StepEvery advances the simulation on its own at this interval until Close. Zero:
	// only Step advances it.
	StepEvery time.Duration
	// Generation is the release of the programs whose metrics the pods expose (see
	// Generation). Zero: Current.
	Generation Generation
}

// LLMD is an llm-d install on a local control plane: Service EPPService selecting two EPP
// pods whose /metrics demand a token authorized by the API server, Service VLLMService
// selecting four vLLM pods of two variants (VariantLabel), one not Ready and one
// terminating, which a scraper must skip, and Service SGLangService selecting one SGLang
// pod of a third variant. Every pod is served on its own loopback address by a simulated
// program (see Simulation). Create it with InstallLLMD and Close it when done. Its
// fields are read-only.
type LLMD struct {
	// Namespace of the install.
	Namespace string
	// EPPService, VLLMService and SGLangService name the three Services.
	EPPService, VLLMService, SGLangService string
	// EPPSelector, VLLMSelector and SGLangSelector are the Services' selectors, for a
	// Prometheus server's pod discovery to select the same pods.
	EPPSelector, VLLMSelector, SGLangSelector map[string]string
	// EPPPort, VLLMPort and SGLangPort are the pods' metrics ports (the Services' ports).
	EPPPort, VLLMPort, SGLangPort int32
	// SecretNamespace, SecretName and SecretKey locate the metrics reader's token.
	SecretNamespace, SecretName, SecretKey string
	// ServiceAccount is the metrics reader, in SecretNamespace.
	ServiceAccount string
	// EPPPods name the EPP pods, all Ready.
	EPPPods []string
	// VLLMPods name the Ready vLLM pods, the ones a scrape must reach.
	VLLMPods []string
	// SkippedVLLMPods name the vLLM pods the Service selects but a scrape must skip: one
	// not Ready, one terminating. Their servers answer, so a scrape of them would show.
	SkippedVLLMPods []string
	// SGLangPods name the SGLang pods, all Ready.
	SGLangPods []string
	// Variants are the model server pods' VariantLabel values, by pod name.
	Variants map[string]string
	// Simulation drives the pods' metrics.
	Simulation *Simulation

	cp       *ControlPlane
	servers  []*Server
	stop     context.CancelFunc
	stepping sync.WaitGroup
}

// InstallLLMD populates the control plane as an llm-d install looks, with real HTTP
// servers on loopback pod IPs, and mints the metrics reader's token into its Secret.
func (cp *ControlPlane) InstallLLMD(ctx context.Context, opts LLMDOptions) (_ *LLMD, err error) {
	if opts.Namespace == "" {
		opts.Namespace = LLMDNamespace
	}
	if opts.SecretNamespace == "" {
		opts.SecretNamespace = MetricsReaderNamespace
	}
	l := &LLMD{
		Namespace:       opts.Namespace,
		EPPService:      EPPService,
		VLLMService:     VLLMService,
		SecretNamespace: opts.SecretNamespace,
		SecretName:      MetricsReaderSecret,
		SecretKey:       MetricsReaderSecretKey,
		ServiceAccount:  MetricsReaderServiceAccount,
		EPPPods:         []string{"epp-0", "epp-1"},
		VLLMPods:        []string{"vllm-0", "vllm-1"},
		SkippedVLLMPods: []string{"vllm-2-starting", "vllm-3-terminating"},
		SGLangService:   SGLangService,
		SGLangPods:      []string{"sglang-0"},
		Variants: map[string]string{
			"vllm-0": "qwen3-l4", "vllm-1": "qwen3-h100", "vllm-2-starting": "qwen3-l4",
			"vllm-3-terminating": "qwen3-h100", "sglang-0": "qwen3-sglang",
		},
		cp: cp,
	}
	defer func() {
		if err != nil {
			_ = l.Close()
		}
	}()
	l.Simulation = NewSimulation(SimulationOptions{
		Seed:                opts.Seed,
		EPPPods:             l.EPPPods,
		ModelServerPods:     l.VLLMPods,
		IdleModelServerPods: l.SkippedVLLMPods,
		SGLangPods:          l.SGLangPods,
		Namespace:           l.Namespace,
		Generation:          opts.Generation,
	})

	for _, ns := range []string{l.Namespace, l.SecretNamespace} {
		if err := cp.CreateNamespace(ctx, ns); err != nil {
			return nil, err
		}
	}
	if err := l.grantMetricsReader(ctx); err != nil {
		return nil, err
	}
	if err := l.startServers(); err != nil {
		return nil, err
	}
	if err := l.createObjects(ctx); err != nil {
		return nil, err
	}
	if opts.StepEvery > 0 {
		stepCtx, stop := context.WithCancel(context.Background())
		l.stop = stop
		l.stepping.Go(func() { l.stepUntil(stepCtx, opts.StepEvery) })
	}
	return l, nil
}

// grantMetricsReader creates the metrics reader's ServiceAccount, its RBAC on /metrics, and
// the Secret holding its token.
func (l *LLMD) grantMetricsReader(ctx context.Context) error {
	name := l.Namespace + "-epp-metrics-reader"
	subject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: l.SecretNamespace, Name: l.ServiceAccount}
	token, err := l.cp.ServiceAccountToken(ctx, l.SecretNamespace, l.ServiceAccount)
	if err != nil {
		return err
	}
	if err := l.cp.MetricsReaderRBAC(ctx, name, subject); err != nil {
		return err
	}
	return l.cp.CreateTokenSecret(ctx, l.SecretNamespace, l.SecretName, l.SecretKey, token)
}

// startServers serves every pod on its own loopback address: the EPPs behind the metrics
// auth filter, all of a Service's pods on one port.
func (l *LLMD) startServers() error {
	auth, err := MetricsAuth(l.cp.Config)
	if err != nil {
		return err
	}
	block := NewAddressBlock()
	eppHandlers := map[string]http.Handler{}
	var eppIPs []string
	for _, pod := range l.EPPPods {
		ip := block.Next()
		eppIPs = append(eppIPs, ip)
		eppHandlers[ip] = auth(metricsMux(l.Simulation.Handler(pod)))
	}
	eppServers, err := serveOnPort(eppIPs, EPPMetricsPort, func(ip string) http.Handler { return eppHandlers[ip] })
	if err != nil {
		return fmt.Errorf("serve EPP pods: %w", err)
	}
	l.servers = append(l.servers, eppServers...)
	l.EPPPort = int32(eppServers[0].Port)

	vllmHandlers := map[string]http.Handler{}
	var vllmIPs []string
	for _, pod := range append(append([]string(nil), l.VLLMPods...), l.SkippedVLLMPods...) {
		ip := block.Next()
		vllmIPs = append(vllmIPs, ip)
		vllmHandlers[ip] = metricsMux(l.Simulation.Handler(pod))
	}
	vllmServers, err := serveOnPort(vllmIPs, VLLMMetricsPort, func(ip string) http.Handler { return vllmHandlers[ip] })
	if err != nil {
		return fmt.Errorf("serve vLLM pods: %w", err)
	}
	l.servers = append(l.servers, vllmServers...)
	l.VLLMPort = int32(vllmServers[0].Port)

	sglangHandlers := map[string]http.Handler{}
	var sglangIPs []string
	for _, pod := range l.SGLangPods {
		ip := block.Next()
		sglangIPs = append(sglangIPs, ip)
		sglangHandlers[ip] = metricsMux(l.Simulation.Handler(pod))
	}
	sglangServers, err := serveOnPort(sglangIPs, SGLangMetricsPort, func(ip string) http.Handler { return sglangHandlers[ip] })
	if err != nil {
		return fmt.Errorf("serve SGLang pods: %w", err)
	}
	l.servers = append(l.servers, sglangServers...)
	l.SGLangPort = int32(sglangServers[0].Port)
	return nil
}

// createObjects creates the Services and their pods, with the servers' addresses.
func (l *LLMD) createObjects(ctx context.Context) error {
	eppSelector := map[string]string{"inferencepool": "vllm-pool-epp"}
	vllmSelector := map[string]string{"llm-d.ai/inferenceServing": "true"}
	sglangSelector := map[string]string{"llm-d.ai/engine": "sglang"}
	l.EPPSelector, l.VLLMSelector, l.SGLangSelector = eppSelector, vllmSelector, sglangSelector
	if err := l.cp.CreateService(ctx, l.Namespace, l.EPPService, eppSelector, l.EPPPort); err != nil {
		return err
	}
	if err := l.cp.CreateService(ctx, l.Namespace, l.VLLMService, vllmSelector, l.VLLMPort); err != nil {
		return err
	}
	if err := l.cp.CreateService(ctx, l.Namespace, l.SGLangService, sglangSelector, l.SGLangPort); err != nil {
		return err
	}
	// withVariant is a model server pod's labels: the Service's selector and its variant.
	withVariant := func(selector map[string]string, pod string) map[string]string {
		out := maps.Clone(selector)
		out[VariantLabel] = l.Variants[pod]
		return out
	}
	pods := make([]PodSpec, 0, len(l.servers))
	for i, pod := range l.EPPPods {
		pods = append(pods, PodSpec{Name: pod, Labels: eppSelector, IP: l.servers[i].IP, Ready: true})
	}
	for i, pod := range l.VLLMPods {
		pods = append(pods, PodSpec{Name: pod, Labels: withVariant(vllmSelector, pod), IP: l.servers[len(l.EPPPods)+i].IP, Ready: true})
	}
	skipped := l.servers[len(l.EPPPods)+len(l.VLLMPods):]
	pods = append(pods,
		PodSpec{Name: l.SkippedVLLMPods[0], Labels: withVariant(vllmSelector, l.SkippedVLLMPods[0]), IP: skipped[0].IP, Ready: false},
		PodSpec{Name: l.SkippedVLLMPods[1], Labels: withVariant(vllmSelector, l.SkippedVLLMPods[1]), IP: skipped[1].IP, Ready: true, Terminating: true},
	)
	sglang := skipped[len(l.SkippedVLLMPods):]
	for i, pod := range l.SGLangPods {
		pods = append(pods, PodSpec{Name: pod, Labels: withVariant(sglangSelector, pod), IP: sglang[i].IP, Ready: true})
	}
	for _, p := range pods {
		p.Namespace = l.Namespace
		if _, err := l.cp.CreatePod(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// Step advances the simulated load by one step.
func (l *LLMD) Step() { l.Simulation.Step() }

func (l *LLMD) stepUntil(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.Simulation.Step()
		}
	}
}

// Close stops the simulation and every pod's server, and lets the terminating pod go. The
// API objects stay: the control plane's Stop removes them with everything else.
func (l *LLMD) Close() error {
	if l.stop != nil {
		l.stop()
	}
	l.stepping.Wait()
	var errs []error
	for _, s := range l.servers {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close pod server %s: %w", s.URL(), err))
		}
	}
	l.servers = nil
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.cp.ReleaseTerminating(ctx, l.Namespace); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// metricsMux serves h on /metrics only, as the real programs do.
func metricsMux(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	return mux
}

// serveOnPort serves every address on port when it is free on all of them, else on any
// port they share (ServeAll).
func serveOnPort(ips []string, port int, handler func(ip string) http.Handler) ([]*Server, error) {
	servers := make([]*Server, 0, len(ips))
	for _, ip := range ips {
		s, err := Serve(ip, port, handler(ip))
		if err != nil {
			for _, started := range servers {
				_ = started.Close()
			}
			return ServeAll(ips, handler)
		}
		servers = append(servers, s)
	}
	return servers, nil
}

// RunLLMD installs llm-d on cp with opts (within a minute), calls run with it, closes it
// and returns run's result. A failed install is reported on stderr and returns 1.
func (cp *ControlPlane) RunLLMD(opts LLMDOptions, run func(*LLMD) int) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	llmd, err := cp.InstallLLMD(ctx, opts)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := llmd.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "close llm-d:", err)
		}
	}()
	return run(llmd)
}
