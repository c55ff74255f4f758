package pod

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/internal/httpheader"
)

// Defaults of PodScrapingSourceConfig, applied to fields left at their zero value.
const (
	DefaultMetricsPath          = "/metrics"
	DefaultMetricsScheme        = "http"
	DefaultMetricsReaderKey     = "token"
	DefaultScrapeTimeout        = 5 * time.Second
	DefaultMaxConcurrentScrapes = 10
	DefaultTTL                  = 30 * time.Second
	// DefaultMaxBodyBytes caps a pod's response body, counted after decompression.
	DefaultMaxBodyBytes int64 = 16 << 20
)

// PodScrapingSourceConfig configures a PodScrapingSource. Fields left at their zero value
// take the defaults above; NewPodScrapingSource copies the config, so the caller may reuse
// or change it afterwards.
type PodScrapingSourceConfig struct {
	// ServiceName is the Service whose spec.selector picks the pods to scrape. Required.
	ServiceName string
	// ServiceNamespace is the Service's namespace, and the pods'. Required.
	ServiceNamespace string

	// MetricsPort is the pods' metrics port, 1-65535. Required. It is used as is, not the
	// Service's port: when the pods refuse a port the Service forwards to another, each
	// pod's error names the port it forwards to on that pod.
	MetricsPort int32
	// MetricsPath is the HTTP path of the metrics endpoint, starting with "/"; it may carry
	// a query string. Default "/metrics".
	MetricsPath string
	// MetricsScheme is "http" or "https". Default "http".
	MetricsScheme string

	// MetricsReaderSecretName names a Secret holding a Bearer token for the pods. Empty:
	// no Secret is read. A Secret that does not exist, or lacks the key, means no auth;
	// a pod that then answers 401 or 403 fails with an error saying which.
	MetricsReaderSecretName string
	// MetricsReaderSecretNamespace is the Secret's namespace. Default ServiceNamespace.
	MetricsReaderSecretNamespace string
	// MetricsReaderSecretKey is the Secret's data key holding the token, a valid data key
	// ([-._a-zA-Z0-9]+). Default "token".
	MetricsReaderSecretKey string
	// BearerToken is sent as is; when set, no Secret is read. A token with a control
	// character (a newline left from a file) fails NewPodScrapingSource.
	BearerToken string
	// BearerTokenFile is a file holding the Bearer token (a projected ServiceAccount
	// token, a mounted Secret), white space around it trimmed. It is read at every
	// refresh, once for all pods, so a token the kubelet rotated is sent by the next
	// refresh, as Prometheus reads its credentials_file at every scrape. A file that
	// cannot be read, is over 64 KiB, or holds a control character inside the token
	// fails the refresh with an error naming the file, never its content; an empty file
	// means no token, and a pod that then answers 401 or 403 fails saying so. A relative
	// path is the process's working directory's. Setting it with BearerToken or
	// MetricsReaderSecretName fails NewPodScrapingSource. Empty: no file is read.
	BearerTokenFile string

	// ScrapeTimeout bounds each pod's whole request, body included. Default 5s.
	ScrapeTimeout time.Duration
	// MaxConcurrentScrapes caps the requests in flight from this source, across
	// concurrent Refresh calls, at most 1,000,000. Default 10.
	MaxConcurrentScrapes int
	// DefaultTTL is how long a refreshed result is served by Get. Default 30s.
	DefaultTTL time.Duration

	// MaxBodyBytes caps each pod's response body after decompression; a pod over it fails
	// with ErrBodyTooLarge. Default 16 MiB.
	MaxBodyBytes int64
	// SampleLimit caps the samples taken from one pod; a pod over it fails with an error
	// wrapping ErrSampleLimit that says how many samples it exposes, as Prometheus'
	// sample_limit fails its target. Zero: no limit.
	SampleLimit int

	// TLSCAData is a PEM bundle of the CAs that sign the pods' serving certificates, for
	// https. Empty: the system roots. This and the two TLS fields below need
	// MetricsScheme "https": with http, NewPodScrapingSource refuses them.
	TLSCAData []byte
	// TLSServerName is the name verified in the pods' certificates. Empty: the pod IP.
	TLSServerName string
	// InsecureSkipVerify turns off certificate verification. Off unless set explicitly.
	InsecureSkipVerify bool

	// SecretReader reads the token Secret. Nil: the reader given to NewPodScrapingSource.
	// With a manager's cached client, pass mgr.GetAPIReader(): a cached Get of a Secret
	// starts a cluster-wide Secret informer, which needs list and watch on secrets.
	SecretReader client.Reader
	// Clock tells time for the cache and the scrape timestamps. Nil: the wall clock.
	Clock clock.PassiveClock

	// ScrapeInterval, when positive, is the cadence of the background scrape loop that
	// Start runs: every interval it scrapes the pods for every registered query and
	// stores the scrape in the history of PromQL queries, so range functions ([1m], [5m])
	// see samples spread over their window, and a Refresh of PromQL queries alone answers
	// from that history without scraping again. Zero: scrape only on Refresh (Start then
	// just waits for its context).
	ScrapeInterval time.Duration
	// HistoryRetention is how long the history of PromQL queries keeps samples. Zero:
	// 10 minutes, twice the autoscaler's longest window ([5m]). A window longer than the
	// retention sees only the retention. With ScrapeInterval set, a retention (or its
	// default) shorter than ScrapeInterval plus ScrapeTimeout is refused: the history
	// would never hold two of the loop's scrapes.
	HistoryRetention time.Duration
	// HistorySeriesLimit bounds the series the history holds; past it, new series are
	// refused and the PromQL results say so in their Error. Zero: 100,000 (about 70 MB
	// at 0.7 KB a series, see BENCH.md).
	HistorySeriesLimit int
	// HistoryDir is ignored: the history keeps its samples in memory and writes no
	// file, so a read-only root filesystem needs no writable volume.
	//
	// Deprecated: kept so configs that set it still compile; it has no effect.
	HistoryDir string

	// PodLabels name pod labels (Kubernetes label keys) copied onto every sample of the
	// pods that carry them, named as Prometheus' labelmap of kubernetes_sd's
	// __meta_kubernetes_pod_label_<key> names them: every character outside [a-zA-Z0-9_]
	// becomes "_" ("llm-d.ai/variant" -> llm_d_ai_variant). They are on metric-name and
	// all_metrics values and on the series PromQL queries read; an exposed label of the
	// same name is kept as exported_<name>. A key that is not a label key, or that maps to
	// a name another key, namespace, pod, instance or job takes, fails
	// NewPodScrapingSource. Nil: no pod labels. NewPodScrapingSource copies the slice.
	PodLabels []string

	// Registerer, when set, gets the source's metrics, each labelled
	// service="namespace/name": podscrape_scrape_duration_seconds,
	// podscrape_scrape_failures_total{reason}, podscrape_samples_scraped_total,
	// podscrape_samples_duplicate_total, podscrape_history_samples_refused_total{reason},
	// podscrape_pods_discovered, podscrape_pods_ready (both 0 after a discovery that
	// failed), podscrape_discovery_failures_total, podscrape_cache_age_seconds and
	// podscrape_history_resets_total (the history started over: the Clock stepped back).
	// Sources of different Services share a Registerer. Sources of the same Service on
	// it share its metrics (a replacement built before the source it replaces is closed,
	// two controllers' sources): the counters add up their scrapes, the pod gauges hold
	// the last discovery of any, the cache age is the oldest of their caches; the last
	// one's Close unregisters them. Metrics of those names that no source registered,
	// of the Service's service label or with other labels or help, make
	// NewPodScrapingSource fail with a *ConfigError of Registerer. Nil: no metrics.
	Registerer prometheus.Registerer
}

