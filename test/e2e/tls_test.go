package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source/pod"
)

// tlsDNSName is the DNS name in the pod's certificate besides its IP.
const tlsDNSName = "metrics.podscrape.test"

func TestTLSVerificationCAInsecureAndServerName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	ip := localcluster.NewAddressBlock().Next()
	ca, err := localcluster.NewCA("podscrape test CA")
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := localcluster.NewCA("some other CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert([]string{ip}, []string{tlsDNSName})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{body: []byte("m 1\n")}
	srv, err := localcluster.ServeTLS(ip, 0, rec, cert)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	sel := map[string]string{"app": "tls"}
	if err := cp.CreateService(ctx, ns, "metrics", sel, int32(srv.Port)); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "p", Labels: sel, IP: ip, Ready: true}); err != nil {
		t.Fatal(err)
	}
	const token = "tls-test-token"
	base := pod.PodScrapingSourceConfig{
		ServiceName: "metrics", ServiceNamespace: ns, MetricsPort: int32(srv.Port),
		MetricsScheme: "https", BearerToken: token,
	}

	tests := []struct {
		name  string
		setup func(*pod.PodScrapingSourceConfig)
		// check inspects the pod's error: nil wants success.
		check func(t *testing.T, err error)
		sni   string // the server name the pod must have seen, on success
	}{
		{
			name:  "CA bundle verifies the IP",
			setup: func(c *pod.PodScrapingSourceConfig) { c.TLSCAData = ca.PEM },
		},
		{
			name:  "no CA: refused",
			setup: func(*pod.PodScrapingSourceConfig) {},
			check: wantUnknownAuthority,
		},
		{
			name:  "another CA: refused",
			setup: func(c *pod.PodScrapingSourceConfig) { c.TLSCAData = otherCA.PEM },
			check: wantUnknownAuthority,
		},
		{
			name:  "explicit insecure switch accepts",
			setup: func(c *pod.PodScrapingSourceConfig) { c.InsecureSkipVerify = true },
		},
		{
			name: "server name override verifies that name",
			setup: func(c *pod.PodScrapingSourceConfig) {
				c.TLSCAData = ca.PEM
				c.TLSServerName = tlsDNSName
			},
			sni: tlsDNSName,
		},
		{
			name: "server name override to a name not in the certificate: refused",
			setup: func(c *pod.PodScrapingSourceConfig) {
				c.TLSCAData = ca.PEM
				c.TLSServerName = "wrong.podscrape.test"
			},
			check: func(t *testing.T, err error) {
				var host x509.HostnameError
				if !errors.As(err, &host) || !strings.Contains(err.Error(), "wrong.podscrape.test") {
					t.Fatalf("got %v, want an x509.HostnameError naming wrong.podscrape.test", err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.setup(&cfg)
			before := len(rec.seen())
			results, err := refresh(t, newSource(t, cfg))
			r := results[pod.AllMetricsQuery]
			if tc.check != nil {
				if !errors.Is(err, pod.ErrAllPodsFailed) || r == nil {
					t.Fatalf("Refresh: got %v, want ErrAllPodsFailed with the pod's error", err)
				}
				e := scrapeErrors(t, r.Error)["p"]
				t.Logf("error: %v", e)
				tc.check(t, e)
				if !strings.Contains(e.Error(), "https://"+ip) || strings.Contains(e.Error(), token) {
					t.Fatalf("error %q: want the pod's https URL and not the token", e)
				}
				if n := len(rec.seen()) - before; n != 0 {
					t.Fatalf("requests the pod received: got %d, want 0 (no token before verification)", n)
				}
				return
			}
			if err != nil || r.Error != nil || upByPod(r)["p"] != 1 {
				t.Fatalf("Refresh: got %v (pods: %v), want the pod scraped", err, r)
			}
			seen := rec.seen()
			if len(seen) != before+1 {
				t.Fatalf("requests: got %d, want 1", len(seen)-before)
			}
			req := seen[len(seen)-1]
			if req.TLS == nil || req.TLS.Version < tls.VersionTLS12 || req.Header.Get("Authorization") != "Bearer "+token {
				t.Fatalf("request: TLS %v, Authorization %q; want TLS 1.2+ carrying the token", req.TLS, req.Header.Get("Authorization"))
			}
			if req.ProtoMajor != 2 {
				t.Fatalf("protocol: got %s, want HTTP/2, negotiated over TLS", req.Proto)
			}
			if req.TLS.ServerName != tc.sni {
				t.Fatalf("SNI: got %q, want %q", req.TLS.ServerName, tc.sni)
			}
		})
	}
}

func wantUnknownAuthority(t *testing.T, err error) {
	t.Helper()
	var verify *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &verify) || !errors.As(err, &unknown) || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Fatalf("got %v, want a certificate verification error: unknown authority", err)
	}
	if got := pod.ScrapeReason(err); got != pod.ReasonTLS {
		t.Fatalf("reason: got %q, want %q", got, pod.ReasonTLS)
	}
}
