package serve

import (
	"bytes"
	"cmp"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/units"
	yamlv3 "go.yaml.in/yaml/v3"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/podscrape/podscrape/source/pod"
)

// FileService is one Service of a config file (`podscrape serve --config FILE`): the
// fields of `podscrape scrape`'s flags, in YAML. Only name and port are required.
type FileService struct {
	// Name and Namespace identify the Service; Namespace defaults to the command's.
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	// Port is the pods' metrics port.
	Port int32 `json:"port"`
	// Path and Scheme of the metrics endpoint: /metrics and http by default.
	Path   string `json:"path,omitempty"`
	Scheme string `json:"scheme,omitempty"`
	// Secret names a Secret holding the pods' Bearer token, in SecretNamespace (default
	// the Service's) under SecretKey (default "token").
	Secret          string `json:"secret,omitempty"`
	SecretNamespace string `json:"secretNamespace,omitempty"`
	SecretKey       string `json:"secretKey,omitempty"`
	// TokenFile is a file holding the Bearer token (a projected ServiceAccount token, a
	// mounted Secret), read again at every scrape: pod.PodScrapingSourceConfig's
	// BearerTokenFile.
	TokenFile string `json:"tokenFile,omitempty"`
	// Timeout bounds each pod's scrape, at most Interval (default: 5s, or the interval
	// when shorter).
	Timeout Duration `json:"timeout,omitempty"`
	// Interval is the Service's scrape interval. Zero: the server's (Config.Interval,
	// serve's --interval).
	Interval Duration `json:"interval,omitempty"`
	// Concurrency is how many pods are scraped at once. Zero:
	// pod.DefaultMaxConcurrentScrapes, 10.
	Concurrency int `json:"concurrency,omitempty"`
	// CAFile, TLSServerName and InsecureSkipTLSVerify configure https to the pods.
	CAFile                string `json:"caFile,omitempty"`
	TLSServerName         string `json:"tlsServerName,omitempty"`
	InsecureSkipTLSVerify bool   `json:"insecureSkipTLSVerify,omitempty"`
	// PodLabels are pod label keys copied onto the pods' series, named as Prometheus'
	// labelmap names them ("llm-d.ai/variant" -> llm_d_ai_variant); see
	// pod.PodScrapingSourceConfig.PodLabels.
	PodLabels []string `json:"podLabels,omitempty"`
	// SampleLimit is the most samples one pod may expose, as Prometheus'
	// sample_limit: a pod over it fails alone (up 0, none of its samples stored, the
	// error saying how many it has), before its series fill the Service's history.
	// pod.PodScrapingSourceConfig.SampleLimit. Zero: no limit.
	SampleLimit int `json:"sampleLimit,omitempty"`
	// BodySizeLimit is the largest exposition one pod may answer, after
	// decompression, as Prometheus' body_size_limit: a number of bytes, or a size
	// such as "64MiB" or "100MB" (both powers of 1024, as Prometheus reads them); a pod
	// over it fails alone. pod.PodScrapingSourceConfig.MaxBodyBytes. Zero:
	// pod.DefaultMaxBodyBytes, 16 MiB.
	BodySizeLimit ByteSize `json:"bodySizeLimit,omitempty"`
	// SeriesLimit is the most series the Service's history holds (ServiceConfig's
	// SeriesLimit): past it new series, a new pod's included, are refused, and answers
	// warn of it. Zero: the server's, 100,000 by default.
	SeriesLimit int `json:"seriesLimit,omitempty"`
}

// ByteSize is a number of bytes written as a number or as Prometheus writes a size
// ("64MiB", "100MB": powers of 1024).
type ByteSize int64

// UnmarshalJSON reads a whole number of bytes, or a size string (see Set).
func (b *ByteSize) UnmarshalJSON(data []byte) error {
	var n int64
	if err := json.Unmarshal(data, &n); err == nil {
		if n < 0 {
			return fmt.Errorf("%d is negative", n)
		}
		*b = ByteSize(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("a size must be a whole number of bytes or a string such as \"64MiB\", got %s", data)
	}
	return b.Set(s)
}

// Set reads s as a whole number of bytes ("1048576") or as Prometheus reads a size
// ("64MiB", "100MB": powers of 1024); a negative size is an error. With String and
// Type it makes a ByteSize a command-line flag (pflag.Value).
func (b *ByteSize) Set(s string) error {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return fmt.Errorf("%d is negative", n)
		}
		*b = ByteSize(n)
		return nil
	}
	v, err := units.ParseBase2Bytes(s)
	if err != nil {
		return fmt.Errorf("a size must be a whole number of bytes or a string such as \"64MiB\", got %q: %w", s, err)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative", s)
	}
	*b = ByteSize(v)
	return nil
}

