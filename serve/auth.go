package serve

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"strings"

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
// request's method (get, post) on AuthPathPrefix + its path, cleaned as the router
// cleans it before redirecting there (//api/v1/query: /api/v1/query), as a non-resource
// URL. No
// token, or one the TokenReview rejects: 401; not allowed: 403; a review that could not
// be made (the API server unreachable, serve's own identity not allowed to review), or
// answered both allowed and denied: 500. Answers are reused: a token's for a minute, an
// allowed access for 5m, a denied one for 30s; a request whose method and path pass
// 1 KiB is reviewed every time, so that no client can fill the cache with long paths.
// The handler never sees the Authorization header.
//
// The probes, a GET or HEAD of /-/healthy or /-/ready without a body, are answered
// without a token: a kubelet sends none, and they tell nothing about the data. A refused
// request's body is not waited for (its HTTP/1 connection is closed after the answer). cfg reaches the API server as the
// server's ServiceAccount, which needs create on tokenreviews and subjectaccessreviews.
//
// Without options, a token must be valid for the API server's own audience, as the
// TokenReview names none; TokenAudiences names others.
//
// Serve it with http.Server's DisableGeneralOptionsHandler set, as podscrape serve does:
// otherwise net/http answers OPTIONS * itself, before the handler, reading up to 4 KiB
// of its body for as long as a client with no token takes to send it.
func WithKubernetesAuth(h http.Handler, cfg *rest.Config, log logr.Logger, opts ...AuthOption) (http.Handler, error) {
	var o authOptions
	for _, opt := range opts {
		opt(&o)
	}
	filter, err := kubeauth.New(cfg, log, o.audiences...)
	if err != nil {
		return nil, fmt.Errorf("serve: auth: %w", err)
	}
	// The filter authorizes the path it is given: hand it the prefixed clean path, and h
	// the request's own.
	protected := filter.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = r.Context().Value(askedPath{}).(string)
		r.URL.RawPath = ""
		h.ServeHTTP(w, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isProbe(r) {
			h.ServeHTTP(w, r)
			return
		}
		r2 := r.Clone(context.WithValue(r.Context(), askedPath{}, r.URL.Path))
		r2.URL.Path = AuthPathPrefix + cleanPath(r.URL.Path)
		r2.URL.RawPath = ""
		protected.ServeHTTP(w, r2)
	}), nil
}

// isProbe reports whether r is a kubelet's probe, which carries no token: a GET or HEAD
// of /-/healthy or /-/ready, without a body. Any other request of those paths is
// reviewed: a body there (a POST, a GET with a Content-Length) would be read, up to
// 256 KiB, before the answer could be written, for as long as the client takes to send
// it, and a client with no token could hold a connection so for the read timeout.
func isProbe(r *http.Request) bool {
	return (r.URL.Path == "/-/healthy" || r.URL.Path == "/-/ready") &&
		(r.Method == http.MethodGet || r.Method == http.MethodHead) && r.ContentLength == 0
}

// askedPath is the context key of the path a request asked for, under
// WithKubernetesAuth, which reviews its clean form.
type askedPath struct{}

// cleanPath is p as the router serves it: a path that is not (//api/v1/query, which
// KEDA asks when its serverAddress ends in a slash; /api/v1/../../federate) is answered
// with a redirect to this one, and served nowhere else. Reviewing the clean path lets an
// allowed client follow that redirect, as it would to Prometheus, and grants nothing
// more: what a path serves is its clean path's, which is reviewed in turn. A trailing
// slash is kept, as the router keeps it.
func cleanPath(p string) string {
	clean := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
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
