package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestDocsRBACIsEnough applies the RBAC docs/cli.md gives the identity running
// podscrape (its first YAML block: the Roles on Services and Pods, and on the token
// Secret) to the tests' control plane, and runs the documented scrapes and a query as
// that ServiceAccount (impersonated with --as): the RBAC a user copies is all they need.
// The same commands as a ServiceAccount without it are refused, so the --as does apply.
func TestDocsRBACIsEnough(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rbacSection, ok := strings.Cut(string(doc), "\n## RBAC\n")
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(rbacSection, -1)
	if !ok || len(blocks) == 0 {
		t.Fatal("docs/cli.md: no YAML under ## RBAC")
	}
	var subject string
	for _, part := range strings.Split(blocks[0][1], "\n---\n") {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(part), &obj.Object); err != nil {
			t.Fatalf("docs/cli.md RBAC: %v\n%s", err, part)
		}
		if obj.GetKind() == "RoleBinding" {
			subjects, _, _ := unstructured.NestedSlice(obj.Object, "subjects")
			if s, ok := subjects[0].(map[string]any); ok && s["kind"] == "ServiceAccount" {
				subject = "system:serviceaccount:" + s["namespace"].(string) + ":" + s["name"].(string)
			}
		}
		if err := cp.Client.Create(t.Context(), obj); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("create %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
	if subject == "" {
		t.Fatal("docs/cli.md RBAC: no RoleBinding to a ServiceAccount")
	}
	commands := [][]string{
		{"-n", llmd.Namespace, "scrape", llmd.VLLMService, "--port", port(llmd.VLLMPort)},
		{"-n", llmd.Namespace, "scrape", llmd.EPPService, "--port", port(llmd.EPPPort),
			"--secret", llmd.SecretName, "--secret-namespace", llmd.SecretNamespace},
		{"-n", llmd.Namespace, "query", "sum(vllm:num_requests_waiting)", llmd.VLLMService, "--port", port(llmd.VLLMPort)},
	}
	for _, args := range commands {
		if r := podscrape(t, append([]string{"--as", subject}, args...)...); r.code != exitOK {
			t.Errorf("podscrape --as %s %s: exit %d, want 0; stdout:\n%s\nstderr:\n%s",
				subject, strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		other := "system:serviceaccount:" + llmd.SecretNamespace + ":not-bound"
		if r := podscrape(t, append([]string{"--as", other}, args...)...); r.code == exitOK {
			t.Errorf("podscrape --as %s %s: exit 0, want the API server to refuse a ServiceAccount without the RBAC", other, strings.Join(args, " "))
		}
	}
}
