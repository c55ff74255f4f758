package prometheus

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/podscrape/podscrape/internal/httpheader"
)

// DefaultMaxResponseBytes caps a response body of the server when ClientConfig's
// MaxResponseBytes is zero.
const DefaultMaxResponseBytes = 64 << 20

// ClientConfig says how to reach a server with Prometheus' HTTP API. Only URL is
// required. NewAPI copies it. Printing it with fmt shows no credential: the token, every
// header's value and every value of the URL's query string as "[REDACTED]", the URL's
// password as "xxxxx".
type ClientConfig struct {
	// URL is the server's base URL, http or https, with the path prefix it serves the API
	// under, if any ("https://thanos-query.monitoring:9090", "http://mimir/prometheus").
	// Its query string is sent with every query. Unless it sets partial_response, NewAPI
	// adds partial_response=false, so that Thanos Query fails a query a store cannot answer
	// instead of answering from the other stores with a warning (a partial sum read as
	// the whole); unless it sets deny_partial_response or partial_response=true, it adds
	// deny_partial_response=1, so that a VictoriaMetrics cluster fails a query a vmstorage
	// node cannot answer instead of answering "isPartial": true. "?partial_response=true"
	// (or "?deny_partial_response=0") accepts partial answers: a warning says so. Else an
	// answer marked partial all the same fails with ErrPartialAnswer. Prometheus, Mimir and
	// podscrape serve ignore both parameters.
	URL string
	// BearerToken is sent as "Authorization: Bearer <token>". Mutually exclusive with
	// BearerTokenFile.
	BearerToken string
	// BearerTokenFile is a file holding the token, surrounding white space ignored; a file
	// over 64 KiB is refused as no token (a log or a device mistaken for it). It is
	// read again when it changes (its modification time, size or inode), so a rotated
	// projected ServiceAccount token
	// (/var/run/secrets/kubernetes.io/serviceaccount/token) is picked up; while it cannot
	// be read, the last token read is sent.
	BearerTokenFile string
	// CAFile is a PEM bundle of the CAs that sign the server's certificate, instead of the
	// system roots. https only.
	CAFile string
	// CAData is CAFile's content given inline; both may be set.
	CAData []byte
	// ServerName is the name verified in the server's certificate. Zero: the URL's host.
	ServerName string
	// InsecureSkipVerify turns certificate verification off. Never on by default.
	InsecureSkipVerify bool
	// Headers are sent with every request, such as X-Scope-OrgID for a Thanos or Mimir
	// tenant. Authorization is refused: set a token. Host sets the requests' Host (a
	// virtual-host ingress reached by IP or by a Service name); the name verified in the
	// certificate stays ServerName, or the URL's host.
	Headers map[string]string
	// MaxResponseBytes caps a response body; a larger one fails its query with an error
	// wrapping ErrResponseTooLarge. Zero: 64 MiB.
	MaxResponseBytes int64
	// Timeout bounds a connection's dial and TLS handshake. Zero: 10s. A query's own
	// bound is PrometheusSourceConfig.QueryTimeout.
	Timeout time.Duration
}

// String shows the config with its credentials redacted: the token, the URL's password
// (a hosted Prometheus takes https://user:apikey@host), its query string's values (a
// gateway may take its key as a parameter) and the headers' values (an API key goes in
// a header of its own, since Authorization is refused); the header and parameter names
// are kept.
func (c ClientConfig) String() string {
	if c.BearerToken != "" {
		c.BearerToken = redacted
	}
	c.URL = redactURL(c.URL)
	if c.Headers != nil {
		headers := make(map[string]string, len(c.Headers))
		for name := range c.Headers {
			headers[name] = redacted
		}
		c.Headers = headers
	}
	type plain ClientConfig // no String method
	return fmt.Sprintf("%+v", plain(c))
}

