package e2e

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/podscrape/podscrape/internal/exposition"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// badBodyCap is the MaxBodyBytes of the bad-exposition Service: small enough that the
// over-the-cap cases stay quick, large enough for the 1 MiB label value.
const badBodyCap = 4 << 20

// serveAs answers every request with body under contentType.
func serveAs(contentType string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	})
}

// cutBody promises more bytes than it sends, then ends the response: the connection
// closes mid-body, after valid sample lines.
func cutBody(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", textFormat)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)+1000))
		_, _ = w.Write(body)
	})
}

// gzipBomb serves, gzip-encoded, 1 GiB of valid comment lines in 1 MiB gzip members
// (a gzip stream may hold many): a few KiB each on the wire. It counts the compressed
// bytes it wrote.
type gzipBomb struct {
	member  []byte
	members int
	written atomic.Int64
}

func newGzipBomb(t *testing.T) *gzipBomb {
	t.Helper()
	var zipped bytes.Buffer
	zw, err := gzip.NewWriterLevel(&zipped, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = zw.Write(bytes.Repeat([]byte("# boom\n"), (1<<20)/7))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return &gzipBomb{member: zipped.Bytes(), members: 1024}
}

// compressed is the size of the whole bomb on the wire; decompressed, it is about 1 GiB.
func (b *gzipBomb) compressed() int { return len(b.member) * b.members }

func (b *gzipBomb) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", textFormat)
	w.Header().Set("Content-Encoding", "gzip")
	for range b.members {
		if r.Context().Err() != nil {
			return
		}
		n, err := w.Write(b.member)
		b.written.Add(int64(n))
		if err != nil {
			return
		}
	}
}

// overCap is valid exposition just over badBodyCap.
func overCap() []byte {
	var b bytes.Buffer
	for i := 0; b.Len() <= badBodyCap; i++ {
		fmt.Fprintf(&b, "filler{i=\"%d\",pad=\"%s\"} 1\n", i, strings.Repeat("p", 200))
	}
	return b.Bytes()
}

