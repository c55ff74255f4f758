package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// lineWriter is a stderr that reports the first match of a pattern.
type lineWriter struct {
	mu    sync.Mutex // protects buf, found
	buf   bytes.Buffer
	re    *regexp.Regexp
	found chan string
	sent  bool
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := w.re.FindStringSubmatch(w.buf.String()); m != nil && !w.sent {
		w.sent = true
		w.found <- m[1]
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// startServe runs podscrape serve in-process with args and returns its base URL, once
// it printed it; the command stops at the end of the test, which checks its exit code.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &lineWriter{re: regexp.MustCompile(`on (https?://\S+) `), found: make(chan string, 1)}
	done := make(chan int, 1)
	go func() {
		var stdout bytes.Buffer
		done <- run(ctx, append([]string{"--kubeconfig", kubeconfig, "serve", "--listen", "127.0.0.1:0"}, args...), &stdout, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d, want 0 on cancel; stderr:\n%s", code, stderr)
		}
	})
	select {
	case u := <-stderr.found:
		return u
	case code := <-done:
		done <- code
		t.Fatalf("serve exited %d before serving; stderr:\n%s", code, stderr)
	case <-time.After(time.Minute):
		t.Fatalf("serve printed no URL in a minute; stderr:\n%s", stderr)
	}
	return ""
}

// limitConnections sets the bound of connections served at once
// (--web.max-connections, serveMaxConnections) to n for the rest of the test.
func limitConnections(t *testing.T, n int) {
	old := serveMaxConnections
	serveMaxConnections = n
	t.Cleanup(func() { serveMaxConnections = old })
}

// startReadyServe is startServe of plain-http args waited for until ready, the
// keep-alive of that wait closed: it returns the base URL and the address to dial.
func startReadyServe(t *testing.T, args ...string) (base, addr string) {
	t.Helper()
	base = startServe(t, args...)
	waitServeReady(t, base)
	http.DefaultClient.CloseIdleConnections() // waitServeReady's keep-alive
	return base, strings.TrimPrefix(base, "http://")
}

// waitServeReady polls base/-/ready until it answers 200, for at most 30s.
func waitServeReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("serve not ready in 30s")
		}
		time.Sleep(20 * time.Millisecond) // polling readiness
	}
}

// answer is what a GET that getInBackground sent got back.
type answer struct {
	code int
	body string
	err  error
}

// getInBackground sends GET u from a goroutine and returns where its answer arrives.
func getInBackground(u string) <-chan answer {
	answered := make(chan answer, 1)
	go func() {
		resp, err := http.Get(u)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		answered <- answer{code: resp.StatusCode, body: string(b), err: err}
	}()
	return answered
}

func TestServeConfigFileAnswersPrometheusClients(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `services:
- name: %s
  port: %d
  interval: 1h
- name: %s
  port: %d
  secret: %s
  secretNamespace: %s
  secretKey: %s
`, llmd.VLLMService, llmd.VLLMPort, llmd.EPPService, llmd.EPPPort, llmd.SecretName, llmd.SecretNamespace, llmd.SecretKey), 0o600); err != nil {
		t.Fatal(err)
	}
	base := startServe(t, "--config", cfg, "--max-age", "4m")

	waitServeReady(t, base)

	client, err := api.NewClient(api.Config{Address: base})
	if err != nil {
		t.Fatal(err)
	}
	promAPI := v1.NewAPI(client)
	val, warnings, _, err := promAPI.Query(t.Context(), "sum by (job) (up)", time.Now())
	if err != nil {
		t.Fatalf("client_golang query: %v", err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings %v", warnings)
	}
	got := map[string]float64{}
	for _, s := range val.(model.Vector) {
		got[string(s.Metric["job"])] = float64(s.Value)
	}
	want := map[string]float64{llmd.VLLMService: float64(len(llmd.VLLMPods)), llmd.EPPService: float64(len(llmd.EPPPods))}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sum by (job) (up): got %v, want %v (every Ready pod up, the EPP's through the Secret's token)", got, want)
	}
	targets, err := promAPI.Targets(t.Context())
	if err != nil {
		t.Fatalf("client_golang targets: %v", err)
	}
	if n := len(targets.Active); n != len(llmd.VLLMPods)+len(llmd.EPPPods) {
		t.Errorf("%d active targets, want one per Ready pod", n)
	}
}

func TestServeUsageErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	for _, tc := range []struct {
		args []string
		want string
	}{
		// The key pair is loaded before anything is announced or served, naming the flag.
		{[]string{"serve", "x", "--port", "80", "--tls-cert-file", missing, "--tls-key-file", garbage}, "--tls-cert-file: open " + missing},
		{[]string{"serve", "x", "--port", "80", "--tls-cert-file", garbage, "--tls-key-file", missing}, "--tls-key-file: open " + missing},
		{[]string{"serve", "x", "--port", "80", "--tls-cert-file", garbage, "--tls-key-file", garbage},
			"--tls-cert-file " + garbage + " with --tls-key-file " + garbage + ": tls: "},
		{[]string{"serve"}, "serve needs a SERVICE argument"},
		{[]string{"serve", "x", "--config", "f.yaml"}, "give SERVICE or --config, not both"},
		{[]string{"serve", "--config", "f.yaml", "--port", "80"}, "--port configures SERVICE"},
		{[]string{"serve", "--config", "f.yaml", "--sample-limit", "5"}, "--sample-limit configures SERVICE: with --config, set it in the file"},
		{[]string{"serve", "--config", "f.yaml", "--body-size-limit", "1MiB"}, "--body-size-limit configures SERVICE: with --config, set it in the file"},
		{[]string{"serve", "x", "--port", "80", "--sample-limit", "-1"}, "--sample-limit must not be negative, got -1"},
		{[]string{"serve", "x", "--port", "80", "--body-size-limit", "-5"}, `invalid argument "-5" for "--body-size-limit" flag: -5 is negative`},
		{[]string{"serve", "x", "--port", "80", "--series-limit", "-1"}, "--series-limit must be positive, got -1"},
		{[]string{"serve", "x", "--port", "80", "--series-limit", "0"}, "--series-limit must be positive, got 0"},
		{[]string{"serve", "x", "--port", "80", "--auth", "basic"}, "--auth must be none or kubernetes"},
		{[]string{"serve", "x", "--port", "80", "--auth-token-audiences", "podscrape"}, "--auth-token-audiences needs --auth kubernetes"},
		{[]string{"serve", "x", "--port", "80", "--auth", "kubernetes", "--auth-token-audiences", "podscrape,"}, `--auth-token-audiences "podscrape," names an empty audience`},
		// Given empty (a script's unset variable), it named no audience, and serve accepted
		// the API server's own tokens, which the flag is there to refuse.
		{[]string{"serve", "x", "--port", "80", "--listen", "127.0.0.1:0", "--auth", "kubernetes", "--auth-token-audiences", ""}, `--auth-token-audiences is empty`},
		{[]string{"serve", "x", "--port", "80", "--listen", "127.0.0.1:0", "--tls-cert-file", "", "--tls-key-file", ""}, `--tls-cert-file is empty`},
		{[]string{"serve", "x", "--port", "80", "--listen", "127.0.0.1:0", "--secret", "s", "--secret-namespace", ""}, `--secret-namespace is empty`},
		{[]string{"serve", "x", "--port", "80", "--interval", "1s", "--timeout", "2s"}, "--timeout 2s is longer than --interval 1s"},
		// Without --max-age only the interval scrapes: the history must hold two scrapes,
		// and the lookback delta reach the newest until the next comes in.
		{[]string{"serve", "x", "--port", "80", "--interval", "1m", "--retention", "30s"}, "--retention 30s is shorter than --interval 1m0s plus --timeout 5s"},
		{[]string{"serve", "x", "--port", "80", "--interval", "10s", "--timeout", "8s", "--retention", "15s"}, "--retention 15s is shorter than --interval 10s plus --timeout 8s"},
		{[]string{"serve", "x", "--port", "80", "--interval", "10s", "--max-age", "10s", "--retention", "12s"}, "--retention 12s is shorter than --interval 10s plus --timeout 5s"},
		{[]string{"serve", "x", "--port", "80", "--interval", "5m", "--retention", "1h"}, "--interval 5m0s plus --timeout 5s is longer than the 5m0s lookback delta"},
		{[]string{"serve", "x", "--port", "80", "--max-age", "11m"}, "--max-age 11m0s is longer than --retention 10m0s"},
		{[]string{"serve", "x", "--port", "80", "--interval", "1h", "--max-age", "5m"}, "--max-age 5m0s plus --timeout 5s is longer than the 5m0s lookback delta"},
		{[]string{"serve", "x", "--port", "80", "--interval", "10m", "--max-age", "10m", "--retention", "1h"}, "--interval 10m0s plus --timeout 5s is longer than the 5m0s lookback delta"},
		{[]string{"serve", "x", "--port", "80", "--interval", "1ns"}, "--interval 1ns is shorter than 1ms"},
		{[]string{"serve", "x", "--port", "80", "--timeout", "500us"}, "--timeout 500µs is shorter than 1ms"},
		{[]string{"serve", "x", "--port", "80", "--tls-cert-file", "c.pem"}, "--tls-cert-file and --tls-key-file go together"},
		{[]string{"serve", "x", "--port", "80", "--listen", "9090"}, `--listen "9090" is not HOST:PORT`},
		{[]string{"serve", "x", "--port", "80", "--listen", ":nope"}, `--listen ":nope": `},
		{[]string{"serve", "--config", "missing.yaml"}, "missing.yaml"},
		{[]string{"serve", "x", "--port", "80", "--query-max-samples", "0"}, "--query-max-samples must be positive, got 0"},
		{[]string{"serve", "x", "--port", "80", "--query-max-concurrency", "-1"}, "--query-max-concurrency must be positive, got -1"},
	} {
		r := podscrape(t, tc.args...)
		if r.code != exitUsage || strings.Contains(r.stderr, "Serving") {
			t.Errorf("%v: exit %d, want %d and nothing served; stderr %s", tc.args, r.code, exitUsage, r.stderr)
		}
		mustContain(t, fmt.Sprint(tc.args), r.stderr, tc.want)
	}
}

