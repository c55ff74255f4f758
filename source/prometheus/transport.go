package prometheus

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// ErrResponseTooLarge is wrapped by a query's error when the server's response body
// exceeds ClientConfig.MaxResponseBytes.
var ErrResponseTooLarge = errors.New("response body too large")

// roundTripper adds the configured headers and token to requests for the server's host,
// and caps response bodies.
type roundTripper struct {
	base http.RoundTripper // with the configured TLS settings: for the configured scheme and host
	// elsewhere carries requests a redirect sends to another scheme or host, with Go's TLS
	// defaults.
	elsewhere http.RoundTripper
	scheme    string // of the configured URL
	host      string // of the configured URL, with its port if given
	headers   http.Header
	// hostHeader is the Host the configured headers name, if any: Go's client sends
	// Request.Host and ignores Header["Host"].
	hostHeader string
	token      func() (string, error) // nil: no token
	maxBytes   int64
	// credentials are the config's other secrets an error body may quote, each in every
	// form the request carried it (see credentialsOf).
	credentials []string
	// acceptPartial: the configured URL asks for partial answers (partialAccepted).
	acceptPartial bool
}

// RoundTrip sends req, with the headers, the token and the TLS settings when it goes to
// the configured scheme and host (never over a downgrade to http, never to another host
// a redirect names).
func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	base := rt.elsewhere
	if req.URL.Scheme == rt.scheme && req.URL.Host == rt.host {
		base = rt.base
		req = req.Clone(req.Context())
		for name, values := range rt.headers {
			req.Header[name] = values
		}
		if rt.hostHeader != "" {
			req.Host = rt.hostHeader
		}
		if rt.token != nil {
			token, err := rt.token()
			if err != nil {
				if req.Body != nil {
					_ = req.Body.Close()
				}
				return nil, err
			}
			req.Header.Set("Authorization", "Bearer "+token)
		}
	}
	// The credentials this request carries, which an error body may quote: the token sent
	// (not the one read now: the file may have been rotated meanwhile), or the Basic
	// credentials net/http made of the URL's userinfo.
	sent := sentCredentials(req.Header.Get("Authorization"))
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{body: resp.Body, left: rt.maxBytes, limit: rt.maxBytes}
	if a, ok := req.Context().Value(answeredKey{}).(*answered); ok {
		a.setURL(req.URL)
		if resp.StatusCode/100 == 2 {
			// VictoriaMetrics' cluster marks an answer some vmstorage nodes did not
			// contribute to with a top-level "isPartial": true that client_golang does not
			// decode: read it here, the body is read whole by client_golang anyway.
			body := readAhead(resp)
			a.setPartial(markedPartial(body), rt.acceptPartial)
			if !looksLikeJSON(body) {
				// Not Prometheus' answer (a sign-in page a redirect led to): client_golang's
				// error says only that it is not JSON; keep what it is, for the error.
				a.setBody(string(redact(body[:min(len(body), maxErrorBody)], append(sent, rt.credentials...))))
			}
		} else {
			a.setRetryAfter(retryAfter(resp.Header.Get("Retry-After"), time.Now()))
		}
	}
	if resp.StatusCode/100 != 2 && (len(sent) > 0 || len(rt.credentials) > 0) {
		// An error body becomes part of an error (client_golang keeps it as the message or
		// the Detail); a gateway may quote the Authorization header or the API key it
		// refused, or the request line with the key a parameter carries.
		redactBody(resp, append(sent, rt.credentials...))
	}
	return resp, nil
}

// readAhead reads resp's body whole and replaces it with what was read, ending with the
// error reading it ended with (ErrResponseTooLarge, a dropped connection), so that
// client_golang sees the same body and the same failure. It returns the body read, nil
// when reading it failed.
func readAhead(resp *http.Response) []byte {
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = &errorBody{Reader: bytes.NewReader(b), err: err}
	if err != nil {
		return nil
	}
	return b
}

