package serve

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/podscrape/podscrape/source/pod"
)

// target is one pod as /api/v1/targets describes an active target.
type target struct {
	DiscoveredLabels   map[string]string `json:"discoveredLabels"`
	Labels             labels.Labels     `json:"labels"`
	ScrapePool         string            `json:"scrapePool"`
	ScrapeURL          string            `json:"scrapeUrl"`
	GlobalURL          string            `json:"globalUrl"`
	LastError          string            `json:"lastError"`
	LastScrape         time.Time         `json:"lastScrape"`
	LastScrapeDuration float64           `json:"lastScrapeDuration"`
	Health             string            `json:"health"`
	ScrapeInterval     string            `json:"scrapeInterval"`
	ScrapeTimeout      string            `json:"scrapeTimeout"`
}

// targetDiscovery is the data of /api/v1/targets.
type targetDiscovery struct {
	ActiveTargets       []*target      `json:"activeTargets"`
	DroppedTargets      []*target      `json:"droppedTargets"`
	DroppedTargetCounts map[string]int `json:"droppedTargetCounts"`
}

// handleTargets serves /api/v1/targets: one active target per pod of each Service's
// latest scrape, in scrape pool "namespace/service", or, while its discovery or Secret
// fails, per pod of the latest scrape that listed any, down with the Service's error; no
// dropped targets (pods that are not Ready are not discovered). The state and scrapePool parameters filter as
// Prometheus' do: a list the state leaves out is [], and droppedTargetCounts is null
// unless the state shows dropped targets (only then does Prometheus count them).
// Its warnings name each Service of the pool asked whose discovery has been failing
// past DiscoveryWarnAfter (its targets are the pods the informers last gave).
func (s *Server) handleTargets(w http.ResponseWriter, r *http.Request) {
	state := strings.ToLower(r.FormValue("state"))
	showActive := state == "" || state == "any" || state == "active"
	showDropped := state == "" || state == "any" || state == "dropped"
	pool := r.FormValue("scrapePool")
	out := targetDiscovery{ActiveTargets: []*target{}, DroppedTargets: []*target{}}
	var warnings []string // of the Services whose discovery is failing (discoveryState)
	if showDropped {
		// Every pool's count, whatever scrapePool: Prometheus filters only the lists.
		out.DroppedTargetCounts = make(map[string]int, len(s.services))
	}
	// Pool by pool, the pools sorted by name, as Prometheus lists them.
	services := slices.SortedFunc(slices.Values(s.services), func(a, b *service) int { return strings.Compare(a.key, b.key) })
	for _, svc := range services {
		if showDropped {
			out.DroppedTargetCounts[svc.key] = 0
		}
		if !showActive || (pool != "" && pool != svc.key) {
			continue
		}
		if w, d := svc.discoveryState(); w != "" || d != "" {
			warnings = append(warnings, w+d)
		}
		st := svc.state.Load()
		if st == nil {
			continue
		}
		pods := st.pods
		// The last pods stand for those discovery or the Secret no longer gives; pods
		// that are not Ready are no targets, also when none is (pod.ErrNoReadyPods).
		if len(pods) == 0 && !errors.Is(st.err, pod.ErrNoReadyPods) {
			pods = st.lastPods
		}
		for _, p := range pods {
			out.ActiveTargets = append(out.ActiveTargets, svc.target(p))
		}
	}
	respond(w, out, warnings, nil)
}

// target describes pod p of svc.
func (svc *service) target(p podState) *target {
	cfg := svc.cfg.Source
	scheme, path := cfg.MetricsScheme, cfg.MetricsPath
	if scheme == "" {
		scheme = pod.DefaultMetricsScheme
	}
	if path == "" {
		path = pod.DefaultMetricsPath
	}
	// A MetricsPath may carry a query (the library checked it parses): the URL keeps it,
	// and the discovered labels have it as Prometheus writes a scrape config's params.
	u, _ := url.Parse(path)
	if u == nil {
		u = &url.URL{Path: path}
	}
	scrapeURL := ""
	var se *pod.ScrapeError
	if errors.As(p.err, &se) {
		scrapeURL = se.URL
	} else if inst := p.labels.Get("instance"); inst != "" {
		scrapeURL = (&url.URL{Scheme: scheme, Host: inst, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}).String()
	}
	timeout := cfg.ScrapeTimeout
	if timeout == 0 {
		timeout = pod.DefaultScrapeTimeout
	}
	t := &target{
		DiscoveredLabels: map[string]string{
			"__scheme__":       scheme,
			"__metrics_path__": u.Path,
			"job":              svc.cfg.Source.ServiceName,
		},
		Labels:             p.labels,
		ScrapePool:         svc.key,
		ScrapeURL:          scrapeURL,
		GlobalURL:          scrapeURL,
		LastScrape:         p.scraped,
		LastScrapeDuration: p.duration.Seconds(),
		Health:             "up",
		ScrapeInterval:     promDuration(svc.cfg.Interval),
		ScrapeTimeout:      promDuration(timeout),
	}
	if inst := p.labels.Get("instance"); inst != "" {
		t.DiscoveredLabels["__address__"] = inst
	}
	for k, v := range u.Query() {
		if len(v) > 0 {
			t.DiscoveredLabels["__param_"+k] = v[0]
		}
	}
	if !p.up {
		t.Health = "down"
		if p.err != nil {
			t.LastError = p.err.Error()
		}
	}
	return t
}
