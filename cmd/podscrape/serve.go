package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/serve"
	"github.com/podscrape/podscrape/source/pod"
)

// The bounds of serve's HTTP server, Prometheus' defaults (variables for tests).
var (
	// serveReadTimeout bounds the read of a request, its body included, and how long a
	// connection may stay idle between requests: Prometheus' --web.read-timeout.
	serveReadTimeout = 5 * time.Minute
	// serveMaxConnections is the most connections served at once: Prometheus'
	// --web.max-connections. One more makes the connection idle the longest close, or,
	// with none idle, waits to be accepted (connLimiter).
	serveMaxConnections = 512
	// serveMaxHeaderBytes bounds a request's line and headers. Go's default, which
	// Prometheus keeps, is 1 MiB: a connection holds about 1.3 MiB while such headers
	// arrive, before any --auth check, and serveMaxConnections of them would hold
	// 680 MiB, past deploy/'s 512Mi. 128 KiB still takes a GET query of a regex over a
	// thousand pod names (50 KiB), and twice what a mesh's Envoy forwards by default.
	serveMaxHeaderBytes = 128 << 10
	// serveWriteStallTimeout bounds how long a write of an answer may make no progress
	// (no 64 KiB written), as nginx's send_timeout: a client that stops reading is
	// closed after it (limitedConn.Write).
	serveWriteStallTimeout = time.Minute
)

// serveMaxHTTP2Streams bounds the requests one HTTP/2 connection (https only: serve
// speaks no cleartext HTTP/2) carries at once: Go's default is 250, so that
// serveMaxConnections connections carried 128,000 requests at once, each with its
// goroutine and headers, before any --auth check. 100 is kube-apiserver's bound, and the
// streams a Go client opens before it reads the server's limit: a client that keeps to it
// is never refused a stream. serve evaluates at most --query-max-concurrency queries at
// once (20), so no client gains from more; a Go client past it opens another connection.
const serveMaxHTTP2Streams = 100

// serveOptions are the flags of podscrape serve.
type serveOptions struct {
	podFlags
	config              string
	listen              string
	interval            time.Duration
	retention           time.Duration
	maxAge              time.Duration
	lookbackDelta       time.Duration
	allowPartialWindows bool
	auth                string
	authTokenAudiences  []string
	tlsCert, tlsKey     string
	podLabels           []string
	maxSamples          int
	maxConcurrency      int
	seriesLimit         int
	certificate         *tls.Certificate // loaded from tlsCert and tlsKey by validate
}

