package serve

import (
	"context"
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// AccessError is StartCache's error when serve's identity may not do what its informers
// do: list and watch services and pods in a namespace of the configured Services.
type AccessError struct {
	Namespace string // the namespace
	Verb      string // "list" or "watch"
	Resource  string // "services" or "pods"
	Reason    string // the authorizer's reason, often empty
}

// Error names the verb, the resource and the namespace serve may not read, and the RBAC
// that grants them.
func (e *AccessError) Error() string {
	msg := fmt.Sprintf("serve may not %s %s in namespace %s (it watches the Services and Pods of their namespaces: grant list and watch on services and pods, as deploy/rbac.yaml does)", e.Verb, e.Resource, e.Namespace)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// checkAccess asks the API with SelfSubjectAccessReviews whether this identity may list
// and watch services and pods in each namespace. A review the API does not answer (the
// identity may not create SelfSubjectAccessReviews) is no refusal: the informers' sync
// then decides.
func checkAccess(ctx context.Context, restConfig *rest.Config, namespaces []string) error {
	c, err := client.New(restConfig, client.Options{})
	if err != nil {
		return fmt.Errorf("client for %s: %w", restConfig.Host, err)
	}
	for _, ns := range namespaces {
		for _, resource := range []string{"services", "pods"} {
			for _, verb := range []string{"list", "watch"} {
				review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
					ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Resource: resource},
				}}
				if err := c.Create(ctx, review); err != nil {
					return nil
				}
				if !review.Status.Allowed {
					return &AccessError{Namespace: ns, Verb: verb, Resource: resource, Reason: review.Status.Reason}
				}
			}
		}
	}
	return nil
}
