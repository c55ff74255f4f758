package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/serve"
	"github.com/podscrape/podscrape/source/pod"
)

// podFlags are the flags that say how to reach a Service's pods, shared by scrape and
// query.
type podFlags struct {
	port            int32
	path            string
	scheme          string
	secret          string
	secretNamespace string
	secretKey       string
	token           string
	timeout         time.Duration
	concurrency     int
	caFile          string
	tlsServerName   string
	insecure        bool
	sampleLimit     int
	bodySizeLimit   serve.ByteSize
	caData          []byte // read from caFile by validate
}

func (o *podFlags) add(f *pflag.FlagSet) {
	f.Int32Var(&o.port, "port", 0, "the pods' metrics port, 1-65535 (required; e.g. 9090 for the EPP, 8000 for vLLM)")
	f.StringVar(&o.path, "path", pod.DefaultMetricsPath, "HTTP path of the pods' metrics endpoint")
	f.StringVar(&o.scheme, "scheme", pod.DefaultMetricsScheme, "http or https")
	f.StringVar(&o.secret, "secret", "", "Secret holding a Bearer token for the pods (read once per scrape)")
	f.StringVar(&o.secretNamespace, "secret-namespace", "", "namespace of --secret (default: the Service's namespace)")
	f.StringVar(&o.secretKey, "secret-key", pod.DefaultMetricsReaderKey, "data key of --secret holding the token")
	f.StringVar(&o.token, "token", "", "Bearer token for the pods (prefer --secret: a flag shows in the process list)")
	f.DurationVar(&o.timeout, "timeout", pod.DefaultScrapeTimeout, "time limit of each pod's scrape")
	f.IntVar(&o.concurrency, "concurrency", pod.DefaultMaxConcurrentScrapes, "pods scraped at once, at most")
	f.StringVar(&o.caFile, "pod-ca-file", "", "with --scheme https: PEM file of the CAs that sign the pods' certificates (default: system roots)")
	f.StringVar(&o.tlsServerName, "pod-tls-server-name", "", "with --scheme https: name verified in the pods' certificates (default: the pod IP)")
	f.BoolVar(&o.insecure, "pod-insecure-skip-tls-verify", false, "with --scheme https: do not verify the pods' certificates (insecure)")
	f.IntVar(&o.sampleLimit, "sample-limit", 0, "most samples one pod may expose, as Prometheus' sample_limit: a pod over it fails alone, none of its samples kept (0: no limit)")
	f.Var(&o.bodySizeLimit, "body-size-limit", "largest response one pod may answer, decompressed, as Prometheus' body_size_limit: bytes, or a size such as 64MiB or 100MB (powers of 1024); a pod over it fails alone (0: 16MiB)")
}

// podFlagNames are the flags add adds, which say how to reach the pods.
func podFlagNames() []string {
	return []string{"port", "path", "scheme", "secret", "secret-namespace", "secret-key", "token", "timeout",
		"concurrency", "pod-ca-file", "pod-tls-server-name", "pod-insecure-skip-tls-verify", "sample-limit", "body-size-limit"}
}

