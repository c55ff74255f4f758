package serve_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestDiscoveryForbiddenIsWarned: the informers' user loses its right to list the
// Service's pods (its RoleBinding deleted: an RBAC change, a namespace's policy
// replaced). The open watches go on until they end; from the next LIST the API server
// answers 403 at every retry, and the pods serve scrapes are those the API server last
// gave. Its answers say so, with the API server's answer, as for a path cut: a 403 is a
// failure of discovery, not a request answered.
func TestDiscoveryForbiddenIsWarned(t *testing.T) {
	svc := newService(t, "forbidden", 1, "load 1\n")
	user := "podscrape-serve-" + svc.Namespace
	if err := env.Client.Create(t.Context(), &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: "serve"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods", "services"}, Verbs: []string{"get", "list", "watch"}}},
	}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: "serve"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "serve"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	if err := env.Client.Create(t.Context(), binding); err != nil {
		t.Fatal(err)
	}
	proxy, base := serveThroughProxyAs(t, t.Context(), svc, user, &discoveryBounds{500 * time.Millisecond, time.Hour})

	if err := env.Client.Delete(t.Context(), binding); err != nil {
		t.Fatal(err)
	}
	// The watches end (here cut, as an API server's restart or the watch's timeout ends
	// them), and the informers list again.
	proxy.Cut()
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, r := query(t, base, "sum(load)")
		w := strings.Join(r.Warnings, "\n")
		if code == http.StatusOK && strings.Contains(w, "service "+svc.Namespace+"/"+svc.Name+": discovery failing since ") && strings.Contains(w, "403") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sum(load) with the informers forbidden: %d %s, warnings %q: want 200 with the discovery's warning naming the 403", code, r.Data, r.Warnings)
		}
		time.Sleep(50 * time.Millisecond) // polling until the informers list again
	}
}