// String is the size in bytes.
func (b *ByteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

// Type names the flag's value in a command's help.
func (*ByteSize) Type() string { return "size" }

// File is a config file: its services, under "services:", or the list alone.
type File struct {
	// Services are the file's Services, each listed once.
	Services []FileService `json:"services"`
}

// Duration is a time.Duration written as Go or Prometheus write it ("15s", "1m30s").
type Duration time.Duration

// UnmarshalJSON reads a duration string: a Prometheus duration ("1m30s", "1d"), a Go
// one ("1.5s", "250ms"), or seconds ("90"); or the number 0 (`timeout: 0`, the default,
// as Prometheus' scrape config reads it). Another number has no unit: refused.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n float64
		if json.Unmarshal(b, &n) == nil && n == 0 {
			*d = 0
			return nil
		}
		return fmt.Errorf("a duration must be a string such as \"15s\", got %s", b)
	}
	v, err := parseDuration(s)
	if err != nil {
		// Go's form, which --interval and --timeout take: "1.5s" is no Prometheus duration.
		if gv, gerr := time.ParseDuration(s); gerr == nil {
			v, err = gv, nil
		}
	}
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// LoadFile reads the config file at path and returns its Services; relative caFile and
// tokenFile paths are read from the file's directory. namespace is the namespace of a
// Service that names none. Errors name the file, the line, the Service and the field.
// Keys are matched exactly ("Port" is an unknown field, not port), and a Service
// listed twice is an error.
func LoadFile(path, namespace string) ([]ServiceConfig, error) {
	return LoadFileInterval(path, namespace, 0)
}

