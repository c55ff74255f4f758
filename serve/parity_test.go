package serve_test

import (
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/serve"
)

// The expectations of this file are Prometheus v0.316.0's answers (web/api/v1, web/web.go),
// checked against bin/prometheus/prometheus run on loopback.

// utf8Labels exposes a label whose name only the UTF-8 scheme allows, beside a legacy one.
const utf8Labels = `# TYPE reqs_total counter
reqs_total{"model.name"="dotted",model_name="plain"} 1
`

func TestLabelValuesUnescapesUNames(t *testing.T) {
	svc := newService(t, "vllm", 1, utf8Labels)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})
	for _, tc := range []struct {
		name, path string // path's name segment is escaped as a client sends it
		code       int
		data, err  string
	}{
		{"UTF-8 name, value-encoded as Grafana asks", "U__model_2e_name", http.StatusOK, `["dotted"]`, ""},
		{"legacy name, value-encoded", "U__model__name", http.StatusOK, `["plain"]`, ""},
		{"UTF-8 name as is", "model.name", http.StatusOK, `["dotted"]`, ""},
		{"legacy name as is", "model_name", http.StatusOK, `["plain"]`, ""},
		// Unescaped, then validated: U__ is the empty name.
		{"empty once unescaped", "U__", http.StatusBadRequest, "", `invalid label name: ""`},
		// A bad escape is left as it is, which is a valid UTF-8 name without values.
		{"bad escape", "U__model_zz_name", http.StatusOK, `[]`, ""},
		{"invalid UTF-8", "%ff", http.StatusBadRequest, "", `invalid label name: "\xff"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, r := call(t, http.MethodGet, base, "/api/v1/label/"+tc.path+"/values", nil)
			if code != tc.code || string(r.Data) != tc.data || r.Error != tc.err {
				t.Errorf("/api/v1/label/%s/values: got %d %s %q, want %d %s %q", tc.path, code, r.Data, r.Error, tc.code, tc.data, tc.err)
			}
		})
	}
}

func TestLimitTruncationWarns(t *testing.T) {
	svc := newService(t, "vllm", 2, twoFamilies)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})
	const truncated = "results truncated due to limit"
	for _, tc := range []struct {
		path   string
		params url.Values
	}{
		{"/api/v1/labels", nil},
		{"/api/v1/labels", url.Values{"match[]": {"reqs_total", "up"}}},
		{"/api/v1/label/__name__/values", nil},
		{"/api/v1/label/pod/values", url.Values{"match[]": {"reqs_total"}}},
		{"/api/v1/series", url.Values{"match[]": {`{__name__=~".+"}`}}},
	} {
		t.Run(tc.path+"?"+tc.params.Encode(), func(t *testing.T) {
			_, all := call(t, http.MethodGet, base, tc.path, tc.params)
			var whole []json.RawMessage
			if err := json.Unmarshal(all.Data, &whole); err != nil || len(whole) < 2 {
				t.Fatalf("without a limit: %s (%v), want at least 2 items", all.Data, err)
			}
			// At the limit: whole, no warning; one under: cut, with the warning.
			for _, limit := range []int{len(whole), len(whole) - 1} {
				params := url.Values{"limit": {strconv.Itoa(limit)}}
				for k, v := range tc.params {
					params[k] = v
				}
				code, r := call(t, http.MethodGet, base, tc.path, params)
				var got []json.RawMessage
				if err := json.Unmarshal(r.Data, &got); err != nil {
					t.Fatalf("limit=%d: %d %s: %v", limit, code, r.Data, err)
				}
				var want []string
				if limit < len(whole) {
					want = []string{truncated}
				}
				if code != http.StatusOK || len(got) != limit || len(r.Warnings) != len(want) || (len(want) == 1 && r.Warnings[0] != truncated) {
					t.Errorf("limit=%d of %d: got %d, %d items, warnings %q; want 200, %d items, warnings %q", limit, len(whole), code, len(got), r.Warnings, limit, want)
					continue
				}
				if string(got[0]) != string(whole[0]) || string(got[limit-1]) != string(whole[limit-1]) {
					t.Errorf("limit=%d: got %s, want the first %d of %s", limit, r.Data, limit, all.Data)
				}
			}
		})
	}
}

func TestTargetsStates(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})
	counts := `{"` + svc.Namespace + `/vllm":0}`
	for _, tc := range []struct {
		params        url.Values
		active        int
		droppedCounts string
	}{
		{nil, 1, counts},
		{url.Values{"state": {"any"}}, 1, counts},
		{url.Values{"state": {"active"}}, 1, "null"},
		{url.Values{"state": {"ACTIVE"}}, 1, "null"},
		{url.Values{"state": {"dropped"}}, 0, counts},
		{url.Values{"state": {"unknown"}}, 0, "null"},
		// scrapePool filters the lists, not the counts.
		{url.Values{"scrapePool": {"other/pool"}}, 0, counts},
		{url.Values{"state": {"active"}, "scrapePool": {svc.Namespace + "/vllm"}}, 1, "null"},
	} {
		t.Run(tc.params.Encode(), func(t *testing.T) {
			code, r := call(t, http.MethodGet, base, "/api/v1/targets", tc.params)
			var d struct {
				ActiveTargets       []json.RawMessage `json:"activeTargets"`
				DroppedTargets      json.RawMessage   `json:"droppedTargets"`
				DroppedTargetCounts json.RawMessage   `json:"droppedTargetCounts"`
			}
			if err := json.Unmarshal(r.Data, &d); err != nil {
				t.Fatalf("%d %s: %v", code, r.Data, err)
			}
			if code != http.StatusOK || d.ActiveTargets == nil || len(d.ActiveTargets) != tc.active || string(d.DroppedTargets) != "[]" || string(d.DroppedTargetCounts) != tc.droppedCounts {
				t.Errorf("got %d %s; want 200 with %d active targets (a list), \"droppedTargets\":[], \"droppedTargetCounts\":%s", code, r.Data, tc.active, tc.droppedCounts)
			}
		})
	}
}

func TestMethodsAsPrometheus(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})
	for _, tc := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{http.MethodGet, "/api/v1/query?query=up", http.StatusOK, ""},
		{http.MethodHead, "/api/v1/query?query=up", http.StatusMethodNotAllowed, "GET, OPTIONS, POST"},
		{http.MethodPut, "/api/v1/query", http.StatusMethodNotAllowed, "GET, OPTIONS, POST"},
		{http.MethodHead, "/api/v1/labels", http.StatusMethodNotAllowed, "GET, OPTIONS, POST"},
		{http.MethodHead, "/api/v1/label/job/values", http.StatusMethodNotAllowed, "GET, OPTIONS"},
		{http.MethodPost, "/api/v1/label/job/values", http.StatusMethodNotAllowed, "GET, OPTIONS"},
		{http.MethodHead, "/api/v1/targets", http.StatusMethodNotAllowed, "GET, OPTIONS"},
		{http.MethodHead, "/api/v1/status/buildinfo", http.StatusMethodNotAllowed, "GET, OPTIONS"},
		{http.MethodHead, "/federate", http.StatusMethodNotAllowed, "GET, OPTIONS"},
		{http.MethodHead, "/metrics", http.StatusMethodNotAllowed, "GET, OPTIONS"},
		{http.MethodHead, "/api/v1/nonexistent", http.StatusNotFound, ""},
		{http.MethodGet, "/api/v1/nonexistent", http.StatusNotFound, ""},
		// The API's CORS preflight answer, on any path under it.
		{http.MethodOptions, "/api/v1/query", http.StatusNoContent, ""},
		{http.MethodOptions, "/api/v1/label/job/values", http.StatusNoContent, ""},
		{http.MethodOptions, "/api/v1/nonexistent", http.StatusNoContent, ""},
		// Outside the API, the router's answer.
		{http.MethodOptions, "/federate", http.StatusOK, "GET, OPTIONS"},
		{http.MethodOptions, "/-/healthy", http.StatusOK, "GET, HEAD, OPTIONS"},
		// The probes take HEAD.
		{http.MethodHead, "/-/healthy", http.StatusOK, ""},
		{http.MethodHead, "/-/ready", http.StatusOK, ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, base+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code || resp.Header.Get("Allow") != tc.allow {
				t.Errorf("got %d Allow %q, want %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"), tc.code, tc.allow)
			}
		})
	}
}

// TestCompressesAsPrometheus asks with each Accept-Encoding what the real Prometheus
// server compresses: the API's answers (errors included) and /federate, in gzip or
// deflate, whichever the header lists first, q-values unread ("gzip;q=0.5" is not
// "gzip"), with Vary: Accept-Encoding. Grafana's and client_golang's HTTP clients ask
// for gzip: a range query's answer is several times smaller compressed. Unlike
// Prometheus, an answer of at most 1 KiB goes as it is (compressed: compression
// shortens nothing there, and each compressor held is 650 KB of serve's memory).
func TestCompressesAsPrometheus(t *testing.T) {
	svc := newService(t, "vllm", 2, twoFamilies)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})
	// No transparent decompression: the test reads what is on the wire.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	// A string literal's answer is the string: 2 KB, past the bound.
	big := "/api/v1/query?" + url.Values{"query": {strconv.Quote(strings.Repeat("x", 2000))}}.Encode()
	bigForm := url.Values{"query": {strconv.Quote(strings.Repeat("y", 2000))}}.Encode()
	for _, tc := range []struct {
		method, path, body, acceptEncoding string
		code                               int
		encoding                           string // "": none
		contains                           string // in the decoded body
	}{
		{http.MethodGet, big, "", "gzip", 200, "gzip", `"resultType":"string"`},
		{http.MethodGet, big, "", "gzip, deflate, br", 200, "gzip", `"resultType":"string"`},
		{http.MethodGet, big, "", "br, deflate", 200, "deflate", `"resultType":"string"`},
		{http.MethodGet, big, "", "br, gzip;q=0.5", 200, "", `"resultType":"string"`},
		{http.MethodGet, big, "", "", 200, "", `"resultType":"string"`},
		{http.MethodPost, "/api/v1/query", bigForm, "gzip", 200, "gzip", `"yyyy`},
		// Answers of at most 1 KiB, as they are.
		{http.MethodGet, "/api/v1/query?query=up", "", "gzip", 200, "", `"resultType":"vector"`},
		{http.MethodGet, "/api/v1/query?query=up", "", "deflate", 200, "", `"resultType":"vector"`},
		{http.MethodPost, "/api/v1/query_range", "query=up&start=0&end=10&step=1", "gzip", 200, "", `"resultType":"matrix"`},
		{http.MethodGet, "/api/v1/query?query=sum(", "", "gzip", 400, "", `"errorType":"bad_data"`},
		{http.MethodGet, "/api/v1/series?match[]=up", "", "gzip", 200, "", `"__name__":"up"`},
		{http.MethodGet, "/api/v1/label/__name__/values", "", "gzip", 200, "", `"reqs_total"`},
		{http.MethodGet, "/api/v1/metadata", "", "gzip", 200, "", `"reqs_total"`},
		{http.MethodGet, "/api/v1/status/buildinfo", "", "gzip", 200, "", `"version"`},
		{http.MethodGet, "/federate?match[]=up", "", "gzip", 200, "", "# TYPE up untyped"},
		{http.MethodGet, "/federate?match[]=sum(", "", "gzip", 400, "", "parse error"},
		// Neither the probes nor an unknown path are compressed by Prometheus.
		{http.MethodGet, "/-/ready", "", "gzip", 200, "", "Ready"},
		{http.MethodGet, "/api/v1/nonexistent", "", "gzip", 404, "", "404 page not found"},
	} {
		t.Run(tc.method+" "+tc.path[:min(len(tc.path), 40)]+" "+tc.acceptEncoding, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, err := http.NewRequestWithContext(t.Context(), tc.method, base+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tc.acceptEncoding != "" {
				req.Header.Set("Accept-Encoding", tc.acceptEncoding)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var r io.Reader = resp.Body
			switch resp.Header.Get("Content-Encoding") {
			case "gzip":
				if r, err = gzip.NewReader(resp.Body); err != nil {
					t.Fatal(err)
				}
			case "deflate":
				if r, err = zlib.NewReader(resp.Body); err != nil {
					t.Fatal(err)
				}
			}
			decoded, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("body: %v", err)
			}
			if resp.StatusCode != tc.code || resp.Header.Get("Content-Encoding") != tc.encoding || !strings.Contains(string(decoded), tc.contains) {
				t.Errorf("got %d Content-Encoding %q, body %q; want %d Content-Encoding %q, a body with %q", resp.StatusCode, resp.Header.Get("Content-Encoding"), decoded, tc.code, tc.encoding, tc.contains)
			}
			if vary := resp.Header.Values("Vary"); tc.encoding != "" && !slices.Contains(vary, "Accept-Encoding") {
				t.Errorf("Vary %q, want Accept-Encoding", vary)
			}
		})
	}
}

