package main

import (
	"strings"
	"testing"
)

// TestBinaryFlagMessagesArePrecise runs the built binary with flags that are wrong in a
// way worth a precise message: exit 2, the message names the flag and the valid values.
func TestBinaryFlagMessagesArePrecise(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"scrape", "vllm"}, "--port is required"},
		{[]string{"scrape", "vllm", "--port", "0"}, "--port 0 is outside 1-65535"},
		{[]string{"scrape", "vllm", "--port", "8000", "--watch", "0s"}, "--watch must be a positive interval (e.g. 2s), got 0s"},
		{[]string{"scrape", "vllm", "--port", "8000", "--watch", "-1s"}, "--watch must be a positive interval (e.g. 2s), got -1s"},
		{[]string{"scrape", "vllm", "--port", "8000", "--request-timeout", "1p"}, `--request-timeout "1p" is not a timeout`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			r := runBinary(t, tc.args...)
			if r.code != 2 || r.stdout != "" {
				t.Fatalf("got exit %d and stdout %q, want 2 and nothing; stderr:\n%s", r.code, r.stdout, r.stderr)
			}
			mustContain(t, "stderr", r.stderr, "Error: "+tc.want, "Run 'podscrape scrape --help' for usage.")
			if strings.Contains(r.stderr, "required") != strings.Contains(tc.want, "required") {
				t.Fatalf("stderr: got %q, want %q", r.stderr, tc.want)
			}
		})
	}
}

// TestBinaryNoSamplesSaysWhy: a Service whose samples are all missing says why — every
// pod failed, the pods exposed nothing, or the filter matched nothing — never "No samples
// matched." when no filter was given.
func TestBinaryNoSamplesSaysWhy(t *testing.T) {
	t.Parallel()
	empty := newTestService(t, "empty", exposing(textFormat, ""))
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"wrong port", []string{"scrape", llmd.VLLMService, "--port", "9", "--timeout", "2s"}, 1,
			"No samples: no pod could be scraped (see ERROR below)."},
		{"empty pods", []string{"-n", empty.namespace, "scrape", empty.name, "--port", port(empty.port)}, 0,
			"No samples: the pods scraped exposed none."},
		{"filter", []string{"scrape", llmd.VLLMService, "--port", port(llmd.VLLMPort), "--match", "^no_such_metric$"}, 0,
			"No samples matched."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runBinary(t, tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit: got %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			mustContain(t, "stdout", r.stdout, tc.want)
			if tc.name != "filter" && strings.Contains(r.stdout, "matched") {
				t.Fatalf("stdout: with no filter, got %q", r.stdout)
			}
		})
	}
}

// TestBinaryJSONCarriesNaNAndInf scrapes a pod exposing NaN, +Inf and -Inf with -o json:
// JSON numbers cannot hold them, so every value is a string, and these read back.
func TestBinaryJSONCarriesNaNAndInf(t *testing.T) {
	t.Parallel()
	const body = "# TYPE odd gauge\nodd{kind=\"nan\"} NaN\nodd{kind=\"+inf\"} +Inf\nodd{kind=\"-inf\"} -Inf\nodd{kind=\"tiny\"} 1.5e-12\n"
	svc := newTestService(t, "odd-values", exposing(textFormat, body))
	r := runBinary(t, "-n", svc.namespace, "scrape", svc.name, "--port", port(svc.port), "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit: got %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	docs := decodeJSON(t, r.stdout)
	if len(docs) != 1 {
		t.Fatalf("documents: got %d, want 1", len(docs))
	}
	got := map[string]string{}
	for _, s := range docs[0].Samples {
		got[s.Labels["kind"]] = s.Value
	}
	want := map[string]string{"nan": "NaN", "+inf": "+Inf", "-inf": "-Inf", "tiny": "1.5e-12"}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("values: got %v, want %v", got, want)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("values: got %v, want %v", got, want)
	}
	mustContain(t, "raw json", r.stdout, `"value": "NaN"`, `"value": "+Inf"`, `"value": "-Inf"`)
}
