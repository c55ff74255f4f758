package serve

import (
	"fmt"
	"net/http"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
)

// WithKubernetesAuth protects h as Kubernetes components protect their metrics
// (controller-runtime's pkg/metrics/filters): each request's Bearer token is checked
// with a TokenReview, then a SubjectAccessReview asks whether its user may use the
// request's method (get, post) on its path as a non-resource URL (/api/v1/query, ...).
// No token: 401; not allowed: 403. Reviews are cached (allowed 5m, denied 30s).
//
// The probes /-/healthy and /-/ready are answered without a token: a kubelet sends
// none, and they tell nothing about the data. cfg reaches the API server as the
// server's ServiceAccount, which needs create on tokenreviews and subjectaccessreviews.
func WithKubernetesAuth(h http.Handler, cfg *rest.Config, log logr.Logger) (http.Handler, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("serve: auth: client for %s: %w", cfg.Host, err)
	}
	filter, err := filters.WithAuthenticationAndAuthorization(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("serve: auth: %w", err)
	}
	protected, err := filter(log, h)
	if err != nil {
		return nil, fmt.Errorf("serve: auth: %w", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/-/healthy" || r.URL.Path == "/-/ready" {
			h.ServeHTTP(w, r)
			return
		}
		protected.ServeHTTP(w, r)
	}), nil
}