// looksLikeJSON reports whether body is empty or starts, past white space, as a JSON
// object does.
func looksLikeJSON(body []byte) bool {
	trimmed := bytes.TrimSpace(body)
	return len(trimmed) == 0 || trimmed[0] == '{'
}

// markedPartial reports whether body is a JSON object whose top-level isPartial is true:
// VictoriaMetrics cluster's vmselect answering from the vmstorage nodes that answered
// when others did not (app/vmselect/prometheus/query_response.qtpl).
func markedPartial(body []byte) bool {
	if !bytes.Contains(body, []byte(`"isPartial"`)) {
		return false // every Prometheus answer: no second decoding
	}
	var top struct {
		IsPartial bool `json:"isPartial"`
	}
	return json.Unmarshal(body, &top) == nil && top.IsPartial
}

// retryAfter returns the wait a Retry-After header value asks for, in delay-seconds or
// as an HTTP date (RFC 9110 10.2.3), from now; 0 when value is none or unparsable.
func retryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, maxRetryAfterSeconds)) * time.Second
	}
	if at, err := http.ParseTime(value); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}

// maxRetryAfterSeconds bounds a Retry-After in seconds, so that no value overflows a
// Duration; any wait that long is past every query's timeout.
const maxRetryAfterSeconds = 24 * 3600

// sentCredentials are the secrets of an Authorization header value, as an error body
// may quote them: the value after its scheme and, for Basic, the password it encodes
// (when at least minCredentialBytes long, as for the configured values).
func sentCredentials(authorization string) []string {
	scheme, value, ok := strings.Cut(authorization, " ")
	if !ok || value == "" {
		return nil
	}
	creds := []string{value}
	if strings.EqualFold(scheme, "Basic") {
		if b, err := base64.StdEncoding.DecodeString(value); err == nil {
			if _, pw, ok := strings.Cut(string(b), ":"); ok && len(pw) >= minCredentialBytes {
				creds = append(creds, pw)
			}
		}
	}
	return creds
}

// minCredentialBytes is the length below which a configured header or query parameter
// value is not redacted from error bodies: replacing a "true" or a "1" throughout a
// server's message would garble it, and no credential is that short.
const minCredentialBytes = 8

// credentialsOf lists what of the configured URL and headers is secret, as
// ClientConfig.String hides it: the URL's password, its query parameters' values (a
// gateway's key; as written in the URL, and decoded), the headers' values (an API key),
// each at least minCredentialBytes long. The Host header is an address, not a secret.
func credentialsOf(u *url.URL, headers http.Header) []string {
	var creds []string
	add := func(v string) {
		if len(v) >= minCredentialBytes && !slices.Contains(creds, v) {
			creds = append(creds, v)
		}
	}
	if pw, ok := u.User.Password(); ok {
		add(pw)
	}
	for param := range strings.SplitSeq(u.RawQuery, "&") {
		if _, v, ok := strings.Cut(param, "="); ok {
			add(v)
			if decoded, err := url.QueryUnescape(v); err == nil {
				add(decoded)
			}
		}
	}
	for name, values := range headers {
		if name == "Host" {
			continue
		}
		for _, v := range values {
			add(v)
		}
	}
	// Longest first: a credential that holds another is replaced whole.
	slices.SortFunc(creds, func(a, b string) int { return len(b) - len(a) })
	return creds
}

// answeredKey is the context key of the *answered a query's requests report to.
type answeredKey struct{}

// answered is what the roundTripper saw of the last response to a query's request that
// client_golang does not return: the URL that answered (after redirects), for an error
// to name which URL answered 404 or a page that is not Prometheus'; whether a 2xx body
// was marked partial; and the Retry-After of a refusal. It is safe for concurrent use.
type answered struct {
	url     atomic.Pointer[string]
	partial atomic.Bool
	// accepted: the configured URL asks for partial answers (see partialAccepted).
	accepted   atomic.Bool
	retryAfter atomic.Int64 // a time.Duration
	// body is a 2xx body that is no JSON object (its first maxErrorBody bytes,
	// credentials redacted), "" for any other.
	body atomic.Pointer[string]
}