// maxConcurrentScrapes bounds MaxConcurrentScrapes: the source allocates a pool of that
// many parser slots (8 bytes each), so a typo's extra zeros (1<<40) was a fatal out of
// memory, not an error. A million is more pods than any cluster holds.
const maxConcurrentScrapes = 1_000_000

// DefaultPodScrapingSourceConfig returns a config with the Default constants filled in
// (MetricsPath, MetricsScheme, MetricsReaderSecretKey, ScrapeTimeout,
// MaxConcurrentScrapes, DefaultTTL, MaxBodyBytes); the caller sets ServiceName,
// ServiceNamespace and MetricsPort. The fields whose default depends on another, or is
// the history's, stay zero and take it in NewPodScrapingSource:
// MetricsReaderSecretNamespace (ServiceNamespace), Clock (the wall clock),
// HistoryRetention (10 minutes) and HistorySeriesLimit (100,000).
func DefaultPodScrapingSourceConfig() PodScrapingSourceConfig {
	return PodScrapingSourceConfig{
		MetricsPath:            DefaultMetricsPath,
		MetricsScheme:          DefaultMetricsScheme,
		MetricsReaderSecretKey: DefaultMetricsReaderKey,
		ScrapeTimeout:          DefaultScrapeTimeout,
		MaxConcurrentScrapes:   DefaultMaxConcurrentScrapes,
		DefaultTTL:             DefaultTTL,
		MaxBodyBytes:           DefaultMaxBodyBytes,
	}
}

