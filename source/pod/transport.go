package pod

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"time"
)

// newTransport builds the HTTP transport of one source. Requests go to it directly, not
// through an http.Client: a redirect comes back as the 3xx response it is and is never
// followed (the token goes only to discovered pod addresses), and no per-request header
// copy is made for redirects that never happen. It never uses a proxy from the
// environment (pods are dialled directly) and leaves gzip to the caller, so that the
// body cap applies after decompression.
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
		// One idle connection per pod: the next refresh reuses it instead of dialling
		// (and handshaking) again.
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     90 * time.Second,
	}
	return transport, nil
}
