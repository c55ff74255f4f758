package main

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// grant lets user get, list and watch resources in namespace.
func grant(t *testing.T, user, namespace string, resources ...string) {
	t.Helper()
	ctx := context.Background()
	meta := metav1.ObjectMeta{Namespace: namespace, Name: user}
	role := &rbacv1.Role{ObjectMeta: meta, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: resources, Verbs: []string{"get", "list", "watch"},
	}}}
	binding := &rbacv1.RoleBinding{ObjectMeta: meta,
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: user},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if err := env.Client.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
}

// TestCachedReaderNeedsTheHeadersPermissions: with the permissions the header lists the
// cached reader syncs; without one of them it fails, naming the informer, instead of
// leaving the first Refresh blocked until its context ends.
func TestCachedReaderNeedsTheHeadersPermissions(t *testing.T) {
	ctx := context.Background()
	ns := func(prefix string) string {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}
		if err := env.Client.Create(ctx, n); err != nil {
			t.Fatal(err)
		}
		return n.Name
	}
	for _, tc := range []struct {
		name            string
		grantServices   []string // resources granted in the Service's namespace
		grantSecrets    bool     // secrets granted in the Secret's namespace
		withSecret      bool
		timeout         time.Duration
		wantErrContains string // empty: no error
	}{
		{"nothing granted", nil, false, false, time.Second, "failed waiting for *v1.Service Informer to sync"},
		{"pods not granted", []string{"services"}, false, false, time.Second, "failed waiting for *v1.Pod Informer to sync"},
		{"services and pods", []string{"services", "pods"}, false, false, time.Minute, ""},
		{"-secret, secrets not granted", []string{"services", "pods"}, false, true, time.Second, "failed waiting for *v1.Secret Informer to sync"},
		{"-secret, secrets granted", []string{"services", "pods"}, true, true, time.Minute, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user := "reader-" + strings.ReplaceAll(tc.name, " ", "")
			user = strings.NewReplacer(",", "", "-", "").Replace(strings.ToLower(user))
			svcNS, secretNS := ns("scalefromzero-"), ns("secrets-")
			if len(tc.grantServices) > 0 {
				grant(t, user, svcNS, tc.grantServices...)
			}
			if tc.grantSecrets {
				grant(t, user, secretNS, "secrets")
			}
			cfg := rest.CopyConfig(env.Config)
			cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
			if !tc.withSecret {
				secretNS = ""
			}
			cacheCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			_, err := cachedReader(cacheCtx, cfg, tc.timeout, svcNS, secretNS)
			switch {
			case tc.wantErrContains == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tc.wantErrContains != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErrContains)):
				t.Fatalf("got %v, want an error saying %q", err, tc.wantErrContains)
			}
		})
	}
}