// validateRetention refuses, when the scrape loop runs, a HistoryRetention (or its
// default) shorter than one of its scrapes, ScrapeInterval plus ScrapeTimeout (a
// scrape's samples land up to its timeout after it starts): the history would never
// hold two scrapes, so every range window (rate, increase) would be partial for as long
// as the source lives, as serve refuses its --retention.
func (c *PodScrapingSourceConfig) validateRetention() error {
	if c.ScrapeInterval <= 0 {
		return nil // a Refresh's cadence is the caller's: nothing to check it against
	}
	retention, dflt := c.HistoryRetention, ""
	if retention == 0 {
		retention, dflt = history.DefaultRetention, " (its default)"
	}
	timeout := c.ScrapeTimeout
	if timeout == 0 {
		timeout = DefaultScrapeTimeout
	}
	if retention < c.ScrapeInterval+timeout {
		return configError("HistoryRetention", "HistoryRetention %s%s is shorter than a scrape of the loop (ScrapeInterval %s plus ScrapeTimeout %s): the history would never hold two scrapes, and every range window would be partial",
			retention, dflt, c.ScrapeInterval, timeout)
	}
	return nil
}

// Validate reports the first field with a value no default can mend, as a *ConfigError
// naming it; nil when NewPodScrapingSource takes the config. NewPodScrapingSource
// validates with it, so the two never disagree, except on what only registering finds:
// a Registerer that holds metrics of the source's names that no source registered,
// of its service label or with other labels or help (those a source of the same
// Service registered are shared, see Registerer).
// Validate builds nothing and reads nothing (not BearerTokenFile, nor the Secret).
func (c PodScrapingSourceConfig) Validate() error {
	switch {
	case c.ServiceName == "":
		return configError("ServiceName", "ServiceName is required")
	case c.ServiceNamespace == "":
		return configError("ServiceNamespace", "ServiceNamespace is required")
	case c.MetricsPort < 1 || c.MetricsPort > 65535:
		return configError("MetricsPort", "MetricsPort %d is outside 1-65535", c.MetricsPort)
	case c.MetricsScheme != "" && c.MetricsScheme != "http" && c.MetricsScheme != "https":
		return configError("MetricsScheme", "MetricsScheme %q is not \"http\" or \"https\"", c.MetricsScheme)
	case c.ScrapeTimeout < 0:
		return configError("ScrapeTimeout", "ScrapeTimeout %s is negative", c.ScrapeTimeout)
	case c.MaxConcurrentScrapes < 0:
		return configError("MaxConcurrentScrapes", "MaxConcurrentScrapes %d is negative", c.MaxConcurrentScrapes)
	case c.MaxConcurrentScrapes > maxConcurrentScrapes:
		return configError("MaxConcurrentScrapes", "MaxConcurrentScrapes %d is more than %d: more than any cluster's pods (Kubernetes is tested up to 150,000), and the source sizes a pool by it",
			c.MaxConcurrentScrapes, maxConcurrentScrapes)
	case c.DefaultTTL < 0:
		return configError("DefaultTTL", "DefaultTTL %s is negative", c.DefaultTTL)
	case c.MaxBodyBytes < 0:
		return configError("MaxBodyBytes", "MaxBodyBytes %d is negative", c.MaxBodyBytes)
	case c.SampleLimit < 0:
		return configError("SampleLimit", "SampleLimit %d is negative", c.SampleLimit)
	case c.ScrapeInterval < 0:
		return configError("ScrapeInterval", "ScrapeInterval %s is negative", c.ScrapeInterval)
	case c.HistoryRetention < 0:
		return configError("HistoryRetention", "HistoryRetention %s is negative", c.HistoryRetention)
	case c.HistorySeriesLimit < 0:
		return configError("HistorySeriesLimit", "HistorySeriesLimit %d is negative", c.HistorySeriesLimit)
	}
	if err := c.validateRetention(); err != nil {
		return err
	}
	if err := c.validateTLS(); err != nil {
		return err
	}
	if err := validateBearerToken(c.BearerToken); err != nil {
		return err
	}
	// The guide lets BearerToken win over the Secret; the file, beyond the guide, is
	// refused with either, as Prometheus refuses bearer_token with its file: a config
	// never reads as sending one credential while it sends another.
	switch {
	case c.BearerTokenFile != "" && c.BearerToken != "":
		return configError("BearerTokenFile", "BearerToken and BearerTokenFile are both set: set one")
	case c.BearerTokenFile != "" && c.MetricsReaderSecretName != "":
		return configError("BearerTokenFile", "BearerTokenFile %q and MetricsReaderSecretName %q are both set: set one", c.BearerTokenFile, c.MetricsReaderSecretName)
	}
	if err := c.validateNames(); err != nil {
		return err
	}
	if c.MetricsReaderSecretKey != "" {
		// Else a key no Secret can hold reads as a key this Secret lacks: no auth.
		if errs := validation.IsConfigMapKey(c.MetricsReaderSecretKey); len(errs) > 0 {
			return configError("MetricsReaderSecretKey", "MetricsReaderSecretKey %q is not a valid Secret data key: %s",
				c.MetricsReaderSecretKey, strings.Join(errs, "; "))
		}
	}
	if err := validatePodLabels(c.PodLabels); err != nil {
		return &ConfigError{Field: "PodLabels", Err: err}
	}
	if c.MetricsPath != "" {
		if !strings.HasPrefix(c.MetricsPath, "/") {
			return configError("MetricsPath", "MetricsPath %q does not start with \"/\"", c.MetricsPath)
		}
		if u, err := url.Parse(c.MetricsPath); err != nil || u.Scheme != "" || u.Host != "" || u.Fragment != "" {
			return configError("MetricsPath", "MetricsPath %q is not a path with an optional query", c.MetricsPath)
		}
	}
	// Last, where NewPodScrapingSource found it when it built the transport.
	if len(c.TLSCAData) > 0 && !x509.NewCertPool().AppendCertsFromPEM(c.TLSCAData) {
		return configError("TLSCAData", "TLSCAData holds no PEM certificate")
	}
	return nil
}

