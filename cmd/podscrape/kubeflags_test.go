package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
)

// twoContexts is a kubeconfig of two clusters (loopback addresses, never dialled here),
// the current context's namespace a, the other's b.
const twoContexts = `apiVersion: v1
kind: Config
clusters:
- {name: one, cluster: {server: "https://127.0.0.1:6443"}}
- {name: two, cluster: {server: "https://127.0.0.2:6443"}}
users:
- {name: me, user: {token: t}}
contexts:
- {name: a, context: {cluster: one, user: me, namespace: ns-a}}
- {name: b, context: {cluster: two, user: me, namespace: ns-b}}
- {name: bare, context: {cluster: one, user: me}}
current-context: a
`

// parsed is the kubeFlags that args set.
func parsed(t *testing.T, args ...string) *kubeFlags {
	t.Helper()
	k := &kubeFlags{}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	k.addFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKubeFlagsReadAsKubectl: the kubeconfig's loading rules and each flag's override, as
// kubectl applies them.
func TestKubeFlagsReadAsKubectl(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "config")
	if err := os.WriteFile(kubeconfig, []byte(twoContexts), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", dir) // no ~/.kube/config of the machine's
	t.Setenv("KUBECONFIG", "")
	// Several files in $KUBECONFIG, merged as kubectl merges them: the first to set a
	// field wins (current-context "b" here, from a file that holds nothing else), each
	// context, cluster and user found in whichever file holds it; a missing file skipped.
	first := filepath.Join(dir, "first")
	if err := os.WriteFile(first, []byte("apiVersion: v1\nkind: Config\ncurrent-context: b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	several := strings.Join([]string{first, filepath.Join(dir, "missing"), kubeconfig}, string(os.PathListSeparator))
	for _, tc := range []struct {
		name            string
		env             string
		args            []string
		namespace, host string
	}{
		{"the current context", "", []string{"--kubeconfig", kubeconfig}, "ns-a", "https://127.0.0.1:6443"},
		{"$KUBECONFIG", kubeconfig, nil, "ns-a", "https://127.0.0.1:6443"},
		{"$KUBECONFIG of several files", several, nil, "ns-b", "https://127.0.0.2:6443"},
		{"--context over $KUBECONFIG's", several, []string{"--context", "a"}, "ns-a", "https://127.0.0.1:6443"},
		{"--kubeconfig over $KUBECONFIG", several, []string{"--kubeconfig", kubeconfig}, "ns-a", "https://127.0.0.1:6443"},
		{"--context", "", []string{"--kubeconfig", kubeconfig, "--context", "b"}, "ns-b", "https://127.0.0.2:6443"},
		{"-n over the context's", "", []string{"--kubeconfig", kubeconfig, "-n", "mine"}, "mine", "https://127.0.0.1:6443"},
		{"a context without a namespace", "", []string{"--kubeconfig", kubeconfig, "--context", "bare"}, "default", "https://127.0.0.1:6443"},
		{"--cluster", "", []string{"--kubeconfig", kubeconfig, "--cluster", "two"}, "ns-a", "https://127.0.0.2:6443"},
		{"--server", "", []string{"--kubeconfig", kubeconfig, "-s", "https://127.0.0.3:443"}, "ns-a", "https://127.0.0.3:443"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tc.env)
			k := parsed(t, tc.args...)
			ns, err := k.namespace()
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := k.restConfig()
			if err != nil {
				t.Fatal(err)
			}
			if ns != tc.namespace || cfg.Host != tc.host {
				t.Errorf("namespace %q, host %q; want %q, %q", ns, cfg.Host, tc.namespace, tc.host)
			}
		})
	}

	t.Run("impersonation and the request timeout", func(t *testing.T) {
		k := parsed(t, "--kubeconfig", kubeconfig, "--as", "jane", "--as-uid", "42", "--as-group", "g1", "--as-group", "g2",
			"--as-user-extra", "scopes=view", "--as-user-extra", "scopes=edit", "--as-user-extra", "no-equals", "--request-timeout", "7s")
		cfg, err := k.restConfig()
		if err != nil {
			t.Fatal(err)
		}
		im := cfg.Impersonate
		if im.UserName != "jane" || im.UID != "42" || !reflect.DeepEqual(im.Groups, []string{"g1", "g2"}) ||
			!reflect.DeepEqual(im.Extra, map[string][]string{"scopes": {"view", "edit"}}) {
			t.Errorf("impersonation %+v", im)
		}
		if cfg.Timeout.String() != "7s" {
			t.Errorf("timeout %s, want 7s", cfg.Timeout)
		}
	})

	t.Run("no kubeconfig anywhere", func(t *testing.T) {
		// Outside a cluster with no kubeconfig the error says so, rather than a client
		// of http://localhost:8080 that fails later on a refused connection.
		_, err := parsed(t).restConfig()
		if err == nil || !strings.Contains(err.Error(), "no configuration has been provided") {
			t.Errorf("error %v, want one saying no configuration was provided", err)
		}
	})
}

// TestKubeFlagsImpersonationAndTimeoutApplied: the impersonation and timeout flags are set on a
// client configuration that client-go made without them (its in-cluster fallback drops
// them), merged over one a kubeconfig gave as client-go merges them, and a configuration
// without the flags is left as it was.
func TestKubeFlagsImpersonationAndTimeoutApplied(t *testing.T) {
	all := []string{"--as", "jane", "--as-uid", "42", "--as-group", "g1", "--as-group", "g2",
		"--as-user-extra", "scopes=view", "--as-user-extra", "scopes=edit", "--request-timeout", "7s"}
	inCluster := func() *rest.Config {
		return &rest.Config{Host: "https://10.96.0.1:443", BearerTokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token"}
	}
	fromKubeconfig := func() *rest.Config {
		cfg := inCluster()
		cfg.Impersonate = rest.ImpersonationConfig{UserName: "kube-as", UID: "7", Groups: []string{"kg"}, Extra: map[string][]string{"team": {"a"}}}
		return cfg
	}
	for _, tc := range []struct {
		name    string
		base    *rest.Config
		args    []string
		want    rest.ImpersonationConfig
		timeout time.Duration
	}{
		{"in a pod, no flags", inCluster(), nil, rest.ImpersonationConfig{}, 0},
		{"in a pod, every flag", inCluster(), all,
			rest.ImpersonationConfig{UserName: "jane", UID: "42", Groups: []string{"g1", "g2"}, Extra: map[string][]string{"scopes": {"view", "edit"}}}, 7 * time.Second},
		{"in a pod, --as alone", inCluster(), []string{"--as", "jane"}, rest.ImpersonationConfig{UserName: "jane"}, 0},
		{"a kubeconfig's, no flags", fromKubeconfig(), nil, fromKubeconfig().Impersonate, 0},
		{"a kubeconfig's, every flag", fromKubeconfig(), all,
			rest.ImpersonationConfig{UserName: "jane", UID: "42", Groups: []string{"g1", "g2"}, Extra: map[string][]string{"team": {"a"}, "scopes": {"view", "edit"}}}, 7 * time.Second},
		{"a kubeconfig's, a group and an extra", fromKubeconfig(), []string{"--as-group", "g", "--as-user-extra", "team=b"},
			rest.ImpersonationConfig{UserName: "kube-as", UID: "7", Groups: []string{"g"}, Extra: map[string][]string{"team": {"b"}}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			overrides := parsed(t, tc.args...).withUserExtra()
			base := rest.CopyConfig(tc.base)
			cfg, err := withImpersonationAndTimeout(tc.base, &overrides)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Impersonate, tc.want) {
				t.Errorf("got impersonation %+v, want %+v", cfg.Impersonate, tc.want)
			}
			if cfg.Timeout != tc.timeout {
				t.Errorf("got timeout %s, want %s", cfg.Timeout, tc.timeout)
			}
			if cfg.Host != base.Host || cfg.BearerTokenFile != base.BearerTokenFile {
				t.Errorf("got host %q, token file %q; want them as they were, %q, %q", cfg.Host, cfg.BearerTokenFile, base.Host, base.BearerTokenFile)
			}
			if !reflect.DeepEqual(tc.base, base) {
				t.Errorf("the configuration passed in was modified: got %+v, want %+v", tc.base, base)
			}
		})
	}

	t.Run("a bad --request-timeout", func(t *testing.T) {
		overrides := parsed(t, "--request-timeout", "soon").withUserExtra()
		if _, err := withImpersonationAndTimeout(inCluster(), &overrides); err == nil || !strings.Contains(err.Error(), `--request-timeout "soon"`) {
			t.Errorf("got error %v, want one naming --request-timeout and its value", err)
		}
	})
}

// kubeconfigAs is a kubeconfig whose user impersonates, as a kubeconfig may.
const kubeconfigAs = `apiVersion: v1
kind: Config
clusters:
- {name: one, cluster: {server: "https://127.0.0.1:6443"}}
users:
- {name: me, user: {token: t, as: kube-as, as-uid: "7", as-groups: [kg], as-user-extra: {team: [a], site: [x]}}}
contexts:
- {name: a, context: {cluster: one, user: me}}
current-context: a
`

// TestKubeFlagsImpersonationFromAKubeconfigAsClientGoMergesIt: from a kubeconfig, client-go has
// applied the flags already; applying them again changes nothing.
func TestKubeFlagsImpersonationFromAKubeconfigAsClientGoMergesIt(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"plain": twoContexts, "as": kubeconfigAs} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HOME", dir)
	t.Setenv("KUBECONFIG", "")
	for _, kubeconfig := range []string{"plain", "as"} {
		for _, args := range [][]string{
			nil,
			{"--as", "jane"},
			{"--as", "jane", "--as-uid", "42", "--as-group", "g1", "--as-group", "g2", "--as-user-extra", "team=b", "--as-user-extra", "scopes=view", "--request-timeout", "7s"},
			{"--request-timeout", "3"},
		} {
			name := strings.Join(args, " ")
			if name == "" {
				name = "no flags"
			}
			t.Run(kubeconfig+", "+name, func(t *testing.T) {
				k := parsed(t, append([]string{"--kubeconfig", filepath.Join(dir, kubeconfig)}, args...)...)
				byClientGo, err := k.clientConfig().ClientConfig()
				if err != nil {
					t.Fatal(err)
				}
				cfg, err := k.restConfig()
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(cfg.Impersonate, byClientGo.Impersonate) || cfg.Timeout != byClientGo.Timeout {
					t.Errorf("got impersonation %+v, timeout %s; want client-go's, %+v, %s", cfg.Impersonate, cfg.Timeout, byClientGo.Impersonate, byClientGo.Timeout)
				}
			})
		}
	}
}

// TestKubeFlagsRequestTimeoutAsKubectlReadsIt: --request-timeout takes what kubectl takes
// (whole seconds, a duration with its unit, or nothing), and anything else is a usage
// error naming it before any request.
func TestKubeFlagsRequestTimeoutAsKubectlReadsIt(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"0", true}, {"30", true}, {"1s", true}, {"2m", true}, {"1h30m", true}, {"", true},
		{"bogus", false}, {"1p", false}, {"-1", false}, {"5 s", false},
	} {
		err := parsed(t, "--request-timeout", tc.value).validate()
		var usage *usageError
		switch {
		case tc.ok && err != nil:
			t.Errorf("--request-timeout %q: got %v, want it accepted, as kubectl does", tc.value, err)
		case !tc.ok && (!errors.As(err, &usage) || !strings.Contains(err.Error(), fmt.Sprintf("--request-timeout %q", tc.value))):
			t.Errorf("--request-timeout %q: got %v, want a usage error naming the flag and the value", tc.value, err)
		}
	}
}