// TestFederateSelectorsAsPrometheus: a match[] without matchers ({}) selects nothing on
// /federate (the TSDB's postings of no matchers are empty; Prometheus answers 200 and no
// series), while one whose matchers all match the empty value selects every series
// (/api/v1/series refuses both: TestSameJSONAsPrometheus).
func TestFederateSelectorsAsPrometheus(t *testing.T) {
	svc := newService(t, "vllm", 1, twoFamilies)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})
	for _, tc := range []struct {
		match    []string
		families []string // the # TYPE lines' names, in order
	}{
		{nil, nil},
		{[]string{"{}"}, nil},
		{[]string{"{}", "up"}, []string{"up"}},
		{[]string{`{a=""}`}, []string{"reqs_total", "scrape_duration_seconds", "scrape_samples_scraped", "up", "vllm:num_requests_waiting"}},
		{[]string{`{__name__=~".*"}`}, []string{"reqs_total", "scrape_duration_seconds", "scrape_samples_scraped", "up", "vllm:num_requests_waiting"}},
	} {
		t.Run(strings.Join(tc.match, "&"), func(t *testing.T) {
			resp, err := http.Get(base + "/federate?" + url.Values{"match[]": tc.match}.Encode())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var families []string
			for _, line := range strings.Split(string(body), "\n") {
				if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
					families = append(families, strings.Fields(name)[0])
				}
			}
			if resp.StatusCode != http.StatusOK || !slices.Equal(families, tc.families) {
				t.Errorf("got %d, families %q; want 200, %q:\n%s", resp.StatusCode, families, tc.families, body)
			}
		})
	}
}
