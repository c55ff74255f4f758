package pod

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podscrape/podscrape/source"
)

// The guide wants a Secret that is not there, or lacks the key, to mean no auth and no
// error. When the pods then refuse the scrape (401, 403), each pod's error says why no
// token was sent, naming the Secret and the key and listing the Secret's key names, never
// a value; the request still goes out with no Authorization header. With no Secret
// configured, a 401 keeps its general hint.
func TestPodsRefusingTheScrapeSayWhyTheSecretGaveNoToken(t *testing.T) {
	const token = "s3cret-token-value"
	tests := []struct {
		name   string
		status int
		data   map[string][]byte // the Secret "reader"; nil: none created
		secret string            // MetricsReaderSecretName
		key    string            // MetricsReaderSecretKey
		want   string            // %s: the namespace
	}{
		{"secret not found", http.StatusUnauthorized, nil, "reader", "",
			"HTTP status 401 Unauthorized; no token was sent: Secret %s/reader not found"},
		{"key missing", http.StatusUnauthorized, map[string][]byte{"token": []byte(token), "ca.crt": []byte("cert-bytes")}, "reader", "bearer-token",
			`HTTP status 401 Unauthorized; no token was sent: Secret %s/reader has no key "bearer-token" (keys: ca.crt, token)`},
		{"default key missing, 403", http.StatusForbidden, map[string][]byte{"bearer": []byte(token)}, "reader", "",
			`HTTP status 403 Forbidden; no token was sent: Secret %s/reader has no key "token" (keys: bearer)`},
		{"no keys", http.StatusUnauthorized, map[string][]byte{}, "reader", "",
			`no token was sent: Secret %s/reader has no key "token" (no keys)`},
		{"many keys", http.StatusUnauthorized, manyKeys(12, token), "reader", "",
			`no token was sent: Secret %s/reader has no key "token" (keys: k00, k01, k02, k03, k04, k05, k06, k07, k08, k09, and 2 more)`},
		{"empty value", http.StatusUnauthorized, map[string][]byte{"token": []byte(" \n")}, "reader", "",
			`no token was sent: Secret %s/reader key "token" is empty`},
		{"no secret configured", http.StatusUnauthorized, nil, "", "",
			"HTTP status 401 Unauthorized (no token, or a token the pod does not accept)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, cfg := startAuthPod(t, token, tc.status)
			if tc.data != nil {
				s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: cfg.ServiceNamespace, Name: "reader"}, Data: tc.data}
				if err := cp.Client.Create(context.Background(), s); err != nil {
					t.Fatal(err)
				}
			}
			cfg.MetricsReaderSecretName, cfg.MetricsReaderSecretKey = tc.secret, tc.key
			s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			_, err = s.Refresh(context.Background(), source.RefreshSpec{})
			if got := p.requests(); len(got) != 1 || got[0] != "" {
				t.Fatalf("Authorization of the pod's requests: got %q, want one request without it", got)
			}
			var status *StatusError
			if !errors.As(err, &status) || status.StatusCode != tc.status || ScrapeReason(status) != ReasonHTTPStatus {
				t.Fatalf("got %v, want a *StatusError %d", err, tc.status)
			}
			want := strings.ReplaceAll(tc.want, "%s", cfg.ServiceNamespace)
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("got %q,\nwant it to contain %q", err, want)
			}
			if tc.secret == "" && strings.Contains(err.Error(), "no token was sent") {
				t.Fatalf("no Secret is configured, but the error blames one: %q", err)
			}
			for _, v := range tc.data {
				if v := strings.TrimSpace(string(v)); v != "" && strings.Contains(err.Error(), v) {
					t.Fatalf("the error shows a Secret value: %q", err)
				}
			}
		})
	}
}

// A Secret that is not there still means no auth and no error when the pods need none.
func TestSecretNotFoundIsNoAuthNoError(t *testing.T) {
	_, cfg := startBodyPod(t, "m 5\n")
	cfg.MetricsReaderSecretName = "absent"
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	res, err := s.Refresh(context.Background(), source.RefreshSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if st := res[AllMetricsQuery].PodStatuses(); len(st) != 1 || !st[0].Up || st[0].Err != nil {
		t.Fatalf("got %+v, want the pod up with no error", st)
	}
}

// manyKeys is n keys k00, k01, ... each holding value.
func manyKeys(n int, value string) map[string][]byte {
	m := make(map[string][]byte, n)
	for i := range n {
		m[fmt.Sprintf("k%02d", i)] = []byte(value)
	}
	return m
}

// MetricsReaderSecretKey is a Secret data key: one no Secret can hold would read as a
// key the Secret lacks, meaning no auth, so it is refused up front, naming the field.
func TestMetricsReaderSecretKeyMustBeADataKey(t *testing.T) {
	for _, tc := range []struct {
		name, key, want string // want: "" when accepted
	}{
		{"space", "bearer token", `MetricsReaderSecretKey "bearer token" is not a valid Secret data key: a valid config key must consist of alphanumeric characters, '-', '_' or '.'`},
		{"slash", "token/value", `MetricsReaderSecretKey "token/value" is not a valid Secret data key`},
		{"dot dot", "..", `MetricsReaderSecretKey ".." is not a valid Secret data key: must not be '..'`},
		{"newline", "token\n", `MetricsReaderSecretKey "token\n" is not a valid Secret data key`},
		{"254 bytes", strings.Repeat("k", 254), `MetricsReaderSecretKey "kkkk`},
		{"dash", "bearer-token", ""},
		{"dot", "tls.crt", ""},
		{"underscore", "token_1", ""},
		{"default", "", ""}, // "token"
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := PodScrapingSourceConfig{ServiceName: "svc", ServiceNamespace: "ns", MetricsPort: 9090,
				MetricsReaderSecretName: "reader", MetricsReaderSecretKey: tc.key}
			checkNewSource(t, cfg, tc.want)
		})
	}
}