// redactURL returns raw with the password of its userinfo replaced by "xxxxx", as
// url.URL.Redacted does, also when raw does not parse as a URL with userinfo (a trailing
// newline from a Secret, a missing scheme): then everything before the last "@" of the
// host part is replaced by "[REDACTED]". The value of every query parameter is replaced
// by "[REDACTED]" too, its name kept, as for headers: a gateway may take its key as one.
func redactURL(raw string) string {
	return redactQueryValues(redactUserinfo(raw))
}

// redactQueryValues replaces the value of every parameter of s's query string (from its
// first "?" to a "#") by "[REDACTED]", keeping the names.
func redactQueryValues(s string) string {
	q := strings.IndexByte(s, '?')
	if q < 0 {
		return s
	}
	end := len(s)
	if h := strings.IndexByte(s[q:], '#'); h >= 0 {
		end = q + h
	}
	params := strings.Split(s[q+1:end], "&")
	for i, p := range params {
		if name, _, ok := strings.Cut(p, "="); ok {
			params[i] = name + "=" + redacted
		}
	}
	return s[:q+1] + strings.Join(params, "&") + s[end:]
}

// redactUserinfo is redactURL's part for the userinfo.
func redactUserinfo(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	// Not parsed, or no userinfo parsed: "user:pw@host:9090" parses with scheme "user".
	prefix, rest := "", raw
	if scheme, after, ok := strings.Cut(raw, "://"); ok {
		prefix, rest = scheme+"://", after
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return raw
	}
	return prefix + redacted + rest[at:]
}

// GoString is String, for %#v.
func (c ClientConfig) GoString() string { return c.String() }

const redacted = "[REDACTED]"

// NewAPI validates config and returns a client of the server's HTTP API. The token, the
// extra headers and the TLS settings apply to requests to the URL's host only: a
// redirect elsewhere is followed without them. A BearerTokenFile is read once here, so a
// missing file is reported now; the error names the file, never the token.
func NewAPI(config ClientConfig) (v1.API, error) {
	c := config
	c.CAData = slices.Clone(config.CAData)
	u, err := url.Parse(c.URL)
	if err != nil && !strings.Contains(c.URL, "://") {
		// "127.0.0.1:9090" fails to parse (a colon in a first path segment): what it
		// lacks is the scheme, as for "localhost:9090", which parses with scheme localhost.
		return nil, fmt.Errorf("prometheus client config: URL %q: scheme is not http or https", redactURL(c.URL))
	}
	if err != nil {
		// url.Error quotes the raw URL, password included: name the redacted one instead.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return nil, fmt.Errorf("prometheus client config: URL %q: %w", redactURL(c.URL), err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("prometheus client config: URL %q: scheme is not http or https", redactURL(c.URL))
	case u.Host == "":
		return nil, fmt.Errorf("prometheus client config: URL %q: no host", redactURL(c.URL))
	case c.BearerToken != "" && c.BearerTokenFile != "":
		return nil, errors.New("prometheus client config: BearerToken and BearerTokenFile are both set")
	case c.BearerToken != "" && !httpheader.ValidValue(c.BearerToken):
		return nil, errors.New("prometheus client config: BearerToken holds characters a header cannot carry")
	case c.MaxResponseBytes < 0:
		return nil, fmt.Errorf("prometheus client config: MaxResponseBytes %d is negative", c.MaxResponseBytes)
	case c.Timeout < 0:
		return nil, fmt.Errorf("prometheus client config: Timeout %s is negative", c.Timeout)
	case u.Scheme == "http" && (c.CAFile != "" || len(c.CAData) > 0 || c.ServerName != "" || c.InsecureSkipVerify):
		return nil, fmt.Errorf("prometheus client config: URL %q is http: CAFile, CAData, ServerName and InsecureSkipVerify need https", redactURL(c.URL))
	}
	// Whole answers unless the URL accepts partial ones: Thanos Query's partial_response
	// and VictoriaMetrics' deny_partial_response, each added unless the URL sets it
	// (appended, not re-encoded: the rest of the query string is sent as written).
	acceptPartial := partialAccepted(u.Query())
	if !u.Query().Has("partial_response") {
		u.RawQuery = appendParam(u.RawQuery, "partial_response=false")
	}
	if !u.Query().Has("deny_partial_response") && !acceptPartial {
		u.RawQuery = appendParam(u.RawQuery, "deny_partial_response=1")
	}
	headers := http.Header{}
	for name, value := range c.Headers {
		switch {
		case !validHeaderName(name):
			return nil, fmt.Errorf("prometheus client config: Headers: %q is not a header name", name)
		case strings.EqualFold(name, "Authorization"):
			return nil, errors.New("prometheus client config: Headers: Authorization is refused: set BearerToken or BearerTokenFile")
		case !httpheader.ValidValue(value):
			return nil, fmt.Errorf("prometheus client config: Headers: the value of %s holds characters a header cannot carry", name)
		}
		headers.Set(name, value)
	}
	hostHeader := headers.Get("Host") // sent as the request's Host (see roundTripper)
	headers.Del("Host")
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}

	base := newTransport(c.Timeout)
	// A redirect to another scheme or host goes through a transport of its own, with Go's
	// TLS defaults (the system roots, the host's own name): the CA, server name and
	// insecure switch are the configured server's, not any host it redirects to.
	elsewhere := newTransport(c.Timeout)
	elsewhere.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if u.Scheme == "https" {
		tlsConfig, err := tlsConfigOf(&c)
		if err != nil {
			return nil, fmt.Errorf("prometheus client config: %w", err)
		}
		base.TLSClientConfig = tlsConfig
	}
	rt := &roundTripper{base: base, elsewhere: elsewhere, scheme: u.Scheme, host: u.Host, headers: headers, hostHeader: hostHeader,
		maxBytes: c.MaxResponseBytes, credentials: credentialsOf(u, headers), acceptPartial: acceptPartial}
	switch {
	case c.BearerToken != "":
		rt.token = staticToken(c.BearerToken)
	case c.BearerTokenFile != "":
		ft := &fileToken{path: c.BearerTokenFile}
		if _, err := ft.get(); err != nil {
			return nil, fmt.Errorf("prometheus client config: %w", err)
		}
		rt.token = ft.get
	}
	client, err := api.NewClient(api.Config{Address: u.String(), RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %s: %w", redactURL(u.String()), err)
	}
	return v1.NewAPI(client), nil
}

