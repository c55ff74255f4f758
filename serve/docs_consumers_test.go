package serve_test

// What KEDA and prometheus-adapter make of the configuration docs/serve.md gives users to
// paste, as their own source reads it. Neither is a dependency of this module: the rules
// are copied here from the versions named, and TestServeDocYAML applies them.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	yamlv2 "go.yaml.in/yaml/v2"
)

// kedaKind is how KEDA's typed config parses a trigger metadata value into its field.
type kedaKind int

const (
	kedaString kedaKind = iota
	kedaFloat
	kedaBool
	kedaDuration
	kedaMap
	kedaAuthModes
)

// kedaPrometheusMetadata lists every trigger metadata key KEDA's prometheus scaler reads,
// and how: kedacore/keda 8b4f083 (v2.20.1-117, 2026-08-20),
// pkg/scalers/prometheus_scaler.go's prometheusMetadata, with the triggerMetadata names
// of pkg/scalers/authentication/authentication_types.go's Config (authModes, authMode) and
// APIKeyAuth (apiKey, method, keyParamName). scalersconfig.TypedConfig looks each name up
// exactly as written: any other key (`ignoreNullValue`, `unsafeSSL`, `authmodes`) is
// ignored, logged only under KEDA_CHECK_UNEXPECTED_SCALERS_PARAMS=enabled, and its field
// keeps its default: ignoreNullValues true, which reads serve's empty answer as 0.
var kedaPrometheusMetadata = map[string]kedaKind{
	"serverAddress":       kedaString,
	"query":               kedaString,
	"queryParameters":     kedaMap,
	"threshold":           kedaFloat,
	"activationThreshold": kedaFloat,
	"namespace":           kedaString,
	"customHeaders":       kedaMap,
	"ignoreNullValues":    kedaBool,
	"unsafeSsl":           kedaBool,
	"awsRegion":           kedaString,
	"timeout":             kedaDuration,
	"identityOwner":       kedaString,
	"authModes":           kedaAuthModes,
	"authMode":            kedaAuthModes,
	"apiKey":              kedaString,
	"method":              kedaString,
	"keyParamName":        kedaString,
}

// kedaAuthModesEnum and kedaAuthModesExclusive are Config.Modes' enum and exclusiveSet.
var (
	kedaAuthModesEnum      = []string{"apiKey", "basic", "tls", "bearer", "custom", "oauth"}
	kedaAuthModesExclusive = []string{"bearer", "basic", "oauth"}
)

// kedaBearerTokenParams are the TriggerAuthentication parameter names Config.BearerToken
// is read from (`name=bearerToken;token, order=authParams`): with authModes bearer and
// neither, Config.Validate fails the trigger ("bearer token=<empty> is required").
var kedaBearerTokenParams = []string{"bearerToken", "token"}

// kedaDefaultHTTPTimeout is the HTTP client timeout of a trigger that sets no `timeout`:
// cmd/operator/main.go's KEDA_HTTP_DEFAULT_TIMEOUT, 3000 ms by default, given to
// kedautil.CreateHTTPClient by NewPrometheusScaler.
const kedaDefaultHTTPTimeout = 3 * time.Second

