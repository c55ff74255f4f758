package serve

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// TestDeployRBACIsEnough runs serve as deploy/'s ServiceAccount, with no permission but
// deploy/'s ClusterRoles (created for real, under names of this test), and a client bound
// to the reader role: the informers of Services and Pods, scrapes and --auth kubernetes'
// reviews all work, so least privilege is also enough privilege.
func TestDeployRBACIsEnough(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 1})
	ctx := logr.NewContext(t.Context(), logr.Discard())

	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), deployDir(t))
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]*rbacv1.ClusterRole{}
	var nsRoles []*rbacv1.Role // the Roles of the served namespaces: granted in the test's
	var sa *corev1.ServiceAccount
	for _, res := range resMap.Resources() {
		y, err := res.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(y, &obj.Object); err != nil {
			t.Fatal(err)
		}
		switch obj.GetKind() {
		case "ClusterRole":
			var r rbacv1.ClusterRole
			fromUnstructured(t, obj, &r)
			roles[r.Name] = &r
		case "Role":
			var r rbacv1.Role
			fromUnstructured(t, obj, &r)
			nsRoles = append(nsRoles, &r)
		case "ServiceAccount":
			sa = &corev1.ServiceAccount{}
			fromUnstructured(t, obj, sa)
		}
	}
	if roles["podscrape-serve"] == nil || roles["podscrape-serve-reader"] == nil || sa == nil {
		t.Fatalf("deploy/ lacks the ClusterRoles podscrape-serve and podscrape-serve-reader or the ServiceAccount (%v)", roles)
	}

	// grant binds a copy of deploy/'s role to a ServiceAccount of the test's namespace.
	grant := func(role, subject string) {
		r := roles[role].DeepCopy()
		r.ObjectMeta = metav1.ObjectMeta{Name: role + "-" + svc.Namespace}
		b := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: r.Name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: r.Name},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: svc.Namespace, Name: subject}},
		}
		for _, o := range []client.Object{r, b} {
			if err := env.Client.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = env.Client.Delete(context.WithoutCancel(ctx), o) })
		}
	}
	grant("podscrape-serve", sa.Name)
	grant("podscrape-serve-reader", "reader")
	// deploy/'s Roles of the namespaces serve.yaml serves, in the test's namespace.
	for _, r := range nsRoles {
		role := r.DeepCopy()
		role.ObjectMeta = metav1.ObjectMeta{Namespace: svc.Namespace, Name: r.Name}
		b := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: r.Name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: r.Name},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: svc.Namespace, Name: sa.Name}},
		}
		for _, o := range []client.Object{role, b} {
			if err := env.Client.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}

	// serve's own identity: the ServiceAccount, impersonated.
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + svc.Namespace + ":" + sa.Name,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + svc.Namespace, "system:authenticated"},
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// As the CLI does: Services and Pods from informers (list, watch), Secrets direct.
	services := []serve.ServiceConfig{{Source: sourceConfig(svc)}}
	services[0].Source.SecretReader = c
	informers, err := serve.StartCache(ctx, cfg, services)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(informers.Stop)
	srv, err := serve.New(ctx, informers, serve.Config{Services: services})
	if err != nil {
		t.Fatal(err)
	}
	h, err := serve.WithKubernetesAuth(srv.Handler(), cfg, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(runCtx) }()
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		hs.Close()
		cancel()
		<-done
		_ = srv.Close()
	})
	waitReady(t, hs.URL)

	// A client of serve: a ServiceAccount bound to the reader role.
	if err := env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: "reader"}}); err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(svc.Namespace).CreateToken(ctx, "reader", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, hs.URL+"/api/v1/query?"+url.Values{"query": {"count(up == 1)"}}.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tr.Status.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e envelope
	_ = json.Unmarshal(body, &e)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"1"]`) {
		t.Errorf("count(up == 1) as the reader, serve as deploy/'s ServiceAccount: %d %s, want 200 and 1 (the pod scraped)", resp.StatusCode, body)
	}
}