func newServeCommand(kube *kubeFlags, stdout, stderr io.Writer) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve (SERVICE --port PORT | --config FILE)",
		Short: "Serve Prometheus' HTTP API from direct scrapes of the Ready pods behind Services",
		Long: `serve scrapes the Ready pods behind one Service (SERVICE --port PORT, with the same
target and auth flags as scrape) or several (--config FILE) on their interval, and serves
Prometheus' HTTP API over their samples: /api/v1/query, query_range, series, labels,
label/<name>/values, metadata, targets, status/buildinfo, format_query, /federate,
/-/healthy, /-/ready and its own /metrics (query_exemplars, rules and alerts answer
empty). Point KEDA's prometheus trigger, prometheus-adapter, Grafana or
promtool at it: no Prometheus server in between.

A query that reads a Service whose every pod failed answers HTTP 503 ("unavailable"),
never an empty result; some pods failing is a warning. See docs/serve.md.`,
		Example: `  # vLLM's pods, fresh to 2s for every query
  podscrape serve vllm -n llm-d --port 8000 --max-age 2s

  # Several Services from a file (YAML: services: [{name, namespace, port, interval, ...}])
  podscrape serve --config serve.yaml --listen :9090

  # Then
  promtool query instant http://localhost:9090 'sum(vllm:num_requests_waiting)'`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("serve takes one SERVICE argument or --config, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runE(func() error { return o.run(cmd.Context(), kube, args, cmd.Flags().Changed, stderr) })
		},
	}
	f := cmd.Flags()
	o.podFlags.add(f)
	// serve's default is Prometheus': 5s capped at the interval (see run).
	f.Lookup("timeout").Usage = "time limit of each pod's scrape, at most --interval (default: 5s, or --interval when shorter)"
	f.Lookup("timeout").DefValue = "0s"
	f.StringVar(&o.config, "config", "", "YAML file listing the Services to serve (instead of SERVICE and its flags)")
	f.StringVar(&o.listen, "listen", ":9090", "address to serve the API on")
	f.DurationVar(&o.interval, "interval", serve.DefaultInterval, "scrape interval of each Service (a Service of --config may set its own)")
	f.DurationVar(&o.retention, "retention", history.DefaultRetention, "how long samples are kept for range queries")
	f.DurationVar(&o.maxAge, "max-age", 0, "scrape before answering when the newest scrape is older than this (0: answer from the interval's scrapes)")
	f.DurationVar(&o.lookbackDelta, "lookback-delta", history.DefaultLookbackDelta, "how far back an instant selector looks for a sample, as Prometheus' --query.lookback-delta; at least each Service's interval (or --max-age, when shorter) plus its timeout")
	f.BoolVar(&o.allowPartialWindows, "allow-partial-windows", false, "answer increase()-like windows longer than the history with a warning instead of HTTP 422, and rate()-like ones over a single scrape with what else answers (empty, or or vector(0)'s 0) and the warning, instead of HTTP 422")
	f.StringArrayVar(&o.podLabels, "pod-label", nil, "copy this pod label (a Kubernetes label key) onto the pods' series, as Prometheus' labelmap names it; repeat for more")
	f.IntVar(&o.maxSamples, "query-max-samples", history.DefaultMaxSamples, "most samples one query may load into memory (about 22 bytes each while evaluated, more while its answer is written), as Prometheus' --query.max-samples; past it the query answers 422")
	f.IntVar(&o.maxConcurrency, "query-max-concurrency", serve.DefaultMaxConcurrentQueries, "most queries evaluated at once, as Prometheus' --query.max-concurrency; more wait for a slot within their timeout")
	f.IntVar(&o.seriesLimit, "series-limit", history.DefaultSeriesLimit, "most series each Service's history holds (a Service of --config may set its own seriesLimit); past it new series are refused and the queries reading the Service warn of it")
	f.StringVar(&o.auth, "auth", "none", "none, or kubernetes: check each request's Bearer token with a TokenReview and a SubjectAccessReview")
	f.StringSliceVar(&o.authTokenAudiences, "auth-token-audiences", nil, "with --auth kubernetes, accept only a token valid for one of these audiences (comma-separated), as kube-rbac-proxy's flag; default: the API server's own")
	f.StringVar(&o.tlsCert, "tls-cert-file", "", "serve https with this PEM certificate (with --tls-key-file), read again when it changes")
	f.StringVar(&o.tlsKey, "tls-key-file", "", "PEM private key of --tls-cert-file")
	_ = stdout
	return cmd
}

