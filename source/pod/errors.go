package pod

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/podscrape/podscrape/internal/exposition"
)

var (
	// ErrBodyTooLarge is wrapped by a pod's error when its response body, decompressed,
	// exceeds MaxBodyBytes.
	ErrBodyTooLarge = errors.New("response body too large")
	// ErrSampleLimit is wrapped by a pod's error when it exposes more samples than
	// SampleLimit.
	ErrSampleLimit = exposition.ErrSampleLimit
	// ErrRedirect is wrapped by a pod's error when it answers with a redirect: redirects
	// are never followed, so the token goes only to discovered pod addresses.
	ErrRedirect = errors.New("redirect not followed")
	// ErrAllPodsFailed is wrapped by the error Refresh returns when every ready pod failed.
	ErrAllPodsFailed = errors.New("every ready pod failed to scrape")
	// ErrNoReadyPods is wrapped by the error ScrapeSeries returns when the Service
	// selects pods but none of them is Ready (all starting, failing their readiness
	// probe under load, or terminating): no pod answers for them, which is not "no
	// load". The error counts what they are ("2 terminating, 1 not Ready"). A Service
	// that selects no pod at all (scaled to zero) is no error.
	ErrNoReadyPods = errors.New("no ready pod")
)

// ConfigError is a PodScrapingSourceConfig field refused: PodScrapingSourceConfig.Validate
// returns one, and NewPodScrapingSource wraps it (errors.As finds it), so that a caller
// that reads the config from a file of its own can point at the file's key for Field
// without reading the message.
type ConfigError struct {
	// Field is the refused field, as Go names it ("MetricsPort", "PodLabels"). When fields
	// conflict it is the one to unset: the TLS field set with a MetricsScheme other than
	// https (the first of TLSCAData, TLSServerName, InsecureSkipVerify), BearerTokenFile
	// set with BearerToken or MetricsReaderSecretName, HistoryRetention shorter than
	// ScrapeInterval plus ScrapeTimeout.
	Field string
	// Err is the cause; its message names the field and the value refused.
	Err error
}

// Error is the cause's message, which names the field and the value.
func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *ConfigError) Unwrap() error { return e.Err }

// configError returns a *ConfigError refusing field, its message formatted as
// fmt.Errorf formats it.
func configError(field, format string, args ...any) error {
	return &ConfigError{Field: field, Err: fmt.Errorf(format, args...)}
}

// ScrapeError is one pod's failure. Refresh joins them (errors.Join) into
// MetricResult.Error; errors.As finds each.
type ScrapeError struct {
	// Pod is the pod as namespace/name.
	Pod string
	// URL is the address scraped.
	URL string
	// Err is the cause.
	Err error
}

// Error names the pod, its URL and the cause.
func (e *ScrapeError) Error() string {
	return fmt.Sprintf("scrape pod %s (%s): %v", e.Pod, e.URL, e.Err)
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *ScrapeError) Unwrap() error { return e.Err }

// StatusError is a pod's answer with a status other than 200.
type StatusError struct {
	// StatusCode is the HTTP status the pod answered.
	StatusCode int

	noToken string // why no token was sent although a Secret is configured; "" if one was
}

// Error gives the status and, for 401 and 403, what it usually means for a metrics
// endpoint behind auth, or why no token was sent when the configured Secret gave none.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("HTTP status %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	switch {
	case e.noToken != "" && (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden):
		// The guide wants no auth then, and no error, but the pod wants auth: the cause
		// is the Secret, not the pod.
		msg += "; no token was sent: " + e.noToken
	case e.StatusCode == http.StatusUnauthorized:
		msg += " (no token, or a token the pod does not accept)"
	case e.StatusCode == http.StatusForbidden:
		msg += " (the token's identity lacks RBAC get on the metrics path)"
	}
	return msg
}

// Failure reasons, as ScrapeReason reports them (and as the source's failure metric labels
// them).
const (
	ReasonTimeout     = "timeout"        // the pod's scrape ran into ScrapeTimeout
	ReasonCanceled    = "canceled"       // the caller's context ended (its cancel or its deadline) first
	ReasonHTTPStatus  = "http_status"    // a status other than 200 (a *StatusError)
	ReasonRedirect    = "redirect"       // a redirect, never followed (ErrRedirect)
	ReasonBodyTooBig  = "body_too_large" // the body, decompressed, over MaxBodyBytes (ErrBodyTooLarge)
	ReasonSampleLimit = "sample_limit"   // more samples than SampleLimit (ErrSampleLimit)
	ReasonParse       = "parse"          // a malformed exposition or gzip stream
	ReasonFormat      = "content_type"   // a Content-Type or Content-Encoding not read
	ReasonTLS         = "tls"            // a failed TLS handshake
	ReasonConnect     = "connect"        // anything else: the connection, refused or cut
)

// ErrUnsupportedContentType is wrapped by a pod's error when its response's Content-Type
// is not an exposition format podscrape reads (text 0.0.4, OpenMetrics 1.0).
var ErrUnsupportedContentType = exposition.ErrUnsupportedContentType

// errContentEncoding marks a response compressed other than with gzip.
var errContentEncoding = errors.New("unsupported Content-Encoding")

// errGzipHeader marks a response labelled Content-Encoding gzip whose body does not start
// as gzip: the pod answered, mislabelling its body, as with a wrong Content-Type.
var errGzipHeader = errors.New(`Content-Encoding "gzip", but the body is not gzip`)

// errGzipStream marks a gzip body that breaks part-way (corrupt data, a bad checksum, a
// stream cut short while the response itself ended cleanly): the body is malformed, as
// with a parse error. A connection that fails mid-body is not marked.
var errGzipStream = errors.New("gzip body broken part-way")

// ScrapeReason classifies a pod's scrape error into one of the Reason constants.
func ScrapeReason(err error) string {
	var status *StatusError
	var parse *exposition.ParseError
	var caller *callerEndedError
	switch {
	case errors.As(err, &caller):
		return ReasonCanceled // the caller's cancel or deadline, not the pod's timeout
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	case errors.Is(err, context.Canceled):
		return ReasonCanceled
	case errors.As(err, &status):
		return ReasonHTTPStatus
	case errors.Is(err, ErrRedirect):
		return ReasonRedirect
	case errors.Is(err, ErrBodyTooLarge):
		return ReasonBodyTooBig
	case errors.Is(err, ErrSampleLimit):
		return ReasonSampleLimit
	case errors.Is(err, ErrUnsupportedContentType), errors.Is(err, errContentEncoding), errors.Is(err, errGzipHeader):
		return ReasonFormat
	case errors.As(err, &parse), errors.Is(err, errGzipStream):
		return ReasonParse
	case isTLSError(err):
		return ReasonTLS
	default:
		return ReasonConnect
	}
}

// rbacHint says which RBAC rule a Forbidden read needs; other errors get no hint, since
// RBAC is not their cause.
func rbacHint(err error, verb, resource, namespace string) string {
	if !apierrors.IsForbidden(err) {
		return ""
	}
	return fmt.Sprintf(" (needs RBAC %s on %s in namespace %s)", verb, resource, namespace)
}

// isTLSError reports whether err is a failed TLS handshake: a certificate that does not
// verify, or a peer that does not speak TLS.
func isTLSError(err error) bool {
	var verify *tls.CertificateVerificationError
	var header tls.RecordHeaderError
	var alert tls.AlertError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verify) || errors.As(err, &header) || errors.As(err, &alert) ||
		errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid)
}
