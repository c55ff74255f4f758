package main

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// kubeFlags are kubectl's flags for reaching the API server (--kubeconfig, --context, -n,
// ...), read as kubectl reads them: the kubeconfig's loading rules (--kubeconfig, then
// $KUBECONFIG, then ~/.kube/config, then the in-cluster ServiceAccount), each flag set
// overriding its field.
//
// They are client-go's clientcmd bound by hand rather than k8s.io/cli-runtime's
// ConfigFlags: cli-runtime links kustomize, and kustomize links the plugin package, which
// makes the linker keep and export every symbol. That doubled the binary (125 MB against
// 64, 16 MB of it dynamic symbols) and its resident pages. kubectl's --token (the API server's
// Bearer token) and --cache-dir (the discovery cache, unused here) are left out: here
// --token is the pods' token.
//
// Two differences from kubectl, on purpose. With no kubeconfig anywhere and outside a
// cluster, the error says no configuration was provided, where kubectl falls back to
// http://localhost:8080 and fails later on a refused connection. In a pod with no
// kubeconfig, the in-cluster ServiceAccount is used with --as, --as-uid, --as-group,
// --as-user-extra and --request-timeout applied (see withImpersonationAndTimeout).
type kubeFlags struct {
	kubeconfig string
	overrides  clientcmd.ConfigOverrides // as the flags set them, --as-user-extra aside
	userExtra  []string

	once   sync.Once
	merged clientcmd.ConfigOverrides // overrides with userExtra, set with config
	config clientcmd.ClientConfig

	aborted <-chan struct{} // when set, closing it aborts the API requests (abort.go)
	disarm  func() bool
}

// addFlags adds kubectl's flags, with its names and help, to fs.
func (k *kubeFlags) addFlags(fs *pflag.FlagSet) {
	o := &k.overrides
	fs.StringVar(&k.kubeconfig, "kubeconfig", "", "Path to the kubeconfig file to use for CLI requests.")
	fs.StringVar(&o.Context.Cluster, "cluster", "", "The name of the kubeconfig cluster to use")
	fs.StringVar(&o.Context.AuthInfo, "user", "", "The name of the kubeconfig user to use")
	fs.StringVarP(&o.Context.Namespace, "namespace", "n", "", "If present, the namespace scope for this CLI request")
	fs.StringVar(&o.CurrentContext, "context", "", "The name of the kubeconfig context to use")
	fs.StringVarP(&o.ClusterInfo.Server, "server", "s", "", "The address and port of the Kubernetes API server")
	fs.StringVar(&o.ClusterInfo.TLSServerName, "tls-server-name", "", "Server name to use for server certificate validation. If it is not provided, the hostname used to contact the server is used")
	fs.BoolVar(&o.ClusterInfo.InsecureSkipTLSVerify, "insecure-skip-tls-verify", false, "If true, the server's certificate will not be checked for validity. This will make your HTTPS connections insecure")
	fs.StringVar(&o.ClusterInfo.CertificateAuthority, "certificate-authority", "", "Path to a cert file for the certificate authority")
	fs.StringVar(&o.ClusterInfo.ProxyURL, "proxy-url", "", "Proxy URL to use for requests to the API server")
	fs.BoolVar(&o.ClusterInfo.DisableCompression, "disable-compression", false, "If true, opt-out of response compression for all requests to the server")
	fs.StringVar(&o.AuthInfo.ClientCertificate, "client-certificate", "", "Path to a client certificate file for TLS")
	fs.StringVar(&o.AuthInfo.ClientKey, "client-key", "", "Path to a client key file for TLS")
	fs.StringVar(&o.AuthInfo.Impersonate, "as", "", "Username to impersonate for the operation. User could be a regular user or a service account in a namespace.")
	fs.StringVar(&o.AuthInfo.ImpersonateUID, "as-uid", "", "UID to impersonate for the operation.")
	fs.StringArrayVar(&o.AuthInfo.ImpersonateGroups, "as-group", nil, "Group to impersonate for the operation, this flag can be repeated to specify multiple groups.")
	fs.StringArrayVar(&k.userExtra, "as-user-extra", nil, "User extras to impersonate for the operation, this flag can be repeated to specify multiple values for the same key.")
	fs.StringVar(&o.Timeout, "request-timeout", "0", "The length of time to wait before giving up on a single server request. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't timeout requests.")
}