// validate checks the flags; its errors name the flag and say why.
func (o *serveOptions) validate(args []string, changed func(string) bool) error {
	switch {
	case o.config != "" && len(args) > 0:
		return usagef("give SERVICE or --config, not both")
	case o.config == "" && len(args) == 0:
		return usagef("serve needs a SERVICE argument (with --port) or --config FILE")
	case o.interval <= 0:
		return usagef("--interval must be positive, got %s", o.interval)
	case o.interval < time.Millisecond:
		return usagef("--interval %s is shorter than 1ms: the history's timestamps are milliseconds, and no pod answers within such a timeout", o.interval)
	case changed("timeout") && o.timeout > 0 && o.timeout < time.Millisecond:
		return usagef("--timeout %s is shorter than 1ms: no pod answers within it", o.timeout)
	case o.retention <= 0:
		return usagef("--retention must be positive, got %s", o.retention)
	case o.maxAge < 0:
		return usagef("--max-age must not be negative, got %s", o.maxAge)
	case o.lookbackDelta <= 0:
		return usagef("--lookback-delta must be positive, got %s", o.lookbackDelta)
	case o.maxAge > o.retention:
		return usagef("--max-age %s is longer than --retention %s: a query's time up to --max-age before it arrived is read as now, so a time before the history would be answered with now's values", o.maxAge, o.retention)
	case o.maxSamples <= 0:
		return usagef("--query-max-samples must be positive, got %d", o.maxSamples)
	case o.maxConcurrency <= 0:
		return usagef("--query-max-concurrency must be positive, got %d", o.maxConcurrency)
	case o.seriesLimit <= 0:
		return usagef("--series-limit must be positive, got %d", o.seriesLimit)
	case o.auth != "none" && o.auth != "kubernetes":
		return usagef("--auth must be none or kubernetes, got %q", o.auth)
	// Given empty (a script's unset variable), it would name no audience: serve would
	// accept the API server's own tokens, which the flag is given to refuse.
	case changed("auth-token-audiences") && len(o.authTokenAudiences) == 0:
		return usagef("--auth-token-audiences is empty: give the audiences, comma-separated")
	case len(o.authTokenAudiences) > 0 && o.auth != "kubernetes":
		return usagef("--auth-token-audiences needs --auth kubernetes")
	case slices.Contains(o.authTokenAudiences, ""):
		return usagef("--auth-token-audiences %q names an empty audience", strings.Join(o.authTokenAudiences, ","))
	// Both given empty (unset variables), serve would answer plain http where https, and
	// the token it carries, were meant.
	case changed("tls-cert-file") && o.tlsCert == "":
		return usagef("--tls-cert-file is empty: give the PEM certificate's file")
	case changed("tls-key-file") && o.tlsKey == "":
		return usagef("--tls-key-file is empty: give the PEM private key's file")
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return usagef("--tls-cert-file and --tls-key-file go together")
	}
	// Checked now, not when the listener opens: that is after the informers synced, up
	// to a minute later, and a runtime error.
	if _, p, err := net.SplitHostPort(o.listen); err != nil {
		return usagef("--listen %q is not HOST:PORT (:9090, 127.0.0.1:9090): %w", o.listen, err)
	} else if _, err := net.LookupPort("tcp", p); err != nil {
		return usagef("--listen %q: %w", o.listen, err)
	}
	if o.tlsCert != "" {
		// Loaded now, not by ServeTLS: that fails after the URL is announced, and names
		// neither flag.
		cert, err := loadKeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return err
		}
		o.certificate = &cert
	}
	if o.config != "" {
		for _, name := range append(podFlagNames(), "pod-label") {
			if changed(name) {
				return usagef("--%s configures SERVICE: with --config, set it in the file", name)
			}
		}
		return nil
	}
	if changed("timeout") && o.timeout > o.interval {
		return usagef("--timeout %s is longer than --interval %s: a Service's scrapes never overlap, so each must end within the interval", o.timeout, o.interval)
	}
	// As serve.Config's checks, named by their flags: without --max-age only the
	// interval scrapes, and the history must hold the scrape before the newest; and an
	// instant selector must reach the newest from just before the next comes in.
	timeout := min(pod.DefaultScrapeTimeout, o.interval)
	if changed("timeout") {
		timeout = o.timeout
	}
	next, flag := o.interval, "--interval"
	if o.maxAge > 0 && o.maxAge < next {
		next, flag = o.maxAge, "--max-age" // a query at now scrapes once the newest is that old
	}
	switch {
	case (o.maxAge == 0 || o.maxAge >= o.interval) && o.retention < o.interval+timeout:
		return usagef("--retention %s is shorter than --interval %s plus --timeout %s: the history would not hold two scrapes, and every rate() and range window would answer 422 (or set a --max-age shorter than --interval, so that queries scrape too)",
			o.retention, o.interval, timeout)
	case o.lookbackDelta < next+timeout:
		return usagef("%s %s plus --timeout %s is longer than the %s lookback delta of instant selectors (--lookback-delta): an instant query between two scrapes would find no sample and answer empty (set --lookback-delta %s or more, scrape more often, or set a shorter --max-age, so that queries scrape first)",
			flag, next, timeout, o.lookbackDelta, next+timeout)
	}
	return o.podFlags.validate(changed)
}

