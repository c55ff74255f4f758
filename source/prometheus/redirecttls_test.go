package prometheus

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"testing"
)

// The TLS settings are the configured server's: a redirect to another host is verified
// as any https URL is (the system roots, its own name), whatever the configured server
// was allowed. A server reached with InsecureSkipVerify (its self-signed certificate)
// that redirects elsewhere must not make that other host's answer, unverified, the
// query's: a man in the middle of that hop could feed an autoscaler its numbers.
func TestRedirectElsewhereIsVerifiedWithoutTheServersTLSSettings(t *testing.T) {
	other := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, vectorOf(1, "666"))
	}))
	configured := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	for _, cfg := range []ClientConfig{
		{URL: configured.URL, InsecureSkipVerify: true},
		// httptest's servers share one certificate: trusted for the configured server,
		// it is not thereby trusted for another host.
		{URL: configured.URL, CAData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: configured.Certificate().Raw})},
	} {
		a, err := NewAPI(cfg)
		if err != nil {
			t.Fatal(err)
		}
		r := queryOnce(t, t.Context(), NewPrometheusSource(t.Context(), a, fastConfig()))
		var unknown x509.UnknownAuthorityError
		if r.Error == nil || !errors.As(r.Error, &unknown) {
			t.Errorf("insecure %v, CA %v: the redirect to %s answered %v (error %v); want its certificate refused",
				cfg.InsecureSkipVerify, len(cfg.CAData) > 0, other.URL, r.Values, r.Error)
		}
	}
}
