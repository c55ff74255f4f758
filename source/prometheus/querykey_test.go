package prometheus

import (
	"fmt"
	"net"
	"strings"
	"testing"
)

// A gateway that takes its key as a URL parameter (Azure API Management's
// subscription-key) is configured with the key in the URL's query string, which is sent
// with every query. A connection failure's error (Go's *url.Error, "Post <URL>: ...")
// quoted that URL whole, so the key went into the result's Error and into every retry's
// log line. They name the URL without its query string, as QueryError.URL does.
func TestURLQueryKeyNeverInErrorsOrLogs(t *testing.T) {
	const key = "k3y-in-the-query"
	ctx, logs := logged(t)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // down: connections refused, retried
	a, err := NewAPI(ClientConfig{URL: "http://" + addr + "/prom?subscription-key=" + key})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig()
	cfg.QueryTimeout = 100e6 // 100ms of retries
	r := queryOnce(t, ctx, NewPrometheusSource(ctx, a, cfg))
	if r.Error == nil {
		t.Fatal("a server down: got no error")
	}
	if msg := r.Error.Error(); strings.Contains(msg, key) || !strings.Contains(msg, addr+"/prom/api/v1/query") {
		t.Errorf("error: %s; want the URL tried, without the key in its query string", msg)
	}
	if !strings.Contains(logs(), "retrying") {
		t.Fatalf("no retry was logged; the log check proves nothing:\n%s", logs())
	}
	if strings.Contains(logs(), key) {
		t.Errorf("the log shows the URL's key:\n%s", logs())
	}
}

// Printing a ClientConfig, and NewAPI's errors about its URL, show the URL's query
// parameters' names but not their values, as for headers: a value may be a gateway's key.
func TestURLQueryValuesNeverShown(t *testing.T) {
	const key = "k3y-in-the-query"
	cfg := ClientConfig{URL: "https://user:pw@prometheus.example.net/prom?subscription-key=" + key + "&partial_response=true"}
	for _, shown := range []string{cfg.String(), fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg)} {
		if strings.Contains(shown, key) || strings.Contains(shown, ":pw@") {
			t.Errorf("printed ClientConfig shows a credential: %s", shown)
		}
		if want := "https://user:xxxxx@prometheus.example.net/prom?subscription-key=" + redacted + "&partial_response=" + redacted; !strings.Contains(shown, want) {
			t.Errorf("printed ClientConfig %s: want %q in it", shown, want)
		}
	}
	for _, url := range []string{
		"ftp://prometheus.example.net/?subscription-key=" + key,          // parses, wrong scheme
		"https://prometheus.example.net/?subscription-key=" + key + "\n", // does not parse
		"prometheus.example.net:9090/?subscription-key=" + key,           // no scheme
		"https://user:pw@prom example.net/?subscription-key=" + key,      // a space in the host
	} {
		_, err := NewAPI(ClientConfig{URL: url})
		if err == nil || strings.Contains(err.Error(), key) {
			t.Errorf("NewAPI(%q): got %v; want an error without the key", url, err)
		}
		if shown := (ClientConfig{URL: url}).String(); strings.Contains(shown, key) {
			t.Errorf("printed ClientConfig with URL %q shows the key: %s", url, shown)
		}
	}
}