// checkLookback is serve.Config's checks of the retention and the lookback delta against
// each Service of --config, named by the flags: without a --max-age shorter than its
// interval, the history must hold the scrape before the newest, else no rate() nor range
// window has two samples; and an instant selector must reach the newest sample from
// just before the next scrape comes in (an interval later, or, under a shorter
// --max-age, once the newest is that old), else an instant query then answers empty.
// A Service's interval or timeout that serve.Config refuses is left to it: it checks
// them first, and says so.
func (o *serveOptions) checkLookback(services []serve.ServiceConfig) error {
	for _, s := range services {
		interval := cmp.Or(s.Interval, o.interval)
		timeout := cmp.Or(s.Source.ScrapeTimeout, min(pod.DefaultScrapeTimeout, interval))
		if interval < time.Millisecond || timeout > interval || (s.Source.ScrapeTimeout > 0 && s.Source.ScrapeTimeout < time.Millisecond) {
			return nil
		}
	}
	for i, s := range services {
		interval := cmp.Or(s.Interval, o.interval)
		timeout := cmp.Or(s.Source.ScrapeTimeout, min(pod.DefaultScrapeTimeout, interval))
		if (o.maxAge == 0 || o.maxAge >= interval) && o.retention < interval+timeout {
			return usagef("--config %s: services[%d] (%s/%s): --retention %s is shorter than its interval %s plus its timeout %s: the history would not hold two scrapes, and every rate() and range window would answer 422 (set --retention %s or more, or a --max-age shorter than its interval, so that queries scrape too)",
				o.config, i, s.Source.ServiceNamespace, s.Source.ServiceName, o.retention, interval, timeout, interval+timeout)
		}
		next, what := interval, "its interval"
		if o.maxAge > 0 && o.maxAge < next {
			next, what = o.maxAge, "--max-age"
		}
		if lookback := cmp.Or(o.lookbackDelta, history.DefaultLookbackDelta); lookback < next+timeout {
			return usagef("--config %s: services[%d] (%s/%s): %s %s plus its timeout %s is longer than the %s lookback delta of instant selectors (--lookback-delta): an instant query between two scrapes would find no sample and answer empty (set --lookback-delta %s or more, scrape it more often, or set a shorter --max-age, so that queries scrape first)",
				o.config, i, s.Source.ServiceNamespace, s.Source.ServiceName, what, next, timeout, lookback, next+timeout)
		}
	}
	return nil
}

// warnings are what serve says at start of settings it accepts that answer less than
// they may seem to: under --max-age queries scrape too, so a --retention or the lookback
// delta shorter than a Service's interval plus its timeout is not refused, but range
// windows, range queries' steps and instant queries of past times (which scrape at now
// all the same) then read no scrape of their own. And a --max-age no shorter than every Service's interval
// makes no query scrape while the intervals' scrapes are on time, but still reads a
// query's time up to --max-age before it arrived as now.
func (o *serveOptions) warnings(services []serve.ServiceConfig) []string {
	if o.maxAge == 0 {
		return nil
	}
	var out []string
	var longest time.Duration
	for _, s := range services {
		longest = max(longest, cmp.Or(s.Interval, o.interval))
	}
	if o.maxAge >= longest {
		out = append(out, fmt.Sprintf("--max-age %s is not shorter than any Service's interval (the longest is %s): their interval's scrapes are fresher, so a query scrapes first only when one is late, and a query's time up to %s before it arrived is answered as now",
			o.maxAge, longest, o.maxAge))
	}
	for i, s := range services {
		interval := cmp.Or(s.Interval, o.interval)
		timeout := cmp.Or(s.Source.ScrapeTimeout, min(pod.DefaultScrapeTimeout, interval))
		reach := interval + timeout
		name := fmt.Sprintf("services[%d] (%s/%s)", i, s.Source.ServiceNamespace, s.Source.ServiceName)
		if o.retention < reach && o.maxAge < interval {
			out = append(out, fmt.Sprintf("%s: --retention %s is shorter than its interval %s plus its timeout %s: its history holds two scrapes, for rate() and range windows, only while queries scrape it (--max-age %s) more often than that",
				name, o.retention, interval, timeout, o.maxAge))
		}
		if lookback := cmp.Or(o.lookbackDelta, history.DefaultLookbackDelta); lookback < reach {
			out = append(out, fmt.Sprintf("%s: its interval %s plus its timeout %s is longer than the %s lookback delta: a query evaluated at an earlier time than its scrape (a past instant, a range query's steps) finds no sample of it between two interval scrapes, and answers empty (--lookback-delta %s or more would find it)",
				name, interval, timeout, lookback, reach))
		}
	}
	return out
}

