package serve

import (
	"fmt"
	"net/http"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"

	"github.com/podscrape/podscrape/internal/kubeauth"
)

// AuthPathPrefix prefixes the request path that WithKubernetesAuth authorizes: a client
// needs get (or post) on the non-resource URL AuthPathPrefix+path, such as
// /podscrape/api/v1/query. Without it, Prometheus' /api/v1/... paths would fall under
// Kubernetes' own discovery rule: the default ClusterRole system:discovery lets every
// authenticated user get /api/*, so any ServiceAccount of the cluster could read.
const AuthPathPrefix = "/podscrape"

// WithKubernetesAuth protects h as Kubernetes components protect their metrics (as
// controller-runtime's pkg/metrics/filters does): each request's Bearer token is checked
// with a TokenReview, then a SubjectAccessReview asks whether its user may use the
// request's method (get, post) on AuthPathPrefix + its path as a non-resource URL. No
// token, or one the TokenReview rejects: 401; not allowed: 403; a review that could not
// be made (the API server unreachable, serve's own identity not allowed to review), or
// answered both allowed and denied: 500. Answers are reused: a token's for a minute, an
// allowed access for 5m, a denied one for 30s; a request whose method and path pass
// 1 KiB is reviewed every time, so that no client can fill the cache with long paths.
// The handler never sees the Authorization header.
//
// The probes /-/healthy and /-/ready are answered without a token: a kubelet sends
// none, and they tell nothing about the data. cfg reaches the API server as the
// server's ServiceAccount, which needs create on tokenreviews and subjectaccessreviews.
//
// Without options, a token must be valid for the API server's own audience, as the
// TokenReview names none; TokenAudiences names others.
func WithKubernetesAuth(h http.Handler, cfg *rest.Config, log logr.Logger, opts ...AuthOption) (http.Handler, error) {
	var o authOptions
	for _, opt := range opts {
		opt(&o)
	}
	filter, err := kubeauth.New(cfg, log, o.audiences...)
	if err != nil {
		return nil, fmt.Errorf("serve: auth: %w", err)
	}
	// The filter authorizes the path it is given: hand it the prefixed path, and h the
	// request's own.
	protected := filter.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = r.URL.Path[len(AuthPathPrefix):]
		r.URL.RawPath = ""
		h.ServeHTTP(w, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/-/healthy" || r.URL.Path == "/-/ready" {
			h.ServeHTTP(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = AuthPathPrefix + r.URL.Path
		r2.URL.RawPath = ""
		protected.ServeHTTP(w, r2)
	}), nil
}

// AuthOption configures WithKubernetesAuth.
type AuthOption func(*authOptions)

type authOptions struct {
	audiences []string
}

// TokenAudiences makes WithKubernetesAuth accept a token only when it is valid for at
// least one of audiences (kube-rbac-proxy's --auth-token-audiences): the TokenReview
// names them, and the audiences it finds the token valid for must intersect them. A
// token for the API server alone is then refused (401), unless one of audiences is the
// API server's own. Clients mint such a token with the TokenRequest API (a projected
// ServiceAccount token's audience, KEDA's boundServiceAccountToken), and serve cannot
// replay it to the API server.
func TokenAudiences(audiences ...string) AuthOption {
	return func(o *authOptions) { o.audiences = append(o.audiences, audiences...) }
}
