package serve

import (
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/serve"
)

// deployDir is the repository's deploy/ directory.
func deployDir(t *testing.T) string {
	_, file, _, ok := goruntime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "deploy")
}

// TestDeployManifestsApply builds deploy/ with kustomize and applies every object to the
// API server with a server-side dry run, so the manifests stay valid; it checks what
// makes them safe to run (non-root, read-only root filesystem, probes, least privilege),
// and that the shipped serve.yaml is a config serve accepts.
func TestDeployManifestsApply(t *testing.T) {
	dir := deployDir(t)
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	kinds := map[string]int{}
	for _, res := range resMap.Resources() {
		y, err := res.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(y, &obj.Object); err != nil {
			t.Fatal(err)
		}
		kinds[obj.GetKind()]++
		if obj.GetKind() == "Namespace" {
			// Objects of a namespace dry-run only once it exists: create it for real.
			if err := env.Client.Create(t.Context(), obj.DeepCopy()); err != nil && !isAlreadyExists(err) {
				t.Fatalf("create namespace: %v", err)
			}
		}
		if ns := obj.GetNamespace(); ns != "" && ns != "podscrape-system" {
			// The served namespaces (the Roles'): they exist where serve is deployed.
			if err := env.Client.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !isAlreadyExists(err) {
				t.Fatalf("create namespace %s: %v", ns, err)
			}
		}
		if err := env.Client.Patch(t.Context(), obj, client.Apply, client.DryRunAll, client.FieldOwner("podscrape-test"), client.ForceOwnership); err != nil {
			t.Errorf("server-side dry-run apply of %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
		check(t, obj)
	}
	for _, k := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service", "ConfigMap"} {
		if kinds[k] == 0 {
			t.Errorf("deploy/ has no %s", k)
		}
	}
	if _, err := serve.LoadFile(filepath.Join(dir, "serve.yaml"), "default"); err != nil {
		t.Errorf("deploy/serve.yaml: %v", err)
	}
}

func isAlreadyExists(err error) bool { return apierrors.IsAlreadyExists(err) }

// check asserts what keeps an object safe.
func check(t *testing.T, obj *unstructured.Unstructured) {
	t.Helper()
	switch obj.GetKind() {
	case "Namespace":
		// Pod Security's restricted profile, enforced: nothing in serve's namespace runs
		// as root, with added capabilities or host access, whatever is deployed there later.
		if got := obj.GetLabels()["pod-security.kubernetes.io/enforce"]; got != "restricted" {
			t.Errorf("Namespace %s: pod-security.kubernetes.io/enforce %q, want restricted", obj.GetName(), got)
		}
	case "Deployment":
		var d appsv1.Deployment
		fromUnstructured(t, obj, &d)
		ps := d.Spec.Template.Spec
		// The pod the Deployment makes is admitted under its namespace's Pod Security
		// profile (restricted, above): the API server's own check, not a copy of its rules.
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: d.Namespace, GenerateName: d.Name + "-", Labels: d.Spec.Template.Labels}, Spec: ps}
		if err := env.Client.Create(t.Context(), pod, client.DryRunAll); err != nil {
			t.Errorf("Deployment %s: its pod is not admitted in namespace %s: %v", d.Name, d.Namespace, err)
		}
		if ps.SecurityContext == nil || ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot {
			t.Error("Deployment: pod must run as non-root")
		}
		c := ps.Containers[0]
		if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
			t.Error("Deployment: root filesystem must be read-only")
		}
		if c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
			t.Error("Deployment: privilege escalation must be off")
		}
		if probePath(c.ReadinessProbe) != "/-/ready" || probePath(c.LivenessProbe) != "/-/healthy" {
			t.Errorf("Deployment: probes %q, %q; want /-/ready and /-/healthy", probePath(c.ReadinessProbe), probePath(c.LivenessProbe))
		}
		if !slices.Contains(c.Args, "--auth=kubernetes") {
			t.Errorf("Deployment: args %v lack --auth=kubernetes", c.Args)
		}
		// Queries at their bounds fit in half the container's memory (the history and
		// the collector's headroom take the rest): a query holds about 22 bytes a sample
		// it loads (docs/serve.md, Limits). At Prometheus' defaults one query alone
		// loads a gigabyte, and the container is OOM-killed.
		samples, concurrency := int64(history.DefaultMaxSamples), int64(serve.DefaultMaxConcurrentQueries)
		for _, a := range c.Args {
			if v, ok := strings.CutPrefix(a, "--query-max-samples="); ok {
				samples, _ = strconv.ParseInt(v, 10, 64)
			}
			if v, ok := strings.CutPrefix(a, "--query-max-concurrency="); ok {
				concurrency, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		limit := c.Resources.Limits.Memory().Value()
		if need := samples * concurrency * 22; limit == 0 || need > limit/2 {
			t.Errorf("Deployment: %d queries of %d samples at once hold about %d MiB, over half of limits.memory %d MiB", concurrency, samples, need>>20, limit>>20)
		}
	case "ClusterRole", "Role":
		var r rbacv1.ClusterRole // a Role's rules read the same
		fromUnstructured(t, obj, &r)
		kind := obj.GetKind()
		for _, rule := range r.Rules {
			for _, res := range []string{"secrets", "pods", "services"} {
				if kind == "ClusterRole" && slices.Contains(rule.Resources, res) {
					t.Errorf("ClusterRole %s grants %s in every namespace: a Role of each served namespace does", r.Name, res)
				}
			}
			if slices.Contains(rule.Resources, "secrets") && len(rule.ResourceNames) == 0 {
				t.Errorf("%s %s: secrets of any name; want the Secret serve.yaml names", kind, r.Name)
			}
			for _, v := range rule.Verbs {
				if v == "*" || slices.Contains(rule.Resources, "*") {
					t.Errorf("%s %s: wildcard rule %+v", kind, r.Name, rule)
				}
				if slices.Contains(rule.Resources, "secrets") && v != "get" {
					t.Errorf("%s %s: secrets need only get, got %s", kind, r.Name, v)
				}
				if v == "create" && !slices.Contains(rule.Resources, "tokenreviews") && !slices.Contains(rule.Resources, "subjectaccessreviews") {
					t.Errorf("%s %s: create on %v", kind, r.Name, rule.Resources)
				}
			}
		}
	case "Service":
		var s corev1.Service
		fromUnstructured(t, obj, &s)
		if len(s.Spec.Selector) == 0 {
			t.Error("Service: no selector")
		}
	}
}

func probePath(p *corev1.Probe) string {
	if p == nil || p.HTTPGet == nil {
		return ""
	}
	return p.HTTPGet.Path
}

func fromUnstructured(t *testing.T, obj *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, into); err != nil {
		t.Fatal(err)
	}
}