func (o *serveOptions) run(ctx context.Context, kube *kubeFlags, args []string, changed func(string) bool, stderr io.Writer) error {
	if err := o.validate(args, changed); err != nil {
		return err
	}
	restConfig, err := kube.restConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	var (
		c        client.Client
		services []serve.ServiceConfig
	)
	if o.config != "" {
		namespace, err := kube.namespace()
		if err != nil {
			return fmt.Errorf("kubeconfig: %w", err)
		}
		if services, err = serve.LoadFileInterval(o.config, namespace, o.interval); err != nil {
			return usagef("--config: %w", err)
		}
		if err := o.checkLookback(services); err != nil {
			return err
		}
		if c, err = client.New(restConfig, client.Options{}); err != nil {
			return fmt.Errorf("client for %s: %w", restConfig.Host, err)
		}
	} else {
		cl, cfg, err := o.podFlags.connect(ctx, kube, args[0])
		if err != nil {
			return err
		}
		c = cl
		cfg.PodLabels = o.podLabels
		if err := cfg.Validate(); err != nil { // connect checked the rest
			return usagef("%w", flagError(err))
		}
		if !changed("timeout") {
			// serve's default, as Prometheus': pod.DefaultScrapeTimeout capped at the
			// interval. The flag's 5s would be refused above a shorter --interval.
			cfg.ScrapeTimeout = 0
		}
		services = []serve.ServiceConfig{{Source: cfg}}
	}
	// Services and Pods come from informers of the Services' namespaces, synced before
	// the first scrape: a scrape then reads no API. Token Secrets stay direct reads, one
	// per scrape, through a client whose rate limit fits them (serveAPIConfig).
	restConfig = serveAPIConfig(restConfig, services, o.interval, o.maxAge)
	secrets, err := client.New(restConfig, client.Options{})
	if err != nil {
		return fmt.Errorf("client for %s: %w", restConfig.Host, err)
	}
	for i := range services {
		if services[i].Source.SecretReader == nil {
			services[i].Source.SecretReader = secrets
		}
	}
	cfg := serve.Config{
		Services:             services,
		Interval:             o.interval,
		Retention:            o.retention,
		MaxAge:               o.maxAge,
		LookbackDelta:        o.lookbackDelta,
		AllowPartialWindows:  o.allowPartialWindows,
		MaxSamples:           o.maxSamples,
		MaxConcurrentQueries: o.maxConcurrency,
		SeriesLimit:          o.seriesLimit,
		Version:              buildVersion(),
	}
	// Every setting is checked before the informers ask the API server anything (serve.New
	// makes no request): a wrong setting is a usage error naming it, whether or not the
	// API server answers, not found after a minute of waiting for a cache to sync.
	check, err := serve.New(ctx, c, cfg)
	if err != nil {
		if o.config != "" {
			return usagef("--config %s: %w", o.config, err)
		}
		return usagef("%w", err)
	}
	_ = check.Close()
	for _, w := range o.warnings(services) {
		fmt.Fprintf(stderr, "Warning: %s\n", w)
	}
	informers, err := serve.StartCache(ctx, restConfig, services)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted before serving, while the informers started: %w", ctx.Err())
		}
		return err
	}
	defer informers.Stop()
	// The process' own metrics beside serve's, as a Prometheus server and a
	// controller-runtime manager expose them: an operator alerts on serve's memory and
	// file descriptors from its /metrics (process_resident_memory_bytes, go_*).
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	cfg.Registerer, cfg.Gatherer = reg, reg
	srv, err := serve.New(ctx, informers, cfg)
	if err != nil {
		return usagef("%w", err)
	}
	defer srv.Close()
	handler := srv.Handler()
	if o.auth == "kubernetes" {
		if handler, err = serve.WithKubernetesAuth(handler, restConfig, errorLog(ctx, stderr),
			serve.TokenAudiences(o.authTokenAudiences...)); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", o.listen, err)
	}
	// Prometheus' web server's bounds: a client cannot hold connections for ever (a
	// slow body, idle keep-alives) nor open them without end; and headers bounded so
	// that the connections' fit in deploy/'s memory. No WriteTimeout, as in Prometheus:
	// Go counts it from the request's headers, so it would cut off a query still being
	// evaluated within its 2m, the client getting a broken connection, not an error.
	// Idle keep-alives are closed to make room for a new connection past the bound
	// (connLimiter says why), and with it the kubelet's probes. OPTIONS * goes to the
	// handler (under --auth, reviewed like any request): net/http's own answer reads up
	// to 4 KiB of its body first, for as long as the client takes, with no token.
	limiter := newConnLimiter(ln, serveMaxConnections)
	limiter.writeStall = serveWriteStallTimeout
	ln = limiter
	hs := &http.Server{Handler: stallBounded(handler, serveWriteStallTimeout), ConnState: limiter.ConnState, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: serveReadTimeout,
		MaxHeaderBytes: serveMaxHeaderBytes, HTTP2: &http.HTTP2Config{MaxConcurrentStreams: serveMaxHTTP2Streams},
		DisableGeneralOptionsHandler: true}
	scheme := "http"
	if o.certificate != nil {
		scheme = "https"
		certs := &keyPairFiles{certFile: o.tlsCert, keyFile: o.tlsKey, log: errorLog(ctx, stderr), cert: o.certificate}
		certs.loaded, _ = certs.stat()
		hs.TLSConfig = &tls.Config{GetCertificate: certs.get}
	}
	fmt.Fprintf(stderr, "Serving Prometheus' HTTP API for %d Service(s) on %s://%s (point Grafana, promtool or KEDA at it; Ctrl-C to stop)\n",
		len(services), scheme, ln.Addr())

	// Serving: a signal now shuts down gracefully, and the API requests in flight (a
	// request's token review) finish.
	kube.keepRequests()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	loops := make(chan error, 1)
	go func() { loops <- srv.Run(ctx) }()
	served := make(chan error, 1)
	go func() {
		if o.certificate != nil {
			served <- hs.ServeTLS(ln, "", "") // hs.TLSConfig's certificates
		} else {
			served <- hs.Serve(ln)
		}
	}()
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	cancel()
	shutdownCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer done()
	_ = hs.Shutdown(shutdownCtx)
	<-loops
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	}
	return nil
}

