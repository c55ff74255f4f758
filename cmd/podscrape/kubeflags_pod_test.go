package main

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// inPodScript runs "$@" as in a pod: in the private mount namespace unshare gives it, a
// tmpfs over /var/run holds the ServiceAccount's token and CA read from $1 (read first:
// the tmpfs may hide it). The host's /var/run is never written. Exit 97: no mount.
const inPodScript = `set -e
token=$(cat "$1/token"); ca=$(cat "$1/ca.crt"); shift
mount -t tmpfs tmpfs /var/run || exit 97
sa=/var/run/secrets/kubernetes.io/serviceaccount
mkdir -p "$sa"
printf '%s' "$token" > "$sa/token"
printf '%s\n' "$ca" > "$sa/ca.crt"
exec "$@"`

// skipUnlessMountNamespace skips the test unless runInPod can run: as root, with
// unshare, allowed a mount namespace, the binary outside /var/run.
func skipUnlessMountNamespace(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for a private mount namespace")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare for a private mount namespace")
	}
	if err := exec.Command("unshare", "-m", "--propagation", "private", "true").Run(); err != nil {
		t.Skipf("unshare -m: %v", err)
	}
	if bin, err := filepath.EvalSymlinks(binary); err != nil || strings.HasPrefix(bin, "/run/") || strings.HasPrefix(bin, "/var/run/") {
		t.Skipf("the binary %s would be under the tmpfs over /var/run", binary)
	}
}

// runInPod runs the built podscrape as a container of a pod in namespace would: no
// kubeconfig, KUBERNETES_SERVICE_HOST and _PORT naming the shared API server, token (a
// ServiceAccount's) in /var/run/secrets. Call skipUnlessMountNamespace first; it skips
// if the mount itself is refused.
func runInPod(t *testing.T, namespace, token string, args ...string) result {
	t.Helper()
	secrets := t.TempDir()
	for file, content := range map[string][]byte{"token": []byte(token), "ca.crt": cp.Config.CAData} {
		if err := os.WriteFile(filepath.Join(secrets, file), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	api, err := url.Parse(cp.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"-m", "--propagation", "private", "sh", "-c", inPodScript, "sh", secrets, binary}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "KUBECONFIG=", "POD_NAMESPACE="+namespace,
		"KUBERNETES_SERVICE_HOST="+api.Hostname(), "KUBERNETES_SERVICE_PORT="+api.Port())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("podscrape %v in a pod: %v", args, err)
	}
	if cmd.ProcessState.ExitCode() == 97 {
		t.Skipf("cannot mount a tmpfs over /var/run: %s", stderr.String())
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// TestKubeFlagsImpersonationInAPod: in a pod with no kubeconfig, client-go's in-cluster
// configuration drops --as and --as-group; podscrape applies them. Without them the API
// server refuses the ServiceAccount itself (which proves the in-cluster configuration was
// used); with them, the user it impersonates (which proves the impersonation was sent:
// had it been dropped, the ServiceAccount's own rights would have been used).
func TestKubeFlagsImpersonationInAPod(t *testing.T) {
	t.Parallel()
	skipUnlessMountNamespace(t)
	ns := unique("in-pod")
	ctx := t.Context()
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	token, err := cp.ServiceAccountToken(ctx, ns, "podscrape")
	if err != nil {
		t.Fatal(err)
	}
	self := runInPod(t, ns, token, "scrape", "vllm", "--port", "8000")
	mustContain(t, "as the ServiceAccount", self.stderr, `User "system:serviceaccount:`+ns+`:podscrape" cannot get resource "services"`)

	allowImpersonation(t, ns, token, "jane", "limited")
	as := runInPod(t, ns, token, "scrape", "vllm", "--port", "8000", "--as", "jane", "--as-group", "limited")
	mustContain(t, "--as jane", as.stderr, `User "jane" cannot get resource "services"`)
	if self.code != 1 || as.code != 1 {
		t.Errorf("got exit %d as the ServiceAccount, %d as jane; want 1 (the work failed)", self.code, as.code)
	}
}

// allowImpersonation lets ServiceAccount namespace/podscrape, whose token is token,
// impersonate user and group, and waits until the API server lets it.
func allowImpersonation(t *testing.T, namespace, token, user, group string) {
	t.Helper()
	ctx := t.Context()
	name := namespace + "-impersonate"
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"users"}, ResourceNames: []string{user}, Verbs: []string{"impersonate"}},
			{APIGroups: []string{""}, Resources: []string{"groups"}, ResourceNames: []string{group}, Verbs: []string{"impersonate"}},
		},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: "podscrape"}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := cp.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	impersonating := &rest.Config{
		Host:            cp.Config.Host,
		TLSClientConfig: rest.TLSClientConfig{CAData: cp.Config.CAData},
		BearerToken:     token,
		Impersonate:     rest.ImpersonationConfig{UserName: user, Groups: []string{group}},
	}
	dc, err := discovery.NewDiscoveryClientForConfig(impersonating)
	if err != nil {
		t.Fatal(err)
	}
	// RBAC takes effect once the API server's informer has the binding.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := dc.ServerVersion()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("impersonating %s: not allowed within 10s: %v", user, err)
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline, not waiting for an outcome
	}
}