// servingCert writes a key and a certificate for 127.0.0.1 signed by a new CA named
// name into files of a temporary directory, and returns the CA and the files' paths.
func servingCert(t *testing.T, name string) (*localcluster.CA, string, string) {
	t.Helper()
	ca, err := localcluster.NewCA(name)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert([]string{"127.0.0.1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600); err != nil {
		t.Fatal(err)
	}
	return ca, certFile, keyFile
}

// TestServeTLS serves https with --tls-cert-file and --tls-key-file: a client that trusts
// the CA gets the API, the URL printed says https.
func TestServeTLS(t *testing.T) {
	ca, certFile, keyFile := servingCert(t, "podscrape-serve-test")
	base := startServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m", "--tls-cert-file", certFile, "--tls-key-file", keyFile,
		"--pod-label", "llm-d.ai/variant")
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("printed %s, want an https URL", base)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(base + "/-/healthy")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/-/healthy over https: %d", resp.StatusCode)
	}
	// --pod-label: the variant of each vLLM pod on its series, once ready.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(base + "/api/v1/label/llm_d_ai_variant/values")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var got struct{ Data []string }
		if json.Unmarshal(body, &got) == nil && len(got.Data) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("llm_d_ai_variant values: %s, want the pods' variants", body)
		}
		time.Sleep(20 * time.Millisecond) // polling until the first scrape
	}
	// Plain http to the TLS listener gets Go's 400, never the API.
	if resp, err := http.Get(strings.Replace(base, "https://", "http://", 1) + "/api/v1/query?query=1"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain http answered the API on the TLS listener")
		}
	}
}

