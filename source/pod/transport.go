package pod

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// newTransport builds the HTTP transport of one source. Requests go to it directly, not
// through an http.Client: a redirect comes back as the 3xx response it is and is never
// followed (the token goes only to discovered pod addresses), and no per-request header
// copy is made for redirects that never happen. It never uses a proxy from the
// environment (pods are dialled directly) and leaves gzip to the caller, so that the
// body cap applies after decompression. An HTTP/2 connection that stops answering is
// closed by a health check, as Prometheus' HTTP client does.
func newTransport(cfg *PodScrapingSourceConfig) (*http.Transport, error) {
	tlsConfig := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         cfg.TLSServerName,
		InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // explicit opt-in
	}
	if len(cfg.TLSCAData) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.TLSCAData) {
			return nil, fmt.Errorf("TLSCAData holds no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	transport := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: cfg.ScrapeTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: cfg.ScrapeTimeout,
		DisableCompression:  true,
		ForceAttemptHTTP2:   true,
		// A pod's headers are its to choose: Go's default bound is 10 MiB, outside
		// MaxBodyBytes, and a header an error quotes (a Location, a Content-Type) goes into
		// every answer that names the pod's failure (serve's warnings and 503s, the targets,
		// the log). An exposition's headers are a few hundred bytes; an Envoy in front of
		// the pods passes at most 60 KiB.
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		// One idle connection per pod: the next refresh reuses it instead of dialling
		// (and handshaking) again.
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     idleConnTimeout,
		// Each pod's connection kept alive holds a read and a write buffer, 4 KiB each by
		// default: 1.6 MB for 200 pods. A scrape's request is a few hundred bytes (a
		// longer write bypasses the buffer). The read buffer keeps net/http's 4 KiB: its
		// chunked reader reads a chunk's size line, and looks for the end of the
		// trailers, within that buffer and assumes it is at least 4 KiB (maxLineLength in
		// net/http/internal/chunked.go); 1 KiB failed a pod whose chunked answer carried
		// a chunk extension or trailers of a couple of KiB
		// (TestChunkedBodyReadAsNetHTTPReadsIt).
		WriteBufferSize: 512,
		// An HTTP/2 connection carries every scrape of its pod, and a request that
		// times out leaves it in the pool: one that stopped answering would fail each
		// later scrape until the kernel drops it (never, while the peer's kernel still
		// acknowledges). A health check closes it, and the next scrape dials anew.
		HTTP2: &http.HTTP2Config{SendPingTimeout: h2PingAfter, PingTimeout: h2PingTimeout},
	}
	return transport, nil
}

// maxResponseHeaderBytes bounds a pod's response headers; past it the scrape fails with
// net/http's "server response headers exceeded" error, which quotes none of them.
const maxResponseHeaderBytes = 64 << 10

// h2PingAfter and h2PingTimeout are the HTTP/2 connections' health check, Prometheus'
// (its HTTP client's ReadIdleTimeout, and the default ping timeout): a connection that
// has received nothing for h2PingAfter is pinged, and closed when no answer comes within
// h2PingTimeout. Variables for tests.
var (
	h2PingAfter   = time.Minute
	h2PingTimeout = 15 * time.Second
)

// idleConnTimeout is how long a pod's connection is kept idle for its next scrape.
const idleConnTimeout = 90 * time.Second

// addressOwners remembers which pod each address scraped lately belonged to. The
// transport keeps a pod's connection by address, and kubelet gives a deleted pod's IP
// to a new pod quickly: a connection kept alive to the old pod must not carry the new
// pod's scrape (a stale connection through a node proxy or a mesh would answer as the
// old pod, under the new pod's name). It is safe for concurrent use.
type addressOwners struct {
	mu     sync.Mutex // protects owners
	owners map[string]addressOwner
}

type addressOwner struct {
	uid  types.UID
	seen time.Time
}

// changed records each target's address as its pod's, and reports whether one of them
// belonged to another pod (another UID) when last scraped. An address not scraped for
// longer than keep is forgotten: the transport has closed its idle connections by then.
func (o *addressOwners) changed(targets []target, now time.Time, keep time.Duration) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.owners == nil {
		o.owners = make(map[string]addressOwner, len(targets))
	}
	moved := false
	for i := range targets {
		t := &targets[i]
		if t.unreachable != nil {
			continue // never dialled: the address is another target's
		}
		host := t.addr.Host
		if was, ok := o.owners[host]; ok && was.uid != t.uid {
			moved = true
		}
		o.owners[host] = addressOwner{uid: t.uid, seen: now}
	}
	for host, was := range o.owners {
		if now.Sub(was.seen) > keep {
			delete(o.owners, host)
		}
	}
	return moved
}