// kedaParse parses a trigger metadata value as pkg/scalers/scalersconfig/typed_config.go's
// setConfigValueHelper does for the field's kind.
func kedaParse(kind kedaKind, v string) (any, error) {
	switch kind {
	case kedaFloat:
		// A string does not convert to float64: the value is decoded as JSON.
		var f float64
		if err := json.Unmarshal([]byte(v), &f); err != nil {
			return nil, err
		}
		return f, nil
	case kedaBool:
		return strconv.ParseBool(v)
	case kedaDuration:
		// A Go duration first ("2s"), else a number of milliseconds ("2000").
		if d, err := time.ParseDuration(v); err == nil {
			if d < 0 {
				return nil, fmt.Errorf("duration cannot be negative: %q", v)
			}
			return d, nil
		}
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 {
			return nil, fmt.Errorf("unable to parse duration value %q: must be either a duration string (e.g. '30s', '5m') or a number of milliseconds", v)
		}
		return time.Duration(ms) * time.Millisecond, nil
	case kedaMap:
		// setConfigValueMap: comma-separated key=value pairs, each with exactly one "=".
		m := map[string]string{}
		for _, s := range strings.Split(v, ",") {
			kv := strings.Split(strings.TrimSpace(s), "=")
			if len(kv) != 2 {
				return nil, fmt.Errorf("expected format key=value, got %q", strings.TrimSpace(s))
			}
			m[strings.TrimSpace(kv[0])] = strings.TrimSpace(kv[1])
		}
		return m, nil
	case kedaAuthModes:
		var modes []string
		exclusive := 0
		for _, s := range strings.Split(v, ",") {
			mode := strings.TrimSpace(s)
			if !contains(kedaAuthModesEnum, mode) {
				return nil, fmt.Errorf("authModes %q: %q is not one of %v", v, mode, kedaAuthModesEnum)
			}
			if contains(kedaAuthModesExclusive, mode) {
				exclusive++
			}
			modes = append(modes, mode)
		}
		if exclusive > 1 {
			return nil, fmt.Errorf("authModes %q: at most one of %v", v, kedaAuthModesExclusive)
		}
		return modes, nil
	}
	return v, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The KEDA objects docs/serve.md gives, with the fields of kedacore/keda 8b4f083's
// apis/keda/v1alpha1 (scaledobject_types.go, scaletriggers_types.go,
// triggerauthentication_types.go), decoded strictly as the API server's field validation
// does: a key the CRD does not have is an error.
type kedaScaledObject struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   kedaObjectMeta `json:"metadata"`
	Spec       struct {
		ScaleTargetRef struct {
			Name                   string `json:"name"`
			APIVersion             string `json:"apiVersion,omitempty"`
			Kind                   string `json:"kind,omitempty"`
			EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
		} `json:"scaleTargetRef"`
		PollingInterval       *int32         `json:"pollingInterval,omitempty"`
		InitialCooldownPeriod *int32         `json:"initialCooldownPeriod,omitempty"`
		CooldownPeriod        *int32         `json:"cooldownPeriod,omitempty"`
		IdleReplicaCount      *int32         `json:"idleReplicaCount,omitempty"`
		MinReplicaCount       *int32         `json:"minReplicaCount,omitempty"`
		MaxReplicaCount       *int32         `json:"maxReplicaCount,omitempty"`
		Advanced              map[string]any `json:"advanced,omitempty"`
		Fallback              map[string]any `json:"fallback,omitempty"`
		Triggers              []struct {
			Type             string            `json:"type"`
			Name             string            `json:"name,omitempty"`
			UseCachedMetrics bool              `json:"useCachedMetrics,omitempty"`
			Metadata         map[string]string `json:"metadata"`
			// A TriggerAuthentication (the default kind) is looked up in the
			// ScaledObject's namespace.
			AuthenticationRef *struct {
				Name string `json:"name"`
				Kind string `json:"kind,omitempty"`
			} `json:"authenticationRef,omitempty"`
			MetricType string `json:"metricType,omitempty"`
		} `json:"triggers"`
	} `json:"spec"`
}

type kedaObjectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type kedaTriggerAuthentication struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   kedaObjectMeta `json:"metadata"`
	Spec       struct {
		PodIdentity     map[string]any `json:"podIdentity,omitempty"`
		SecretTargetRef []struct {
			Parameter string `json:"parameter"`
			Name      string `json:"name"`
			Key       string `json:"key"`
		} `json:"secretTargetRef,omitempty"`
		ConfigMapTargetRef []struct {
			Parameter string `json:"parameter"`
			Name      string `json:"name"`
			Key       string `json:"key"`
		} `json:"configMapTargetRef,omitempty"`
		Env []struct {
			Parameter     string `json:"parameter"`
			Name          string `json:"name"`
			ContainerName string `json:"containerName,omitempty"`
		} `json:"env,omitempty"`
		FilePath                 string         `json:"filePath,omitempty"`
		HashiCorpVault           map[string]any `json:"hashiCorpVault,omitempty"`
		AzureKeyVault            map[string]any `json:"azureKeyVault,omitempty"`
		GCPSecretManager         map[string]any `json:"gcpSecretManager,omitempty"`
		AwsSecretManager         map[string]any `json:"awsSecretManager,omitempty"`
		BoundServiceAccountToken []struct {
			Parameter          string `json:"parameter"`
			ServiceAccountName string `json:"serviceAccountName"`
		} `json:"boundServiceAccountToken,omitempty"`
		OAuth2 map[string]any `json:"oauth2,omitempty"`
	} `json:"spec"`
}

// parameters returns the authParams names a TriggerAuthentication supplies.
func (ta *kedaTriggerAuthentication) parameters() []string {
	var out []string
	for _, r := range ta.Spec.SecretTargetRef {
		out = append(out, r.Parameter)
	}
	for _, r := range ta.Spec.ConfigMapTargetRef {
		out = append(out, r.Parameter)
	}
	for _, r := range ta.Spec.Env {
		out = append(out, r.Parameter)
	}
	for _, r := range ta.Spec.BoundServiceAccountToken {
		out = append(out, r.Parameter)
	}
	return out
}

// splitYAMLDocuments splits a block at its `---` lines.
func splitYAMLDocuments(text string) []string {
	var docs []string
	var cur []string
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimRight(line, " ") == "---" {
			docs = append(docs, strings.Join(cur, "\n"))
			cur = nil
			continue
		}
		cur = append(cur, line)
	}
	return append(docs, strings.Join(cur, "\n"))
}

// adapterConfig is prometheus-adapter's metrics discovery config,
// kubernetes-sigs/prometheus-adapter 01919d0 (v0.12.0-4, 2025-04-01), pkg/config/config.go,
// which pkg/config/loader.go's FromYAML loads with yaml.v2's UnmarshalStrict: keys match
// exactly as these yaml tags spell them, and any other key fails the adapter's start.
type adapterConfig struct {
	Rules         []adapterRule  `yaml:"rules"`
	ResourceRules map[string]any `yaml:"resourceRules,omitempty"`
	ExternalRules []adapterRule  `yaml:"externalRules,omitempty"`
}

type adapterRule struct {
	SeriesQuery   string `yaml:"seriesQuery"`
	SeriesFilters []struct {
		Is    string `yaml:"is,omitempty"`
		IsNot string `yaml:"isNot,omitempty"`
	} `yaml:"seriesFilters"`
	Resources struct {
		Template  string `yaml:"template,omitempty"`
		Overrides map[string]struct {
			Group    string `yaml:"group,omitempty"`
			Resource string `yaml:"resource"`
		} `yaml:"overrides,omitempty"`
		Namespaced *bool `yaml:"namespaced,omitempty"`
	} `yaml:"resources"`
	Name struct {
		Matches string `yaml:"matches"`
		As      string `yaml:"as"`
	} `yaml:"name"`
	MetricsQuery string `yaml:"metricsQuery,omitempty"`
}

func loadAdapterConfig(text string) (*adapterConfig, error) {
	var cfg adapterConfig
	if err := yamlv2.UnmarshalStrict([]byte(text), &cfg); err != nil {
		return nil, fmt.Errorf("unable to parse metrics discovery config: %v", err)
	}
	return &cfg, nil
}

// metricName is the custom metrics API name the rule gives a series: pkg/naming's
// NamersFromConfig (name.matches, `.*` when empty; name.as, `$0` or `$1` when empty) and
// MetricNameForSeries.
func (r *adapterRule) metricName(series string) (string, error) {
	matches := regexp.MustCompile(".*")
	if r.Name.Matches != "" {
		var err error
		if matches, err = regexp.Compile(r.Name.Matches); err != nil {
			return "", err
		}
	}
	as := r.Name.As
	if as == "" {
		switch len(matches.SubexpNames()) {
		case 1:
			as = "$0"
		case 2:
			as = "$1"
		default:
			return "", fmt.Errorf("must specify an 'as' value for name matcher %q", r.Name.Matches)
		}
	}
	idx := matches.FindStringSubmatchIndex(series)
	if idx == nil {
		return "", fmt.Errorf("series name %q did not match expected pattern %q", series, matches)
	}
	return string(matches.ExpandString(nil, as, series, idx)), nil
}

