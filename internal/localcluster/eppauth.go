package localcluster

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/podscrape/podscrape/internal/kubeauth"
)

// MetricsAuth returns a wrapper that protects a handler as the real EPP protects its
// /metrics (with controller-runtime's metrics filter; kubeauth behaves as it does): the
// Bearer token is authenticated with a TokenReview and "get" on the request path
// authorized with a SubjectAccessReview, both against the API server of cfg. No token
// answers 401, a token whose identity lacks the RBAC answers 403. Reviews are cached
// (allowed for minutes, denied for 30 s). The returned function is safe for concurrent
// use; wrap every pod's handler with it.
func MetricsAuth(cfg *rest.Config) (func(http.Handler) http.Handler, error) {
	filter, err := kubeauth.New(cfg, logr.Discard())
	if err != nil {
		return nil, fmt.Errorf("metrics auth: %w", err)
	}
	return filter.Wrap, nil
}

// MetricsReaderRBAC grants subject "get" on the non-resource URL /metrics through a
// ClusterRole and a ClusterRoleBinding both named name: what a client of the EPP's
// /metrics needs.
func (cp *ControlPlane) MetricsReaderRBAC(ctx context.Context, name string, subject rbacv1.Subject) error {
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules: []rbacv1.PolicyRule{{
			NonResourceURLs: []string{"/metrics"},
			Verbs:           []string{"get"},
		}},
	}
	if err := cp.Client.Create(ctx, role); err != nil {
		return fmt.Errorf("create clusterrole %s: %w", name, err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{subject},
	}
	if err := cp.Client.Create(ctx, binding); err != nil {
		return fmt.Errorf("create clusterrolebinding %s: %w", name, err)
	}
	return cp.waitAllowed(ctx, name, subject)
}

// waitAllowed returns once the API server's authorizer lets subject get /metrics: RBAC
// takes effect when the server's informer has the binding, a few milliseconds after the
// create returned, and a review made in between is denied (a test's first request then
// fails 403 on a busy machine).
func (cp *ControlPlane) waitAllowed(ctx context.Context, name string, subject rbacv1.Subject) error {
	spec := authorizationv1.SubjectAccessReviewSpec{
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
	}
	switch subject.Kind {
	case rbacv1.ServiceAccountKind:
		spec.User = "system:serviceaccount:" + subject.Namespace + ":" + subject.Name
		spec.Groups = []string{"system:serviceaccounts", "system:serviceaccounts:" + subject.Namespace}
	case rbacv1.GroupKind:
		spec.User, spec.Groups = "podscrape-rbac-probe", []string{subject.Name}
	default:
		spec.User = subject.Name
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		sar := &authorizationv1.SubjectAccessReview{Spec: spec}
		if err := cp.Client.Create(ctx, sar); err != nil {
			return fmt.Errorf("clusterrolebinding %s: review its grant: %w", name, err)
		}
		if sar.Status.Allowed {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("clusterrolebinding %s: its grant not in effect after 30s", name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond): // polling the authorizer, not waiting for time to pass
		}
	}
}

// ServiceAccountToken creates ServiceAccount namespace/name unless it exists and mints a
// token for it with the TokenRequest API, valid for a day. The token is a credential:
// callers must not print or log it.
func (cp *ControlPlane) ServiceAccountToken(ctx context.Context, namespace, name string) (string, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if err := cp.Client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create serviceaccount %s/%s: %w", namespace, name, err)
	}
	// client-go logs request and response bodies through the context's logger at V(8):
	// this response's body is the token.
	ctx = logr.NewContext(ctx, logr.Discard())
	req := &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](24 * 60 * 60)},
	}
	if err := cp.Client.SubResource("token").Create(ctx, sa, req); err != nil {
		return "", fmt.Errorf("request token for serviceaccount %s/%s: %w", namespace, name, err)
	}
	return req.Status.Token, nil
}

// CreateTokenSecret stores token under key in Secret namespace/name, as an operator stores
// a metrics reader's token for a scraper to read.
func (cp *ControlPlane) CreateTokenSecret(ctx context.Context, namespace, name, key, token string) error {
	ctx = logr.NewContext(ctx, logr.Discard()) // the request body is the token: no V(8) log of it
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{key: []byte(token)},
	}
	if err := cp.Client.Create(ctx, secret); err != nil {
		return fmt.Errorf("create secret %s/%s: %w", namespace, name, err)
	}
	return nil
}
