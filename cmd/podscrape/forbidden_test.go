package main

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestEveryCommandNamesTheRBACItLacks: an identity that may get the Service but not list
// its pods (a Role of another namespace copied without its pods rule) fails each
// command with the namespace and the verb it lacks, as the library words them: scrape
// and query name the pods' list; serve, which watches them, names the first rule its
// access check finds missing.
func TestEveryCommandNamesTheRBACItLacks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	user := unique("no-pods")
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: llmd.Namespace, Name: user},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get"}}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: llmd.Namespace, Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: user},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := cp.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), obj) })
	}
	vllm, p := llmd.VLLMService, port(llmd.VLLMPort)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"scrape", vllm, "--port", p}, []string{"list pods of service llm-d/" + vllm, "needs RBAC list on pods in namespace llm-d"}},
		{[]string{"query", "sum(vllm:num_requests_waiting)", vllm, "--port", p}, []string{"list pods of service llm-d/" + vllm, "needs RBAC list on pods in namespace llm-d"}},
		{[]string{"serve", vllm, "--port", p, "--listen", "127.0.0.1:0"}, []string{"may not list services in namespace llm-d"}},
	} {
		r := podscrape(t, append(c.args, "--as", user)...)
		if r.code != exitRuntime {
			t.Errorf("%s: exit %d, want %d; stderr:\n%s", c.args[0], r.code, exitRuntime, r.stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr %q, want it to say %q", c.args[0], r.stderr, w)
			}
		}
	}
}