// labelFor is the Prometheus label of a resource (plural, as the RESTMapper normalizes
// it: "pods", "namespaces"): pkg/naming/resource_converter.go's LabelForResource, an
// override first, else resources.template with the singular resource.
func (r *adapterRule) labelFor(plural string) (string, error) {
	for label, gr := range r.Resources.Overrides {
		if gr.Group == "" && (gr.Resource == plural || gr.Resource+"s" == plural) {
			return label, nil
		}
	}
	if r.Resources.Template == "" {
		return "", fmt.Errorf("unable to convert resource %s into label: no generic resource label form specified for this metric", plural)
	}
	tmpl, err := template.New("resource-label").Delims("<<", ">>").Parse(r.Resources.Template)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, map[string]string{"Group": "", "Resource": strings.TrimSuffix(plural, "s")}); err != nil {
		return "", err
	}
	return b.String(), nil
}

// podsQuery is the query the adapter sends for an HPA's pods metric of the pods named in a
// namespace: pkg/naming/metrics_query.go's Build, its template (delimiters `<<` `>>`)
// executed with queryTemplateArgs.
func (r *adapterRule) podsQuery(series, namespace string, pods ...string) (string, error) {
	nsLabel, err := r.labelFor("namespaces")
	if err != nil {
		return "", err
	}
	podLabel, err := r.labelFor("pods")
	if err != nil {
		return "", err
	}
	exprs := []string{fmt.Sprintf("%s=%q", nsLabel, namespace)}
	op := "="
	if len(pods) > 1 {
		op = "=~"
	}
	exprs = append(exprs, fmt.Sprintf("%s%s%q", podLabel, op, strings.Join(pods, "|")))
	tmpl, err := template.New("metrics-query").Delims("<<", ">>").Parse(r.MetricsQuery)
	if err != nil {
		return "", fmt.Errorf("unable to parse metrics query template %q: %v", r.MetricsQuery, err)
	}
	args := struct {
		Series            string
		LabelMatchers     string
		LabelValuesByName map[string]string
		GroupBy           string
		GroupBySlice      []string
	}{
		Series:            series,
		LabelMatchers:     strings.Join(exprs, ","),
		LabelValuesByName: map[string]string{nsLabel: namespace, podLabel: strings.Join(pods, "|")},
		GroupBy:           podLabel,
		GroupBySlice:      []string{podLabel},
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, args); err != nil {
		return "", err
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("empty query produced by metrics query template")
	}
	return b.String(), nil
}

// adapterFlags are the flags prometheus-adapter's cmd/adapter/adapter.go (01919d0) adds
// for its Prometheus client and discovery; the rest are the generic API server's.
var adapterFlags = []string{
	"prometheus-url", "prometheus-auth-incluster", "prometheus-auth-config",
	"prometheus-ca-file", "prometheus-client-tls-cert-file", "prometheus-client-tls-key-file",
	"prometheus-token-file", "prometheus-header", "prometheus-verb", "config",
	"metrics-relist-interval", "metrics-max-age", "disable-http2",
}

var flagRE = regexp.MustCompile(`(?:^|\s)--([a-z0-9-]+)(=(\S*))?`)

// commentFlags returns the --flags (and their =values) written in a block's comment lines.
func commentFlags(text string) map[string]string {
	flags := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, m := range flagRE.FindAllStringSubmatch(line, -1) {
			if v, ok := flags[m[1]]; !ok || v == "" {
				flags[m[1]] = m[3]
			}
		}
	}
	return flags
}