// validate checks the values of the flags kubectl parses itself, accepting what kubectl
// accepts, so that a bad one is a usage error naming its flag, not a kubeconfig error once
// the command has started (kubectl exits 1 there, as for any error). An empty
// --request-timeout is no timeout, as there.
func (k *kubeFlags) validate() error {
	if t := k.overrides.Timeout; t != "" {
		if _, err := clientcmd.ParseTimeout(t); err != nil {
			return usagef("--request-timeout %q is not a timeout: give whole seconds (30) or a duration with its unit (1s, 2m, 3h); 0 is none", t)
		}
	}
	return nil
}

// clientConfig is the kubeconfig as the flags select and override it, loaded once.
func (k *kubeFlags) clientConfig() clientcmd.ClientConfig {
	k.once.Do(func() {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rules.ExplicitPath = k.kubeconfig
		k.merged = k.withUserExtra() // no ClusterDefaults: without a kubeconfig, say so (below)
		k.config = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &k.merged)
	})
	return k.config
}

// withUserExtra is a copy of the flags' overrides with --as-user-extra KEY=VALUE in them.
func (k *kubeFlags) withUserExtra() clientcmd.ConfigOverrides {
	overrides := k.overrides
	for _, extra := range k.userExtra {
		key, value, ok := strings.Cut(extra, "=")
		if !ok {
			continue // as kubectl: an extra without "=" is ignored
		}
		if overrides.AuthInfo.ImpersonateUserExtra == nil {
			overrides.AuthInfo.ImpersonateUserExtra = map[string][]string{}
		}
		overrides.AuthInfo.ImpersonateUserExtra[key] = append(overrides.AuthInfo.ImpersonateUserExtra[key], value)
	}
	return overrides
}

// restConfig is the API server's client configuration.
func (k *kubeFlags) restConfig() (*rest.Config, error) {
	cfg, err := k.clientConfig().ClientConfig()
	if err != nil {
		return nil, err
	}
	if cfg, err = withImpersonationAndTimeout(cfg, &k.merged); err != nil {
		return nil, err
	}
	if k.aborted != nil {
		aborted := k.aborted
		cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return abortable{aborted: aborted, rt: rt} })
	}
	return cfg, nil
}

// withImpersonationAndTimeout is a copy of cfg with the impersonation (--as, --as-uid,
// --as-group, --as-user-extra) and the --request-timeout of o set on it, whichever way
// client-go made cfg. Its in-cluster fallback (a pod with no kubeconfig) reads only
// --server, --certificate-authority and a token and drops the rest silently, so that
// `serve --as limited-user` would run with the ServiceAccount's own rights. From a
// kubeconfig, client-go has set them already, merged as here (a flag overrides the
// kubeconfig's field, an extra its key): setting them again changes nothing.
func withImpersonationAndTimeout(cfg *rest.Config, o *clientcmd.ConfigOverrides) (*rest.Config, error) {
	cfg = rest.CopyConfig(cfg)
	as := o.AuthInfo
	if as.Impersonate != "" {
		cfg.Impersonate.UserName = as.Impersonate
	}
	if as.ImpersonateUID != "" {
		cfg.Impersonate.UID = as.ImpersonateUID
	}
	if len(as.ImpersonateGroups) > 0 {
		cfg.Impersonate.Groups = slices.Clone(as.ImpersonateGroups)
	}
	if len(as.ImpersonateUserExtra) > 0 {
		extra := make(map[string][]string, len(cfg.Impersonate.Extra)+len(as.ImpersonateUserExtra))
		maps.Copy(extra, cfg.Impersonate.Extra) // CopyConfig shares the map: write to a new one
		for key, values := range as.ImpersonateUserExtra {
			extra[key] = slices.Clone(values)
		}
		cfg.Impersonate.Extra = extra
	}
	if o.Timeout != "" {
		timeout, err := clientcmd.ParseTimeout(o.Timeout)
		if err != nil {
			return nil, fmt.Errorf("--request-timeout %q: %w", o.Timeout, err)
		}
		cfg.Timeout = timeout
	}
	return cfg, nil
}

// namespace is -n, else the context's namespace, else "default".
func (k *kubeFlags) namespace() (string, error) {
	ns, _, err := k.clientConfig().Namespace()
	return ns, err
}