// loadKeyPair reads the PEM certificate of --tls-cert-file and its key of
// --tls-key-file; an error is a usage error naming the flag at fault.
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, usagef("--tls-cert-file: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, usagef("--tls-key-file: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, usagef("--tls-cert-file %s with --tls-key-file %s: %w", certFile, keyFile, err)
	}
	return cert, nil
}

// keyPairFiles serves the certificate of --tls-cert-file and --tls-key-file, read again
// when either file changes, as controller-runtime's certwatcher and Prometheus' web
// config do: cert-manager renews a certificate into its Secret, the kubelet swaps the
// mounted files, and the next connection gets the new one, with no restart before the
// old one expires. A pair that does not load (a key not yet written beside its new
// certificate) leaves the last good one served, and is read again when the files change
// again. It is safe for concurrent use.
type keyPairFiles struct {
	certFile, keyFile string
	log               logr.Logger

	mu     sync.Mutex       // protects cert, loaded
	cert   *tls.Certificate // the last pair that loaded
	loaded [2]os.FileInfo   // the files when last read, loaded or not
}

// stat is the files' state now.
func (k *keyPairFiles) stat() ([2]os.FileInfo, error) {
	var fis [2]os.FileInfo
	for i, name := range [...]string{k.certFile, k.keyFile} {
		fi, err := os.Stat(name) // through the symlinks of a mounted Secret
		if err != nil {
			return fis, err
		}
		fis[i] = fi
	}
	return fis, nil
}

