package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
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
	for _, tc := range []struct {
		name            string
		env             string
		args            []string
		namespace, host string
	}{
		{"the current context", "", []string{"--kubeconfig", kubeconfig}, "ns-a", "https://127.0.0.1:6443"},
		{"$KUBECONFIG", kubeconfig, nil, "ns-a", "https://127.0.0.1:6443"},
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