// garbage is random bytes, the same each run.
func garbage() []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func TestBadExpositionFailsThatPodOnlyWithItsReason(t *testing.T) {
	t.Parallel()
	vllm := fixture(t, "vllm-sim-metrics.txt")
	hugeValue := strings.Repeat("v", 1<<20)
	bomb := newGzipBomb(t)
	if bomb.compressed() >= badBodyCap {
		t.Fatalf("gzip bomb: %d bytes on the wire, want fewer than the %d-byte cap", bomb.compressed(), badBodyCap)
	}

	bad := []struct {
		name    string
		handler http.Handler
		reason  string
		msg     string // in the pod's error message
		is      error  // errors.Is target, when there is one
	}{
		{"garbage", serve(garbage()), pod.ReasonParse, "line 1: ", nil},
		{"truncated-line", serve([]byte("m 1\nn{a=\"x")), pod.ReasonParse, `line 2: unterminated label value: "n{a=\"x"`, nil},
		{"cut-mid-body", cutBody([]byte("m 1\nn 2\n")), pod.ReasonConnect, "unexpected EOF", nil},
		{"invalid-utf8", serve([]byte("m{a=\"ok\"} 1\nm{a=\"\xff\xfe\"} 1\n")), pod.ReasonParse, "line 2: invalid UTF-8 in label value", nil},
		{"over-cap", serve(overCap()), pod.ReasonBodyTooBig, "over the 4194304-byte limit (MaxBodyBytes)", pod.ErrBodyTooLarge},
		{"gzip-bomb", bomb, pod.ReasonBodyTooBig, "over the 4194304-byte limit (MaxBodyBytes)", pod.ErrBodyTooLarge},
		{"html", serveAs("text/html; charset=utf-8", []byte("<html><body>Sign in</body></html>")), pod.ReasonFormat, `"text/html; charset=utf-8"`, exposition.ErrUnsupportedContentType},
		{"json", serveAs("application/json", []byte(`{"m":1}`)), pod.ReasonFormat, `"application/json"`, exposition.ErrUnsupportedContentType},
		{"unknown-encoding", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", textFormat)
			w.Header().Set("Content-Encoding", "br")
			_, _ = w.Write([]byte("m 1\n"))
		}), pod.ReasonFormat, `unsupported Content-Encoding "br"`, nil},
		{"protobuf", serveAs("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited", []byte{0x0a, 0x01}), pod.ReasonFormat, "application/vnd.google.protobuf", exposition.ErrUnsupportedContentType},
	}
	defs := []podDef{
		{name: "healthy", handler: serve(vllm)},
		{name: "special-values", handler: serve([]byte("nan NaN\npos{x=\"y\"} +Inf\nneg -Inf\nbig 1.7976931348623157e308\n"))},
		{name: "huge-label", handler: serve([]byte("huge{v=\"" + hugeValue + "\"} 3\n"))},
	}
	for _, b := range bad {
		defs = append(defs, podDef{name: b.name, handler: b.handler})
	}
	f := startService(t, defs...)
	cfg := f.config()
	cfg.MaxBodyBytes = badBodyCap
	results, err := refresh(t, newSource(t, cfg))
	if err != nil {
		t.Fatalf("Refresh: got %v, want nil while some pods are healthy", err)
	}
	r := results[pod.AllMetricsQuery]

	// The good pods, intact.
	up := upByPod(r)
	for _, name := range []string{"healthy", "special-values", "huge-label"} {
		if up[name] != 1 {
			t.Errorf("up of %s: got %v, want 1", name, up[name])
		}
	}
	if got, want := len(byPod(r)["healthy"]), sampleLines(vllm)+3; got != want {
		t.Errorf("healthy pod's values: got %d, want %d (every sample of the fixture, and 3 synthetic)", got, want)
	}
	if got := samples(r, "vllm:num_requests_waiting")["healthy"]; len(got) != 1 || got[0].Labels["model_name"] != "fake-model" {
		t.Errorf("healthy pod's vllm:num_requests_waiting: got %v", got)
	}
	checkSpecialValues(t, r)
	if got := samples(r, "huge")["huge-label"]; len(got) != 1 || got[0].Labels["v"] != hugeValue || got[0].Value != 3 {
		t.Errorf("huge-label: got %d samples, want one with the whole 1 MiB label value", len(got))
	}

	// Each bad pod: its own error, with pod, URL and reason, and nothing but its up 0.
	errs := scrapeErrors(t, r.Error)
	if len(errs) != len(bad) {
		t.Errorf("pod errors: got %d, want %d", len(errs), len(bad))
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			e := errs[b.name]
			if e == nil {
				t.Fatalf("no error for pod %s", b.name)
			}
			t.Logf("error: %v", e)
			if want := f.ns + "/" + b.name; e.Pod != want {
				t.Errorf("Pod: got %q, want %q", e.Pod, want)
			}
			if want := f.servers[b.name].URL() + "/metrics"; e.URL != want || !strings.Contains(e.Error(), want) {
				t.Errorf("URL: got %q in %q, want %q", e.URL, e, want)
			}
			if got := pod.ScrapeReason(e); got != b.reason {
				t.Errorf("reason: got %q, want %q", got, b.reason)
			}
			if !strings.Contains(e.Error(), b.msg) {
				t.Errorf("error %q: want it to contain %q", e, b.msg)
			}
			if b.is != nil && !errors.Is(e, b.is) {
				t.Errorf("error %q: want errors.Is %v", e, b.is)
			}
			if up[b.name] != 0 {
				t.Errorf("up: got %v, want 0", up[b.name])
			}
			for _, v := range byPod(r)[b.name] {
				if n := v.Labels["__name__"]; n != "up" && n != "scrape_duration_seconds" && n != "scrape_samples_scraped" {
					t.Errorf("sample %v of a failed pod: want only up and scrape_*", v.Labels)
				}
			}
		})
	}
	if got, want := len(r.Values), sampleLines(vllm)+3+(4+3)+(1+3)+3*len(bad); got != want {
		t.Errorf("values in all: got %d, want %d", got, want)
	}
}

// checkSpecialValues checks that NaN, ±Inf and the largest float are values, exactly.
func checkSpecialValues(t *testing.T, r *source.MetricResult) {
	t.Helper()
	checks := map[string]func(float64) bool{
		"nan": math.IsNaN,
		"pos": func(v float64) bool { return math.IsInf(v, 1) },
		"neg": func(v float64) bool { return math.IsInf(v, -1) },
		"big": func(v float64) bool { return v == math.MaxFloat64 },
	}
	for name, ok := range checks {
		got := samples(r, name)["special-values"]
		if len(got) != 1 || !ok(got[0].Value) {
			t.Errorf("%s: got %v, want one sample with the exposed value", name, got)
		}
	}
}

// byPod returns every value of r by pod.
func byPod(r *source.MetricResult) map[string][]source.MetricValue {
	out := map[string][]source.MetricValue{}
	for _, v := range r.Values {
		out[v.Labels["pod"]] = append(out[v.Labels["pod"]], v)
	}
	return out
}
