package serve

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/source/pod"
)

// DefaultInterval is how often a Service is scraped when neither its ServiceConfig nor
// the Config says: Prometheus' default scrape_interval.
const DefaultInterval = 15 * time.Second

// minInterval is the shortest scrape interval and timeout serve takes: the resolution of
// the history's timestamps and of Prometheus' durations (its scrape config cannot say
// less).
const minInterval = time.Millisecond

// whyMinInterval says why an interval below minInterval is refused.
const whyMinInterval = "the history's timestamps are milliseconds, and its default scrape timeout, the interval, is shorter than any pod answers: every query would answer 503 while the Service's pods are scraped without pause"

// Config configures a Server. Services is required; every other zero field takes its
// default.
type Config struct {
	// Services are the Services scraped and served; at least one, each Service once.
	Services []ServiceConfig
	// Interval is the scrape interval of a Service whose own Interval is zero.
	// Zero: DefaultInterval. One shorter than a millisecond (the history's resolution)
	// is refused.
	Interval time.Duration
	// Retention is how long each Service's samples are kept. Zero: 10 minutes. Without
	// a MaxAge shorter than a Service's interval, one shorter than that interval plus its
	// scrape timeout is refused: the history would never hold two scrapes, and every
	// rate() would answer 422.
	Retention time.Duration
	// SeriesLimit is the most series each Service's history holds, unless the
	// Service sets its own; past it, new series are refused and the queries that read
	// the Service carry a warning saying so. Zero: 100,000.
	SeriesLimit int
	// LookbackDelta is how far back an instant selector looks. Zero: Prometheus' 5m.
	// One shorter than a Service's interval (or MaxAge, when shorter) plus its scrape
	// timeout is refused: an instant query between two scrapes would find no sample and
	// answer empty.
	LookbackDelta time.Duration
	// MaxAge, when positive, makes a query scrape the Services it reads (see the package
	// documentation) first when their newest scrape started more than MaxAge ago. An instant query's time at most
	// MaxAge before its request arrived, or written to the second and in the second
	// before it, is then evaluated as now, after that scrape: clients send their own
	// clock's now (KEDA to the second), which falls before the scrape the request waited
	// for, and evaluated as asked the answer would miss it. Any other time, and every
	// range query, is evaluated as asked; a range query ending no later than its
	// request's arrival scrapes nothing (its answer could not include the scrape).
	// Zero: answers come from the interval's scrapes, at the time asked. One longer
	// than Retention is refused: a time before the history would be read as now.
	MaxAge time.Duration
	// AllowPartialWindows turns the 422 of a summing function's partial window into a
	// warning, and the 422 of an estimate's (rate, avg_over_time, ...) partial window
	// whose answer has no value at all (a rate over a single scrape) into that empty
	// answer, with the window's warning.
	AllowPartialWindows bool
	// MaxSamples is the most samples one query may load into memory at once (its
	// answer's included), as Prometheus' --query.max-samples: a query past it answers
	// 422. It bounds a query's memory: about 22 bytes a sample while evaluated. Zero:
	// Prometheus' 50,000,000 (a gigabyte).
	MaxSamples int
	// MaxConcurrentQueries is how many queries are evaluated at once, as Prometheus'
	// --query.max-concurrency: one more waits for a slot within what is left of its
	// timeout (from its request's arrival, its wait for a MaxAge scrape included),
	// else answers 503 timeout. With MaxSamples it bounds the memory of queries. Zero:
	// DefaultMaxConcurrentQueries.
	MaxConcurrentQueries int
	// HistoryDir is ignored: each history keeps its samples in memory and writes no
	// file, so serve needs no writable directory for them.
	//
	// Deprecated: kept so configs that set it still compile; it has no effect.
	HistoryDir string
	// Registerer receives the server's own metrics (served at /metrics when it is also
	// the Gatherer), until Close unregisters them. Nil: a private registry.
	Registerer prometheus.Registerer
	// Gatherer is what /metrics serves. Nil: the private registry, or, when Registerer
	// is set and is a Gatherer, Registerer.
	Gatherer prometheus.Gatherer
	// Version is reported by /api/v1/status/buildinfo. Zero: "unknown".
	Version string
}