// LoadFileInterval is LoadFile for a server that scrapes each Service setting no interval
// of its own every interval (its Config.Interval, serve's --interval; zero: not known):
// such a Service's timeout above interval is refused here too, at the timeout key's line,
// as a timeout above the Service's own interval is; New would refuse it naming neither
// the file, nor the line, nor the key.
func LoadFileInterval(path, namespace string, interval time.Duration) ([]ServiceConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	// The form is the document's, not its first byte's: a "---" document start or a
	// comment may come first. Strict, as UnmarshalStrict: a key twice is an error.
	doc, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	var f File
	switch doc = bytes.TrimSpace(doc); {
	case bytes.HasPrefix(doc, []byte("[")):
		err = decodeStrict(doc, &f.Services)
	case bytes.HasPrefix(doc, []byte("{")):
		err = decodeStrict(doc, &f)
	case bytes.Equal(doc, []byte("null")): // empty, or only comments
	default:
		err = fmt.Errorf("want a map with services: or a list of Services, got %.40s", doc)
	}
	lines := serviceLines(data)
	if err != nil {
		if located := cmp.Or(locate(lines), locateRoot(data)); located != nil {
			err = located
		}
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	if len(f.Services) == 0 {
		return nil, fmt.Errorf("config file %s: no services", path)
	}
	dir := filepath.Dir(path)
	out := make([]ServiceConfig, len(f.Services))
	seen := map[string]int{}
	for i, s := range f.Services {
		at := ""
		if i < len(lines) {
			at = fmt.Sprintf("line %d: ", lines[i].line)
		}
		sc, err := s.config(dir, namespace, interval)
		if err == nil {
			err = checkSource(sc.Source)
		}
		var fe fieldError
		if errors.As(err, &fe) && i < len(lines) {
			// At the field's own line, as a value that does not decode is.
			for _, k := range lines[i].keys {
				if k.key == fe.key {
					at = fmt.Sprintf("line %d: ", k.line)
				}
			}
		}
		if err == nil {
			if j, ok := seen[sc.key()]; ok {
				err = fmt.Errorf("Service %s is already services[%d]: list each Service once", sc.key(), j)
				if p := out[j].Source.MetricsPort; p != sc.Source.MetricsPort {
					err = fmt.Errorf("Service %s is already services[%d], on port %d: serve scrapes one port of each Service (its history, and its series' job label, are the Service's), so list it once", sc.key(), j, p)
				}
			}
			seen[sc.key()] = i
		}
		if err != nil {
			return nil, fmt.Errorf("config file %s: %sservices[%d] (%s): %w", path, at, i, s.Name, err)
		}
		out[i] = sc
	}
	return out, nil
}

// decodeStrict decodes the JSON of a config file into v as Kubernetes decodes its
// objects: keys matched exactly, an unknown or repeated one an error.
func decodeStrict(doc []byte, v any) error {
	strict, err := kjson.UnmarshalStrict(doc, v)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// serviceLine is where a Service of a config file is written: the line of its first key,
// and each key's line and value, for errors to point at.
type serviceLine struct {
	line int
	name string
	keys []keyLine
	// notMap is the item as written when it is neither a map nor empty (a Service's name
	// alone, a list): no key of it is at fault, the item is.
	notMap string
}

type keyLine struct {
	key  string
	line int
	doc  []byte // the key and its value alone, as JSON
}

// serviceLines returns where each Service of a config file is written (nil when the file
// is not YAML of either form).
func serviceLines(data []byte) []serviceLine {
	var root yamlv3.Node
	if yamlv3.Unmarshal(data, &root) != nil || root.Kind != yamlv3.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	list := root.Content[0]
	if list.Kind == yamlv3.MappingNode {
		list = nil
		for i := 0; i+1 < len(root.Content[0].Content); i += 2 {
			if root.Content[0].Content[i].Value == "services" {
				list = root.Content[0].Content[i+1]
			}
		}
	}
	if list == nil || list.Kind != yamlv3.SequenceNode {
		return nil
	}
	out := make([]serviceLine, len(list.Content))
	for i, item := range list.Content {
		out[i].line = item.Line
		if item.Kind != yamlv3.MappingNode {
			if item.Kind != yamlv3.ScalarNode || item.Tag != "!!null" {
				out[i].notMap = written(item)
			}
			continue
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			if k.Value == "name" {
				out[i].name = v.Value
			}
			kl := keyLine{key: k.Value, line: k.Line}
			if v.Kind != yamlv3.AliasNode && k.Value != "<<" {
				pair := &yamlv3.Node{Kind: yamlv3.MappingNode, Content: []*yamlv3.Node{k, v}}
				if y, err := yamlv3.Marshal(pair); err == nil {
					kl.doc, _ = yaml.YAMLToJSON(y)
				}
			}
			out[i].keys = append(out[i].keys, kl)
		}
	}
	return out
}

// locate returns the error of decoding a config file at the line, Service and key that
// cause it, found by decoding each key of each Service alone; nil when no one key does
// (the error is then the whole document's: a top-level key, say).
func locate(lines []serviceLine) error {
	for i, s := range lines {
		if s.notMap != "" {
			return fmt.Errorf("line %d: services[%d]: a Service is a map of its keys (name, port, ...), got %s", s.line, i, s.notMap)
		}
		for _, k := range s.keys {
			if k.doc == nil {
				continue
			}
			var one FileService
			if kerr := decodeStrict(k.doc, &one); kerr != nil {
				return fmt.Errorf("line %d: services[%d] (%s): %s: %w", k.line, i, s.name, k.key, typeError(k.doc, kerr))
			}
		}
	}
	return nil
}

// typeError is err, a key's value of the wrong type, in the words of the YAML it was
// written in ("want a whole number, got a string"), not in json's, which name Go's
// struct and type ("cannot unmarshal string into Go struct field FileService.port of
// type int32"); err itself for another error. doc is the key alone, as locate decodes it.
func typeError(doc []byte, err error) error {
	var one FileService
	var te *json.UnmarshalTypeError
	if !errors.As(json.Unmarshal(doc, &one), &te) || te.Type == nil {
		return err
	}
	var want string
	switch t := te.Type; t.Kind() {
	case reflect.Bool:
		want = "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = "a whole number"
	case reflect.Float32, reflect.Float64:
		want = "a number"
	case reflect.String:
		want = "a string"
	case reflect.Slice:
		want = "a list"
		if t.Elem().Kind() == reflect.String {
			want = "a list of strings"
		}
	case reflect.Map, reflect.Struct:
		want = "a map"
	default:
		return err
	}
	got := te.Value
	switch {
	case got == "array":
		got = "a list"
	case got == "object":
		got = "a map"
	case got == "bool":
		got = "true or false"
	case strings.HasPrefix(got, "number "):
		got = strings.TrimPrefix(got, "number ")
	default: // string, number
		got = "a " + got
	}
	return fmt.Errorf("want %s, got %s", want, got)
}

// locateRoot returns the error of decoding a config file of the map form at the line of
// its key at fault: a key other than services (a Service's key not indented under its
// "- "), or services not a list; nil when neither is.
func locateRoot(data []byte) error {
	var root yamlv3.Node
	if yamlv3.Unmarshal(data, &root) != nil || root.Kind != yamlv3.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yamlv3.MappingNode {
		return nil
	}
	m := root.Content[0].Content
	for i := 0; i+1 < len(m); i += 2 {
		k, v := m[i], m[i+1]
		switch {
		case k.Value != "services":
			return fmt.Errorf("line %d: %s: unknown field %q: the file holds services: (a list of Services) alone", k.Line, k.Value, k.Value)
		case v.Kind != yamlv3.SequenceNode && (v.Kind != yamlv3.ScalarNode || v.Tag != "!!null"):
			return fmt.Errorf("line %d: services: want a list of Services (each item \"- name: ...\"), got %s", k.Line, written(v))
		}
	}
	return nil
}

// written is node as the file writes it, on one line and cut to 40 bytes, for errors to
// quote.
func written(node *yamlv3.Node) string {
	y, err := yamlv3.Marshal(node)
	if err != nil {
		return "a " + node.ShortTag()
	}
	s := strings.Join(strings.Fields(string(y)), " ")
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strconv.Quote(s)
}

// config checks s and turns it into a ServiceConfig; interval is the server's, at which
// a Service setting none is scraped (zero: not known).
func (s FileService) config(dir, namespace string, interval time.Duration) (ServiceConfig, error) {
	if s.Name == "" {
		return ServiceConfig{}, errors.New("name is required")
	}
	if s.Port < 1 || s.Port > 65535 {
		return ServiceConfig{}, keyError("port", "port %d is outside 1-65535: give the pods' metrics port", s.Port)
	}
	if s.Namespace == "" {
		s.Namespace = namespace
	}
	for _, f := range []struct {
		key string
		d   Duration
	}{{"interval", s.Interval}, {"timeout", s.Timeout}} {
		if f.d < 0 {
			return ServiceConfig{}, fieldError{key: f.key, err: fmt.Errorf("%s is negative", time.Duration(f.d))}
		}
	}
	// Caught here too, though Config.validate would, to name the file, the line and the key.
	if s.Interval > 0 && time.Duration(s.Interval) < minInterval {
		return ServiceConfig{}, fieldError{key: "interval", err: fmt.Errorf("%s is shorter than %s: %s", time.Duration(s.Interval), minInterval, whyMinInterval)}
	}
	if s.Timeout > 0 && time.Duration(s.Timeout) < minInterval {
		return ServiceConfig{}, fieldError{key: "timeout", err: fmt.Errorf("%s is shorter than %s: no pod answers within it, and every query reading the Service would answer 503", time.Duration(s.Timeout), minInterval)}
	}
	if s.Interval > 0 && s.Timeout > s.Interval {
		// Caught here too, though Config.validate would, to name the file's fields.
		return ServiceConfig{}, keyError("timeout", "timeout %s is greater than interval %s", time.Duration(s.Timeout), time.Duration(s.Interval))
	}
	if s.Interval == 0 && interval > 0 && time.Duration(s.Timeout) > interval {
		return ServiceConfig{}, keyError("timeout", "timeout %s is greater than the server's interval %s (--interval), at which this Service, setting no interval of its own, is scraped: a Service's scrapes never overlap, so each must end within the interval (set its interval, or a shorter timeout)",
			time.Duration(s.Timeout), interval)
	}
	cfg := pod.PodScrapingSourceConfig{
		ServiceName:                  s.Name,
		ServiceNamespace:             s.Namespace,
		MetricsPort:                  s.Port,
		MetricsPath:                  s.Path,
		MetricsScheme:                s.Scheme,
		MetricsReaderSecretName:      s.Secret,
		MetricsReaderSecretNamespace: s.SecretNamespace,
		MetricsReaderSecretKey:       s.SecretKey,
		ScrapeTimeout:                time.Duration(s.Timeout),
		MaxConcurrentScrapes:         s.Concurrency,
		TLSServerName:                s.TLSServerName,
		InsecureSkipVerify:           s.InsecureSkipTLSVerify,
		PodLabels:                    s.PodLabels,
		SampleLimit:                  s.SampleLimit,
		MaxBodyBytes:                 int64(s.BodySizeLimit),
	}
	if s.SampleLimit < 0 {
		return ServiceConfig{}, keyError("sampleLimit", "sampleLimit %d is negative", s.SampleLimit)
	}
	if s.SeriesLimit < 0 {
		return ServiceConfig{}, keyError("seriesLimit", "seriesLimit %d is negative", s.SeriesLimit)
	}
	if s.TokenFile != "" {
		if s.Secret != "" {
			return ServiceConfig{}, keyError("tokenFile", "secret and tokenFile are mutually exclusive")
		}
		// Read by the source at every scrape (a projected token rotates); checked here
		// so that a wrong path stops serve at start rather than fail every scrape.
		cfg.BearerTokenFile = resolve(dir, s.TokenFile)
		if _, err := os.Stat(cfg.BearerTokenFile); err != nil {
			return ServiceConfig{}, fieldError{key: "tokenFile", err: err}
		}
	}
	if s.CAFile != "" {
		ca, err := os.ReadFile(resolve(dir, s.CAFile))
		if err != nil {
			return ServiceConfig{}, fieldError{key: "caFile", err: err}
		}
		if !x509.NewCertPool().AppendCertsFromPEM(ca) {
			return ServiceConfig{}, keyError("caFile", "caFile %s holds no PEM certificate", s.CAFile)
		}
		cfg.TLSCAData = ca
	}
	return ServiceConfig{Source: cfg, Interval: time.Duration(s.Interval), SeriesLimit: s.SeriesLimit}, nil
}

// sourceKeys are the file's keys of the pod source's fields, by the field a
// *pod.ConfigError names. A field no key sets (BearerToken, the history's) has none: its
// error is at the Service's line.
var sourceKeys = map[string]string{
	"ServiceName": "name", "ServiceNamespace": "namespace", "MetricsPort": "port",
	"MetricsPath": "path", "MetricsScheme": "scheme", "MetricsReaderSecretName": "secret",
	"MetricsReaderSecretNamespace": "secretNamespace", "MetricsReaderSecretKey": "secretKey",
	"BearerTokenFile": "tokenFile", "ScrapeTimeout": "timeout", "MaxConcurrentScrapes": "concurrency",
	"TLSCAData": "caFile", "TLSServerName": "tlsServerName", "InsecureSkipVerify": "insecureSkipTLSVerify",
	"PodLabels": "podLabels", "SampleLimit": "sampleLimit", "MaxBodyBytes": "bodySizeLimit",
}

// checkSource checks a Service's source config as the pod source does when serve builds
// it, without building one, so that the file's error names the line and key of the
// field at fault, not the Service alone: the key is the field's the *pod.ConfigError
// names, whatever its message says.
func checkSource(cfg pod.PodScrapingSourceConfig) error {
	err := cfg.Validate()
	var ce *pod.ConfigError
	if errors.As(err, &ce) {
		if key, ok := sourceKeys[ce.Field]; ok {
			return fieldError{key: key, err: err}
		}
	}
	return err
}

// fieldError is a Service's error caused by the value of one key: it reads "key: err"
// (or err alone when its message names the key), and LoadFile gives the key's line.
type fieldError struct {
	key   string
	err   error
	named bool // err's message names key
}

// keyError returns a fieldError of key whose message, formatted as fmt.Errorf formats
// it, names the key itself.
func keyError(key, format string, args ...any) error {
	return fieldError{key: key, err: fmt.Errorf(format, args...), named: true}
}

func (e fieldError) Error() string {
	if e.named {
		return e.err.Error()
	}
	return e.key + ": " + e.err.Error()
}
func (e fieldError) Unwrap() error { return e.err }

func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