// TestServeTLSReloadsRotatedCertificate: cert-manager renews serve's certificate into
// its Secret and the kubelet swaps the mounted files (atomically, through the ..data
// symlink, as here); serve serves the new certificate on the next connections, without a
// restart. Before, it kept serving the certificate it read at start until it expired.
// A half-written pair (a certificate without its key) leaves the last good one served.
func TestServeTLSReloadsRotatedCertificate(t *testing.T) {
	ca, err := localcluster.NewCA("podscrape-serve-rotation")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// writeVersion writes a certificate and its key into dir/..<name> and points
	// dir/..data at it, as the kubelet's atomic writer updates a Secret volume; it
	// returns the certificate's serial number.
	writeVersion := func(name string) string {
		t.Helper()
		cert, err := ca.ServerCert([]string{"127.0.0.1"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		vdir := filepath.Join(dir, ".."+name)
		if err := os.Mkdir(vdir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(vdir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(vdir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(".."+name, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return leaf.SerialNumber.String()
	}
	first := writeVersion("v1")
	for _, f := range []string{"tls.crt", "tls.key"} {
		if err := os.Symlink(filepath.Join("..data", f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	base := startServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m",
		"--tls-cert-file", filepath.Join(dir, "tls.crt"), "--tls-key-file", filepath.Join(dir, "tls.key"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	// served is the serial number of the certificate a new connection gets.
	served := func() string {
		t.Helper()
		c, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"), &tls.Config{RootCAs: pool})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	if got := served(); got != first {
		t.Fatalf("served certificate %s, want %s", got, first)
	}
	// TLS 1.2 at least (Go's default, as Prometheus' web config's).
	if c, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"), &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}); err == nil {
		c.Close()
		t.Error("a TLS 1.1 client was served, want TLS 1.2 at least")
	}

	second := writeVersion("v2")
	deadline := time.Now().Add(30 * time.Second)
	for served() != second {
		if time.Now().After(deadline) {
			t.Fatalf("still serving certificate %s 30s after the files changed to %s", served(), second)
		}
		time.Sleep(20 * time.Millisecond) // polling new connections
	}

	// A certificate written without its new key: the last good pair is served.
	bad := filepath.Join(dir, "..v3")
	if err := os.Mkdir(bad, 0o700); err != nil {
		t.Fatal(err)
	}
	other, err := ca.ServerCert([]string{"127.0.0.1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: other.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "tls.key"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..v3", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if got := served(); got != second {
		t.Errorf("with a certificate that does not match its key: served %s, want the last good one, %s", got, second)
	}
}

// TestServeSettingsAreCheckedBeforeTheAPIServer: a setting the library refuses (a file's
// scheme, a pod label key, a namespace Kubernetes would refuse, a timeout above the
// interval) is a usage error naming it, found before serve asks the API server anything:
// here the API server is unreachable, and the error is the setting's, not a refused
// connection.
func TestServeSettingsAreCheckedBeforeTheAPIServer(t *testing.T) {
	dir := t.TempDir()
	unreachable := []string{"--server", "https://127.0.0.1:1"}
	for _, tc := range []struct {
		file string // the --config file, or "" for SERVICE and flags
		args []string
		want string
	}{
		{"services:\n- name: vllm\n  port: 8000\n  scheme: ftp\n", nil, "ftp"},
		{"services:\n- name: vllm\n  namespace: Bad_NS\n  port: 8000\n", nil, "Bad_NS"},
		{"services:\n- name: vllm\n  port: 8000\n  timeout: 20s\n", nil, "line 4: services[0] (vllm): timeout 20s is greater than the server's interval 15s (--interval)"},
		{"services:\n- name: vllm\n  port: 8000\n  interval: 11m\n", nil, "/vllm): --retention 10m0s is shorter than its interval 11m0s plus its timeout 5s"},
		{"services:\n- name: vllm\n  port: 8000\n  interval: 5m\n", nil, "/vllm): its interval 5m0s plus its timeout 5s is longer than the 5m0s lookback delta of instant selectors (--lookback-delta)"},
		{"services:\n- name: vllm\n  port: 8000\n  podLabels: ['not a key!']\n", nil, "not a key!"},
		{"", []string{"serve", "vllm", "--port", "8000", "--pod-label", "not a key!"}, `--pod-label: PodLabels: "not a key!" is not a Kubernetes label key`},
	} {
		args := tc.args
		if tc.file != "" {
			path := filepath.Join(dir, unique("serve")+".yaml")
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			args = []string{"serve", "--config", path}
		}
		r := podscrape(t, append(args, unreachable...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v %q: exit %d, stderr %q; want exit %d naming %q", args, tc.file, r.code, r.stderr, exitUsage, tc.want)
		}
	}
}
