package parity

import (
	"bytes"
	"io"
	stdlog "log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// proxy is a real reverse proxy on 127.0.0.1 in front of a Prometheus server: it records
// each query and the status it got, holds the queries containing a chosen text until the
// client gives up (a slow server), and can point at another server (a restart behind a
// stable address, as a Service gives). Without a server it answers 502.
type proxy struct {
	*httptest.Server

	target atomic.Pointer[url.URL]
	stall  atomic.Pointer[string] // queries containing it are held; nil: none

	mu   sync.Mutex // protects seen
	seen []exchange
}

// exchange is one request through the proxy.
type exchange struct {
	query  string
	status int // 0: held until the client left
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	p := &proxy{}
	p.point(t, target)
	rp := &httputil.ReverseProxy{
		Rewrite:  func(r *httputil.ProxyRequest) { r.SetURL(p.target.Load()) },
		ErrorLog: stdlog.New(io.Discard, "", 0),
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		query := form.Get("query")
		if query == "" {
			query = r.URL.Query().Get("query")
		}
		if stall := p.stall.Load(); stall != nil && strings.Contains(query, *stall) {
			<-r.Context().Done()
			p.record(exchange{query: query})
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		rp.ServeHTTP(rec, r)
		p.record(exchange{query: query, status: rec.status})
	}))
	t.Cleanup(p.Close)
	return p
}

// point sends the proxy's traffic to target.
func (p *proxy) point(t *testing.T, target string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p.target.Store(u)
}

// hold holds the queries containing text until their client leaves; "" holds none.
func (p *proxy) hold(text string) {
	if text == "" {
		p.stall.Store(nil)
		return
	}
	p.stall.Store(&text)
}

func (p *proxy) record(e exchange) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, e)
}

// statuses returns the statuses of the requests for query so far.
func (p *proxy) statuses(query string) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for _, e := range p.seen {
		if e.query == query {
			out = append(out, e.status)
		}
	}
	return out
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
