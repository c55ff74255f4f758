package serve_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podscrape/podscrape/serve"
	"github.com/podscrape/podscrape/source/pod"
)

// A scrape timeout longer than the Service's interval is refused, as Prometheus refuses
// scrape_timeout above scrape_interval, naming the Service and both values: in a config
// file (at the timeout's line), and in a Config whose interval the Service takes from Config.Interval.
func TestScrapeTimeoutAboveIntervalIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(path, []byte("services:\n- name: vllm\n  port: 8000\n  interval: 1s\n  timeout: 5s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := serve.LoadFile(path, "ns")
	if err == nil || !strings.Contains(err.Error(), path+": line 5: services[0] (vllm): timeout 5s is greater than interval 1s") {
		t.Errorf("config file: got %v, want an error naming services[0] (vllm), timeout 5s and interval 1s", err)
	}

	svc := newService(t, "vllm", 1, waiting)
	sc := serviceConfig(svc)
	sc.Source.ScrapeTimeout = 3 * time.Second
	_, err = serve.New(t.Context(), env.Client, serve.Config{Services: []serve.ServiceConfig{sc}, Interval: 2 * time.Second})
	want := "Services[0] (" + svc.Namespace + "/vllm): ScrapeTimeout 3s is greater than the scrape interval 2s"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Config: got %v, want an error containing %q", err, want)
	}
}

// A Service scraped more often than every 5 s is scraped with its interval as the
// timeout, as Prometheus defaults scrape_timeout to min(global timeout, interval): the
// pods are told so, and /api/v1/targets shows it.
func TestDefaultScrapeTimeoutIsCappedAtTheInterval(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	var told atomic.Value
	svc.Pods()[0].SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		told.Store(r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"))
		_, _ = w.Write([]byte(waiting))
	}))
	sc := serviceConfig(svc)
	sc.Interval = 2 * time.Second
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{sc}})
	if got, _ := told.Load().(string); got != "2" {
		t.Errorf("X-Prometheus-Scrape-Timeout-Seconds: got %q, want \"2\", the interval", got)
	}
	_, r := call(t, http.MethodGet, base, "/api/v1/targets", nil)
	if !strings.Contains(string(r.Data), `"scrapeTimeout":"2s"`) {
		t.Errorf("targets %s: want scrapeTimeout 2s", r.Data)
	}
}

// Without MaxAge only the interval scrapes, so a Retention or a LookbackDelta shorter
// than a Service's interval plus its scrape timeout is refused, naming the Service and
// the values: with the Retention, the history never holds two scrapes and every rate()
// or range window answers 422; with the LookbackDelta, an instant query between two
// scrapes finds no sample and answers empty, which an autoscaler reads as no load.
// Under MaxAge queries scrape too, and the combination is accepted.
func TestRetentionOrLookbackShorterThanAScrapeIsRefused(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	own := serviceConfig(svc)
	own.Interval = time.Minute
	key := "Services[0] (" + svc.Namespace + "/vllm): "
	for _, tc := range []struct {
		name string
		cfg  serve.Config
		want string // "" accepted
	}{
		{"Retention below the global interval", serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 15 * time.Second, Retention: 10 * time.Second},
			key + "Retention 10s is shorter than the scrape interval 15s plus the scrape timeout 5s"},
		{"Retention below the interval plus the timeout", serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 15 * time.Second, Retention: 19 * time.Second},
			key + "Retention 19s is shorter than the scrape interval 15s plus the scrape timeout 5s"},
		{"Retention below the Service's own interval", serve.Config{Services: []serve.ServiceConfig{own}, Retention: 30 * time.Second},
			key + "Retention 30s is shorter than the scrape interval 1m0s plus the scrape timeout 5s"},
		{"the default Retention below a Service's own interval", serve.Config{Services: []serve.ServiceConfig{{Source: own.Source, Interval: 20 * time.Minute}}},
			key + "Retention 10m0s is shorter than the scrape interval 20m0s plus the scrape timeout 5s"},
		{"LookbackDelta below the interval", serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 15 * time.Second, LookbackDelta: 10 * time.Second},
			key + "LookbackDelta 10s is shorter than the scrape interval 15s plus the scrape timeout 5s"},
		{"the default LookbackDelta below a Service's own interval", serve.Config{Services: []serve.ServiceConfig{{Source: own.Source, Interval: 5 * time.Minute}}},
			key + "LookbackDelta 5m0s is shorter than the scrape interval 5m0s plus the scrape timeout 5s"},
		{"Retention and LookbackDelta of exactly a scrape", serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 15 * time.Second, Retention: 20 * time.Second, LookbackDelta: 20 * time.Second}, ""},
		{"under MaxAge", serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: time.Hour, MaxAge: time.Second}, ""},
		// A MaxAge no shorter than the interval leaves the interval's scrapes alone.
		{"Retention below the interval plus the timeout, under a MaxAge of the interval", serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 15 * time.Second, Retention: 15 * time.Second, MaxAge: 15 * time.Second},
			key + "Retention 15s is shorter than the scrape interval 15s plus the scrape timeout 5s"},
		// A query scrapes only when the newest scrape is older than MaxAge: up to then it
		// answers at now from that scrape, which the lookback delta must still reach.
		{"LookbackDelta below MaxAge", serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: time.Hour, Retention: 2 * time.Hour, MaxAge: 5 * time.Minute},
			key + "LookbackDelta 5m0s is shorter than MaxAge 5m0s plus the scrape timeout 5s"},
		{"LookbackDelta below the interval, under a longer MaxAge", serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 15 * time.Second, MaxAge: time.Minute, LookbackDelta: 10 * time.Second},
			key + "LookbackDelta 10s is shorter than the scrape interval 15s plus the scrape timeout 5s"},
	} {
		srv, err := serve.New(t.Context(), env.Client, tc.cfg)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want it accepted", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
		if srv != nil {
			_ = srv.Close()
		}
	}
}