// validate checks the flags; its errors name the flag and say why.
func (o *podFlags) validate(changed func(flag string) bool) error {
	switch {
	case !changed("port"):
		return usagef("--port is required: the pods' metrics port (e.g. 9090 for the EPP, 8000 for vLLM)")
	case o.port < 1 || o.port > 65535:
		return usagef("--port %d is outside 1-65535: give the pods' metrics port", o.port)
	case o.path == "" || o.path[0] != '/':
		return usagef("--path %q must start with \"/\"", o.path)
	case o.scheme != "http" && o.scheme != "https":
		return usagef("--scheme must be http or https, got %q", o.scheme)
	// Given empty (a script's unset variable), the library would scrape without a token.
	case changed("secret") && o.secret == "":
		return usagef("--secret is empty: give the Secret's name")
	case changed("token") && o.token == "":
		return usagef("--token is empty: give the token")
	case o.secret == "" && changed("secret-namespace"):
		return usagef("--secret-namespace needs --secret")
	// Given empty, the Service's namespace would be read: a Secret of that name there
	// sends another token than the one meant.
	case changed("secret-namespace") && o.secretNamespace == "":
		return usagef("--secret-namespace is empty: give the Secret's namespace, or leave the flag out for the Service's")
	case o.secret == "" && changed("secret-key"):
		return usagef("--secret-key needs --secret")
	case o.secretKey == "":
		return usagef("--secret-key must not be empty")
	case o.secret != "" && o.token != "":
		return usagef("--secret and --token are mutually exclusive: give the token one way")
	case o.timeout <= 0:
		return usagef("--timeout must be positive, got %s", o.timeout)
	case o.concurrency < 1:
		return usagef("--concurrency must be at least 1, got %d", o.concurrency)
	case o.sampleLimit < 0:
		return usagef("--sample-limit must not be negative, got %d", o.sampleLimit)
	}
	if o.scheme != "https" {
		for _, name := range []string{"pod-ca-file", "pod-tls-server-name", "pod-insecure-skip-tls-verify"} {
			if changed(name) {
				return usagef("--%s needs --scheme https", name)
			}
		}
	}
	if o.caFile != "" {
		var err error
		if o.caData, err = os.ReadFile(o.caFile); err != nil {
			return usagef("--pod-ca-file: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(o.caData) {
			return usagef("--pod-ca-file %s holds no PEM certificate", o.caFile)
		}
	}
	return nil
}

// connect builds the API client from the kubectl flags and the source config of
// service, checks the config as the library does (a usage error), and then that a named
// --secret exists with its key.
func (o *podFlags) connect(ctx context.Context, kube *kubeFlags, service string) (client.Client, pod.PodScrapingSourceConfig, error) {
	var cfg pod.PodScrapingSourceConfig
	namespace, err := kube.namespace()
	if err != nil {
		return nil, cfg, fmt.Errorf("kubeconfig: %w", err)
	}
	if err := o.validateNames(namespace, service); err != nil {
		return nil, cfg, err
	}
	restConfig, err := kube.restConfig()
	if err != nil {
		return nil, cfg, fmt.Errorf("kubeconfig: %w", err)
	}
	c, err := client.New(restConfig, client.Options{})
	if err != nil {
		return nil, cfg, fmt.Errorf("client for %s: %w", restConfig.Host, err)
	}
	cfg = pod.PodScrapingSourceConfig{
		ServiceName:                  service,
		ServiceNamespace:             namespace,
		MetricsPort:                  o.port,
		MetricsPath:                  o.path,
		MetricsScheme:                o.scheme,
		MetricsReaderSecretName:      o.secret,
		MetricsReaderSecretNamespace: o.secretNamespace,
		MetricsReaderSecretKey:       o.secretKey,
		BearerToken:                  o.token,
		ScrapeTimeout:                o.timeout,
		MaxConcurrentScrapes:         o.concurrency,
		TLSCAData:                    o.caData,
		TLSServerName:                o.tlsServerName,
		InsecureSkipVerify:           o.insecure,
		SampleLimit:                  o.sampleLimit,
		MaxBodyBytes:                 int64(o.bodySizeLimit),
	}
	// The library's own checks before any API request: a setting it refuses is a usage
	// error of every command alike, naming the flag, not a Secret's read or a refused
	// connection first.
	if err := cfg.Validate(); err != nil {
		return nil, cfg, usagef("%w", flagError(err))
	}
	if o.secret != "" {
		ns := o.secretNamespace
		if ns == "" {
			ns = namespace
		}
		if err := checkSecret(ctx, c, ns, o.secret, o.secretKey); err != nil {
			return nil, cfg, err
		}
	}
	return c, cfg, nil
}

// sourceFlags are the flags (or argument) setting each PodScrapingSourceConfig field
// that connect (or serve, PodLabels) sets, by the field's Go name, as pod.ConfigError
// names it.
var sourceFlags = map[string]string{
	"ServiceName":                  "SERVICE",
	"ServiceNamespace":             "namespace (-n, or the kubeconfig context's)",
	"MetricsPort":                  "--port",
	"MetricsPath":                  "--path",
	"MetricsScheme":                "--scheme",
	"MetricsReaderSecretName":      "--secret",
	"MetricsReaderSecretNamespace": "--secret-namespace",
	"MetricsReaderSecretKey":       "--secret-key",
	"BearerToken":                  "--token",
	"ScrapeTimeout":                "--timeout",
	"MaxConcurrentScrapes":         "--concurrency",
	"TLSCAData":                    "--pod-ca-file",
	"TLSServerName":                "--pod-tls-server-name",
	"InsecureSkipVerify":           "--pod-insecure-skip-tls-verify",
	"SampleLimit":                  "--sample-limit",
	"MaxBodyBytes":                 "--body-size-limit",
	"PodLabels":                    "--pod-label",
}

// flagError prefixes a refused config field's error with the flag that set it, so that a
// usage error names the flag, whatever the library's wording.
func flagError(err error) error {
	var ce *pod.ConfigError
	if errors.As(err, &ce) {
		if flag, ok := sourceFlags[ce.Field]; ok {
			return fmt.Errorf("%s: %w", flag, err)
		}
	}
	return err
}

// validateNames refuses, as a usage error, names the API server could never hold (it
// validates them so: a namespace and a Service name are DNS-1123 labels, a Secret name a
// DNS-1123 subdomain), which would otherwise read as "not found". A Service name is not
// held to the older DNS-1035 label: API servers with relaxed Service name validation
// (RelaxedServiceNameValidation: on by default from Kubernetes 1.36, GA in 1.37) hold
// Services whose name starts with a digit.
func (o *podFlags) validateNames(namespace, service string) error {
	if service == "" { // a script's unset variable: name the argument, not the library's field
		return usagef("SERVICE is empty: give the Service's name")
	}
	for _, n := range []struct {
		what, value string
		check       func(string) []string
	}{
		{"namespace (-n, or the kubeconfig context's)", namespace, validation.IsDNS1123Label},
		{"SERVICE", service, validation.IsDNS1123Label},
		{"--secret", o.secret, validation.IsDNS1123Subdomain},
		{"--secret-namespace", o.secretNamespace, validation.IsDNS1123Label},
	} {
		if n.value == "" {
			continue
		}
		if errs := n.check(n.value); len(errs) > 0 {
			return usagef("%s %q is not a valid Kubernetes name: %s", n.what, n.value, strings.Join(errs, "; "))
		}
	}
	return nil
}