// ServiceConfig is one Service to scrape.
type ServiceConfig struct {
	// Source configures the Service's PodScrapingSource. Its ServiceName and
	// ServiceNamespace are required; ScrapeInterval and the history fields are ignored
	// (the server scrapes and keeps the history itself).
	Source pod.PodScrapingSourceConfig
	// Interval is how often the Service is scraped. Zero: Config.Interval. A
	// Source.ScrapeTimeout above it is refused; a zero one is pod.DefaultScrapeTimeout
	// or the interval, whichever is shorter.
	Interval time.Duration
	// SeriesLimit is the most series the Service's history holds: a Service of many
	// pods needs more than its neighbours (2,000 vLLM pods expose some 500,000 series).
	// Zero: Config.SeriesLimit.
	SeriesLimit int
}

// key is the Service as namespace/name.
func (s ServiceConfig) key() string {
	return s.Source.ServiceNamespace + "/" + s.Source.ServiceName
}

// validate checks cfg and returns a copy with its defaults. Errors name the field.
func (cfg Config) validate() (Config, error) {
	if len(cfg.Services) == 0 {
		return cfg, errors.New("serve: config: Services: at least one Service is required")
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"Interval", cfg.Interval}, {"Retention", cfg.Retention}, {"LookbackDelta", cfg.LookbackDelta}, {"MaxAge", cfg.MaxAge}} {
		if f.d < 0 {
			return cfg, fmt.Errorf("serve: config: %s must not be negative, got %s", f.name, f.d)
		}
	}
	for _, f := range []struct {
		name string
		n    int
	}{{"SeriesLimit", cfg.SeriesLimit}, {"MaxSamples", cfg.MaxSamples}, {"MaxConcurrentQueries", cfg.MaxConcurrentQueries}} {
		if f.n < 0 {
			return cfg, fmt.Errorf("serve: config: %s must not be negative, got %d", f.name, f.n)
		}
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Interval < minInterval {
		return cfg, fmt.Errorf("serve: config: Interval %s is shorter than %s: %s", cfg.Interval, minInterval, whyMinInterval)
	}
	if cfg.Retention == 0 {
		cfg.Retention = history.DefaultRetention
	}
	if cfg.LookbackDelta == 0 {
		cfg.LookbackDelta = history.DefaultLookbackDelta
	}
	if cfg.MaxSamples == 0 {
		cfg.MaxSamples = history.DefaultMaxSamples
	}
	if cfg.MaxConcurrentQueries == 0 {
		cfg.MaxConcurrentQueries = DefaultMaxConcurrentQueries
	}
	if cfg.Version == "" {
		cfg.Version = "unknown"
	}
	// Under MaxAge a time up to MaxAge before a request arrived is read as the client's
	// now: past the retention, that would answer a time before the history (422) with
	// now's values.
	if cfg.MaxAge > cfg.Retention {
		return cfg, fmt.Errorf("serve: config: MaxAge %s is longer than Retention %s: an instant query's time up to MaxAge before its request is read as now, "+
			"so a time before the history would be answered with now's values", cfg.MaxAge, cfg.Retention)
	}
	services := make([]ServiceConfig, len(cfg.Services))
	seen := map[string]int{}
	for i, s := range cfg.Services {
		if s.Source.ServiceName == "" || s.Source.ServiceNamespace == "" {
			return cfg, fmt.Errorf("serve: config: Services[%d]: ServiceName and ServiceNamespace are required, got %q", i, s.key())
		}
		if j, ok := seen[s.key()]; ok {
			if p := cfg.Services[j].Source.MetricsPort; p != s.Source.MetricsPort {
				return cfg, fmt.Errorf("serve: config: Services[%d]: Service %s is already Services[%d], on port %d: a Server scrapes one port of each Service (its history, and its series' job label, are the Service's)", i, s.key(), j, p)
			}
			return cfg, fmt.Errorf("serve: config: Services[%d]: Service %s is already Services[%d]", i, s.key(), j)
		}
		seen[s.key()] = i
		// The server runs the scrapes and keeps the history: the source's fields of them
		// are ignored, as ServiceConfig says, not refused when negative.
		s.Source.ScrapeInterval, s.Source.HistoryRetention, s.Source.HistorySeriesLimit = 0, 0, 0
		if s.Interval < 0 {
			return cfg, fmt.Errorf("serve: config: Services[%d] (%s): Interval must not be negative, got %s", i, s.key(), s.Interval)
		}
		if s.Interval == 0 {
			s.Interval = cfg.Interval
		}
		if s.Interval < minInterval {
			return cfg, fmt.Errorf("serve: config: Services[%d] (%s): Interval %s is shorter than %s: %s", i, s.key(), s.Interval, minInterval, whyMinInterval)
		}
		if t := s.Source.ScrapeTimeout; t > 0 && t < minInterval {
			return cfg, fmt.Errorf("serve: config: Services[%d] (%s): ScrapeTimeout %s is shorter than %s: no pod answers within it, and every query reading the Service would answer 503", i, s.key(), t, minInterval)
		}
		if s.SeriesLimit < 0 {
			return cfg, fmt.Errorf("serve: config: Services[%d] (%s): SeriesLimit must not be negative, got %d", i, s.key(), s.SeriesLimit)
		}
		// As Prometheus' scrape config: scrapes of a Service never overlap, so one that
		// may outlast the interval would delay the next beyond it.
		switch timeout := s.Source.ScrapeTimeout; {
		case timeout > s.Interval:
			return cfg, fmt.Errorf("serve: config: Services[%d] (%s): ScrapeTimeout %s is greater than the scrape interval %s", i, s.key(), timeout, s.Interval)
		case timeout == 0:
			s.Source.ScrapeTimeout = min(pod.DefaultScrapeTimeout, s.Interval)
		}
		// Without MaxAge only the interval scrapes: a scrape's samples come in up to its
		// timeout after it starts, and the next scrape starts an interval later. The
		// history must hold the scrape before the newest, or no rate() nor range window
		// has two samples (every one of them 422); under a MaxAge shorter than the
		// interval queries scrape too, and that is the caller's to size (a longer one
		// scrapes only when the interval's scrape is late). And an instant selector must reach back to the
		// newest sample from just before the next one comes in, or it finds none and
		// answers empty, "no load": the next comes an interval later, or, for a query
		// at now under a shorter MaxAge, when the newest is MaxAge old.
		if (cfg.MaxAge == 0 || cfg.MaxAge >= s.Interval) && cfg.Retention < s.Interval+s.Source.ScrapeTimeout {
			return cfg, fmt.Errorf("serve: config: Services[%d] (%s): Retention %s is shorter than the scrape interval %s plus the scrape timeout %s: "+
				"the history would not hold two scrapes, and every rate() and range window would answer 422", i, s.key(), cfg.Retention, s.Interval, s.Source.ScrapeTimeout)
		}
		next, what := s.Interval, "the scrape interval"
		if cfg.MaxAge > 0 && cfg.MaxAge < next {
			next, what = cfg.MaxAge, "MaxAge"
		}
		if cfg.LookbackDelta < next+s.Source.ScrapeTimeout {
			return cfg, fmt.Errorf("serve: config: Services[%d] (%s): LookbackDelta %s is shorter than %s %s plus the scrape timeout %s: "+
				"an instant query between two scrapes would find no sample and answer empty", i, s.key(), cfg.LookbackDelta, what, next, s.Source.ScrapeTimeout)
		}
		services[i] = s
	}
	cfg.Services = services
	return cfg, nil
}