// get is the tls.Config's GetCertificate: the files' pair, read again when they changed.
func (k *keyPairFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	fis, err := k.stat()
	if err != nil || sameFiles(fis, k.loaded) {
		return k.cert, nil // a file missing while it is replaced: the last pair
	}
	k.loaded = fis
	cert, err := loadKeyPair(k.certFile, k.keyFile)
	if err != nil {
		k.log.Error(err, "serving the previous certificate: the changed files do not load")
		return k.cert, nil
	}
	k.cert = &cert
	return k.cert, nil
}

// sameFiles reports whether a and b are the same files, unchanged.
func sameFiles(a, b [2]os.FileInfo) bool {
	for i := range a {
		if a[i] == nil || b[i] == nil || !os.SameFile(a[i], b[i]) || !a[i].ModTime().Equal(b[i].ModTime()) || a[i].Size() != b[i].Size() {
			return false
		}
	}
	return true
}

// serve's API client's rate limit at the least: kube-controller-manager's
// --kube-api-qps and --kube-api-burst defaults.
const (
	serveAPIQPS   = 20
	serveAPIBurst = 30
)

// serveAPIMinReadPeriod is the shortest period serveAPIConfig counts a Service's token
// Secret reads at: a Service's scrapes never overlap, and each reads the Secret and then
// every pod over HTTP (a vLLM pod renders its metrics in tens of milliseconds), so a
// --max-age shorter than that cannot make them come more often; counted as it is, it
// would lift the client-side limit altogether (--max-age 1ns: 2e9 reads a second).
const serveAPIMinReadPeriod = 100 * time.Millisecond

// serveAPIConfig is cfg with the client-side rate limit of serve's API requests: its
// informers' LIST and WATCH, and the token Secret that each scrape of a Service with
// MetricsReaderSecretName reads directly (a cache of Secrets would need list and watch on
// every Secret of the namespace). client-go's default, which a kubeconfig or the
// in-cluster config leaves, is 5 a second with a burst of 10: every Service's loop
// scrapes at the same moment, so from the 11th Service with a Secret on, scrapes queued
// for the limiter (the 30th 4 s), past their timeout, and every query waited on them.
// The limit is kube-controller-manager's 20 a second (a burst of 30), raised to twice
// the reads the Services need: a burst of two reads per Service with a Secret (its
// interval's and a --max-age query's at once) and twice their steady rate, each read
// every interval, or every maxAge when that is shorter, but no more often than every
// serveAPIMinReadPeriod. The API server's priority and fairness still bounds their load.
func serveAPIConfig(cfg *rest.Config, services []serve.ServiceConfig, interval, maxAge time.Duration) *rest.Config {
	var n int
	var perSecond float64
	for _, s := range services {
		if s.Source.MetricsReaderSecretName == "" {
			continue
		}
		every := s.Interval
		if every <= 0 {
			every = interval
		}
		if maxAge > 0 && maxAge < every {
			every = max(maxAge, serveAPIMinReadPeriod)
		}
		n++
		perSecond += float64(time.Second) / float64(every)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS = float32(max(serveAPIQPS, math.Ceil(2*perSecond)))
	cfg.Burst = max(serveAPIBurst, 2*n)
	cfg.RateLimiter = nil
	return cfg
}

// buildVersion is the module version the binary was built from ("(devel)" from a work
// tree), for /api/v1/status/buildinfo.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "unknown"
}

// errorLog is the command's logger, or, at -v 0 (which logs nothing), one that writes
// errors alone to stderr: a server says why it answered a client 500 (an auth review it
// could not make) whatever its verbosity.
func errorLog(ctx context.Context, stderr io.Writer) logr.Logger {
	log := ctrllog.FromContext(ctx)
	if log.GetSink() != nil {
		return log
	}
	return funcr.New(func(prefix, args string) { fmt.Fprintln(stderr, prefix, args) }, funcr.Options{Verbosity: -1})
}