// validateTLS refuses TLS settings with a scheme other than https: over http the
// transport never uses them, so the pods would be scraped in clear text, the token with
// them, while the config reads as if they were verified.
func (c *PodScrapingSourceConfig) validateTLS() error {
	if c.MetricsScheme == "https" {
		return nil
	}
	var set []string
	if len(c.TLSCAData) > 0 {
		set = append(set, "TLSCAData")
	}
	if c.TLSServerName != "" {
		set = append(set, "TLSServerName")
	}
	if c.InsecureSkipVerify {
		set = append(set, "InsecureSkipVerify")
	}
	if len(set) == 0 {
		return nil
	}
	scheme := fmt.Sprintf("%q", c.MetricsScheme)
	if c.MetricsScheme == "" {
		scheme = `"" (default "http")`
	}
	return configError(set[0], "%s set with MetricsScheme %s: TLS settings need MetricsScheme \"https\" (over http they are ignored and the token goes in clear text)",
		strings.Join(set, ", "), scheme)
}

// validateBearerToken refuses a token no request header can carry: net/http would fail
// every pod with "invalid header field value", naming neither the field nor the cause.
// The token is sent as is, so one read from a file with its newline is refused rather
// than trimmed; the error never shows the token.
func validateBearerToken(token string) error {
	switch {
	case httpheader.ValidValue(token):
		return nil
	case httpheader.ValidValue(strings.TrimSpace(token)):
		return configError("BearerToken", "BearerToken starts or ends with a newline or another control character a header cannot carry (a token read from a file keeps its newline): trim it, e.g. with strings.TrimSpace")
	default:
		return configError("BearerToken", "BearerToken holds a newline or another control character a header cannot carry")
	}
}

// withDefaults returns a copy of c with the zero fields defaulted.
func (c PodScrapingSourceConfig) withDefaults() PodScrapingSourceConfig {
	d := DefaultPodScrapingSourceConfig()
	if c.MetricsPath == "" {
		c.MetricsPath = d.MetricsPath
	}
	if c.MetricsScheme == "" {
		c.MetricsScheme = d.MetricsScheme
	}
	if c.MetricsReaderSecretNamespace == "" {
		c.MetricsReaderSecretNamespace = c.ServiceNamespace
	}
	if c.MetricsReaderSecretKey == "" {
		c.MetricsReaderSecretKey = d.MetricsReaderSecretKey
	}
	if c.ScrapeTimeout == 0 {
		c.ScrapeTimeout = d.ScrapeTimeout
	}
	if c.MaxConcurrentScrapes == 0 {
		c.MaxConcurrentScrapes = d.MaxConcurrentScrapes
	}
	if c.DefaultTTL == 0 {
		c.DefaultTTL = d.DefaultTTL
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	c.TLSCAData = append([]byte(nil), c.TLSCAData...)
	c.PodLabels = slices.Clone(c.PodLabels)
	return c
}