// appendParam returns the raw query string rawQuery with param ("name=value") appended.
func appendParam(rawQuery, param string) string {
	if rawQuery == "" {
		return param
	}
	return rawQuery + "&" + param
}

// newTransport is a transport whose dial and TLS handshake are bounded by timeout, and
// whose HTTP/2 connections are health-checked: one that has received nothing for
// h2PingAfter is pinged and closed when the ping goes unanswered, as Prometheus' own
// client does (ReadIdleTimeout); a connection that stopped answering would otherwise take
// every query, retries included, for as long as the kernel keeps it.
func newTransport(timeout time.Duration) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&dialer{timeout: timeout}).DialContext
	t.TLSHandshakeTimeout = timeout
	t.HTTP2 = &http.HTTP2Config{SendPingTimeout: h2PingAfter, PingTimeout: h2PingTimeout}
	return t
}

// tlsConfigOf returns the TLS settings of c.
func tlsConfigOf(c *ClientConfig) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // an explicit switch, off by default
	if c.CAFile == "" && len(c.CAData) == 0 {
		return cfg, nil
	}
	pool := x509.NewCertPool()
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CAFile: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CAFile %s: no PEM certificate", c.CAFile)
		}
	}
	if len(c.CAData) > 0 && !pool.AppendCertsFromPEM(c.CAData) {
		return nil, errors.New("CAData: no PEM certificate")
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// h2PingAfter and h2PingTimeout are the HTTP/2 connections' health check (see NewAPI).
// Variables for tests.
var (
	h2PingAfter   = time.Minute
	h2PingTimeout = 15 * time.Second
)
