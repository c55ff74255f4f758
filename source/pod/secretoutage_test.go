package pod

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// TestSecretTokenOutlivesAnAPIServerOutage: the token Secret is read at every refresh.
// While the API server cannot answer (a control-plane upgrade, a network cut), the token
// read before is sent again, as a kubelet keeps a mounted Secret: the pods still take it,
// and every scrape of the Service failed for the outage before. Once the API server
// answers that the Secret is gone, no token is sent.
func TestSecretTokenOutlivesAnAPIServerOutage(t *testing.T) {
	const token = "s3cret-token-value"
	p, cfg := startAuthPod(t, token, http.StatusUnauthorized)
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: cfg.ServiceNamespace, Name: "reader"}, Data: map[string][]byte{"token": []byte(token)}}
	if err := cp.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	// The Secret is read through a proxy to the API server, which the test cuts.
	api, err := url.Parse(cp.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := localcluster.StartFreezingProxy("127.0.0.1", api.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	viaProxy := rest.CopyConfig(cp.Config)
	viaProxy.Host = "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(proxy.Port()))
	secrets, err := client.New(viaProxy, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.MetricsReaderSecretName, cfg.SecretReader = "reader", secrets
	s, err := NewPodScrapingSource(ctx, cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	refresh := func() error {
		_, err := s.Refresh(ctx, source.RefreshSpec{})
		return err
	}
	if err := refresh(); err != nil {
		t.Fatalf("before the outage: %v", err)
	}

	proxy.Close() // the API server unreachable: connections refused
	if err := refresh(); err != nil {
		t.Fatalf("during the outage: %v, want the pod scraped with the token read before", err)
	}
	if got := p.requests(); len(got) != 2 || got[1] != "Bearer "+token {
		t.Fatalf("Authorization during the outage: got %q, want the token read before", got)
	}

	// The API server answers again, and the Secret is gone: no token.
	if err := cp.Client.Delete(ctx, secret); err != nil {
		t.Fatal(err)
	}
	cfg.SecretReader = cp.Client
	s2, err := NewPodScrapingSource(ctx, cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s2.Close)
	s2.lastSecret.Store(&bearer{token: token}) // as if read before the Secret was deleted
	if _, err := s2.Refresh(ctx, source.RefreshSpec{}); err == nil {
		t.Fatal("after the Secret was deleted: no error, want the pod refusing a scrape without the token")
	}
	if got := p.requests(); got[len(got)-1] != "" {
		t.Fatalf("Authorization after the Secret was deleted: got %q, want none", got[len(got)-1])
	}
}