// withAnswered returns ctx carrying a, for the roundTripper to report to.
func withAnswered(ctx context.Context, a *answered) context.Context {
	return context.WithValue(ctx, answeredKey{}, a)
}

// setURL records u with its password redacted and without its query string, which
// holds the query (already in the error) and may hold a key a gateway takes as a
// parameter.
func (a *answered) setURL(u *url.URL) {
	shown := *u
	shown.RawQuery, shown.ForceQuery, shown.Fragment, shown.RawFragment = "", false, "", ""
	s := shown.Redacted()
	a.url.Store(&s)
}

// getURL returns the URL recorded, or "" when no response came (or the API was not
// built by NewAPI).
func (a *answered) getURL() string {
	if s := a.url.Load(); s != nil {
		return *s
	}
	return ""
}

// setPartial records whether the answer was marked partial, and whether the configured
// URL accepts partial answers.
func (a *answered) setPartial(partial, accepted bool) {
	a.partial.Store(partial)
	a.accepted.Store(accepted)
}

// wasPartial reports whether the last answer was marked partial, and whether the
// configured URL accepts that.
func (a *answered) wasPartial() (partial, accepted bool) { return a.partial.Load(), a.accepted.Load() }

// setBody records a 2xx body that is not Prometheus' JSON.
func (a *answered) setBody(b string) { a.body.Store(&b) }

// getBody returns the 2xx body that was not Prometheus' JSON, "" when none.
func (a *answered) getBody() string {
	if b := a.body.Load(); b != nil {
		return *b
	}
	return ""
}

// setRetryAfter records the wait the last refusal's Retry-After asked for (0: none).
func (a *answered) setRetryAfter(d time.Duration) { a.retryAfter.Store(int64(d)) }

// getRetryAfter returns the wait the last refusal asked for, 0 when none.
func (a *answered) getRetryAfter() time.Duration { return time.Duration(a.retryAfter.Load()) }

// maxErrorBody caps the error body kept for redaction; the rest is dropped.
const maxErrorBody = 64 << 10

// redactBody replaces resp's body with its first maxErrorBody bytes, each of secrets
// (those not empty) replaced by "[REDACTED]".
func redactBody(resp *http.Response, secrets []string) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	b = redact(b, secrets)
	resp.Body = &errorBody{Reader: bytes.NewReader(b), err: err}
	resp.ContentLength = -1
}

// redact returns b with each of secrets (those not empty) replaced by "[REDACTED]".
func redact(b []byte, secrets []string) []byte {
	for _, secret := range secrets {
		if secret != "" {
			b = bytes.ReplaceAll(b, []byte(secret), []byte(redacted))
		}
	}
	return b
}

// errorBody is a body read ahead, ending with the error reading it ended with.
type errorBody struct {
	*bytes.Reader
	err error
}

func (b *errorBody) Read(p []byte) (int, error) {
	n, err := b.Reader.Read(p)
	if err == io.EOF && b.err != nil {
		return n, b.err
	}
	return n, err
}

func (b *errorBody) Close() error { return nil }

// limitedBody fails a read past limit bytes with ErrResponseTooLarge.
type limitedBody struct {
	body  io.ReadCloser
	left  int64
	limit int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly limit bytes from a longer one.
		var one [1]byte
		n, err := b.body.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: over %d bytes (MaxResponseBytes)", ErrResponseTooLarge, b.limit)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.body.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.body.Close() }

// dialer dials with a timeout.
type dialer struct{ timeout time.Duration }

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return (&net.Dialer{Timeout: d.timeout, KeepAlive: 30 * time.Second}).DialContext(ctx, network, addr)
}

// validHeaderName reports whether name is an HTTP header name (an RFC 9110 token).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