// A MaxAge longer than the Retention is refused, naming both: under MaxAge an instant
// query's time up to MaxAge before its request arrived is read as the client's now and
// evaluated at now, so a time before the history, which answers 422 (before the
// history), was answered with now's values instead.
func TestMaxAgeLongerThanTheRetentionIsRefused(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	for _, tc := range []struct {
		cfg  serve.Config
		want string // "" accepted
	}{
		{serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Hour}, "MaxAge 1h0m0s is longer than Retention 10m0s"},
		{serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: 2 * time.Minute, Retention: time.Minute}, "MaxAge 2m0s is longer than Retention 1m0s"},
		{serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: 10 * time.Minute}, ""},
	} {
		srv, err := serve.New(t.Context(), env.Client, tc.cfg)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("MaxAge %s, Retention %s: %v, want it accepted", tc.cfg.MaxAge, tc.cfg.Retention, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("MaxAge %s, Retention %s: got %v, want an error containing %q", tc.cfg.MaxAge, tc.cfg.Retention, err, tc.want)
		}
		if srv != nil {
			_ = srv.Close()
		}
	}
}

// An interval or a scrape timeout shorter than a millisecond (the history's resolution,
// and the least a Prometheus duration says) is refused naming it: its default timeout,
// the interval, is shorter than any pod answers, so every query answered 503 for as
// long as serve ran, while the loop scraped the pods without pause.
func TestSubMillisecondIntervalOrTimeoutIsRefused(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	key := "Services[0] (" + svc.Namespace + "/vllm): "
	own := serviceConfig(svc)
	own.Interval = 500 * time.Microsecond
	timed := serviceConfig(svc)
	timed.Source.ScrapeTimeout = time.Nanosecond
	for _, tc := range []struct {
		cfg  serve.Config
		want string
	}{
		{serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: time.Nanosecond, MaxAge: time.Nanosecond}, "Interval 1ns is shorter than 1ms"},
		{serve.Config{Services: []serve.ServiceConfig{own}, MaxAge: time.Nanosecond}, key + "Interval 500µs is shorter than 1ms"},
		{serve.Config{Services: []serve.ServiceConfig{timed}, MaxAge: time.Nanosecond}, key + "ScrapeTimeout 1ns is shorter than 1ms"},
	} {
		srv, err := serve.New(t.Context(), env.Client, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error containing %q", err, tc.want)
		}
		if srv != nil {
			_ = srv.Close()
		}
	}
}

// A Service listed twice on two ports (vLLM's and a sidecar's) is refused saying why,
// not only that it is listed twice: a Server keeps one history and one job per Service.
func TestServiceOnTwoPortsIsRefusedSayingWhy(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	other := serviceConfig(svc)
	other.Source.MetricsPort = svc.Port + 1
	_, err := serve.New(t.Context(), env.Client, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc), other}})
	want := fmt.Sprintf("Services[1]: Service %s/vllm is already Services[0], on port %d: a Server scrapes one port of each Service", svc.Namespace, svc.Port)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an error containing %q", err, want)
	}
}

// A Service's Source fields that the server ignores (ScrapeInterval and the history's:
// the server scrapes and keeps the history itself, as ServiceConfig says) are ignored,
// not refused: a negative HistoryRetention or HistorySeriesLimit failed New, naming a
// field its documentation says has no effect.
func TestServiceSourceFieldsTheServerIgnoresAreNotRefused(t *testing.T) {
	src := pod.PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: "ns", MetricsPort: 8000,
		ScrapeInterval: -time.Second, HistoryRetention: -time.Second, HistorySeriesLimit: -1}
	s, err := serve.New(t.Context(), env.Client, serve.Config{Services: []serve.ServiceConfig{{Source: src}}})
	if err != nil {
		t.Fatalf("New: %v, want the ignored fields ignored", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
