// Package kubeauth protects an HTTP handler as Kubernetes components protect their
// metrics: each request's Bearer token is checked with a TokenReview, then a
// SubjectAccessReview asks whether its user may use the request's method, lower-cased
// (get, post), on its path as a non-resource URL. It behaves as controller-runtime's
// pkg/metrics/filters (the same reviews, the same cache lifetimes), written on client-go's
// two review clients alone: that package links k8s.io/apiserver's authenticator and
// authorizer factories, megabytes of a server this program is not.
package kubeauth
