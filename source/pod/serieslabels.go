package pod

import (
	"fmt"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"k8s.io/apimachinery/pkg/util/validation"
)

// podLabel is one pod label copied onto a pod's samples: the Prometheus label name it is
// mapped to, and the pod's value.
type podLabel struct{ name, value string }

// mappedPodLabelName is the label name Prometheus gives the pod label key after
// kubernetes_sd's __meta_kubernetes_pod_label_<key> and a labelmap of
// __meta_kubernetes_pod_label_(.+): kubernetes_sd replaces every character outside
// [a-zA-Z0-9_] with "_" ("llm-d.ai/variant" -> "llm_d_ai_variant").
func mappedPodLabelName(key string) string {
	var b strings.Builder
	b.Grow(len(key))
	for _, r := range key {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// isScraperLabel reports whether name is a label the scraper sets on every series
// itself (or Prometheus does: job); a pod label mapped to one would be overwritten, so
// PodLabels refuses it.
func isScraperLabel(name string) bool {
	switch name {
	case "__name__", "namespace", "pod", "instance", "job":
		return true
	}
	return false
}

// validatePodLabels checks PodLabels: each a Kubernetes label key, mapped to a valid
// Prometheus label name that no other key and no scraper label takes.
func validatePodLabels(keys []string) error {
	seen := map[string]string{}
	for _, key := range keys {
		if errs := validation.IsQualifiedName(key); len(errs) > 0 {
			return fmt.Errorf("PodLabels: %q is not a Kubernetes label key: %s", key, strings.Join(errs, "; "))
		}
		name := mappedPodLabelName(key)
		if !model.LegacyValidation.IsValidLabelName(name) {
			return fmt.Errorf("PodLabels: %q maps to %q, not a valid Prometheus label name", key, name)
		}
		if isScraperLabel(name) {
			return fmt.Errorf("PodLabels: %q maps to %q, a label the scraper sets itself", key, name)
		}
		if other, dup := seen[name]; dup {
			if other == key {
				return fmt.Errorf("PodLabels: %q is given twice", key)
			}
			return fmt.Errorf("PodLabels: %q and %q both map to %q", other, key, name)
		}
		seen[name] = key
	}
	return nil
}

// targetPodLabels returns the configured pod labels the pod carries, mapped. A key the
// pod lacks, or has with an empty value, gives no label, as in Prometheus (a label with
// an empty value is no label).
func targetPodLabels(keys []string, podLabels map[string]string) []podLabel {
	var out []podLabel
	for _, key := range keys {
		if v := podLabels[key]; v != "" {
			out = append(out, podLabel{name: mappedPodLabelName(key), value: v})
		}
	}
	return out
}

// setTargetLabels adds the scraper's labels of a sample to m, its exposed labels: pod
// and the mapped pod labels. An exposed label of the same name is kept as
// exported_<name> (Prometheus' honor_labels: false), unless its value is empty:
// Prometheus renames only a value, an empty one being no label.
func setTargetLabels(m map[string]string, pod string, mapped []podLabel) {
	if v := m["pod"]; v != "" {
		m[exportedName(m, "pod")] = v
	}
	for _, l := range mapped {
		if v := m[l.name]; v != "" {
			m[exportedName(m, l.name)] = v
		}
	}
	m["pod"] = pod
	for _, l := range mapped {
		m[l.name] = l.value
	}
}

// seriesLabels turns a sample's labels (exposed, __name__, pod and the mapped pod labels)
// into its series' labels, adding namespace and instance (<pod IP>:<port>, IPv6
// bracketed) as Prometheus' pod discovery sets them; an exposed label of either name
// becomes exported_<name>, and so does an exposed job: a Prometheus server's scrape job
// sets job on every series it scrapes, so the exposed one is exported_job there (the
// scrape config of docs/backends.md then drops the job's own).
func seriesLabels(b *labels.Builder, m map[string]string, namespace, instance string) labels.Labels {
	b.Reset(labels.EmptyLabels())
	for k, v := range m {
		b.Set(k, v)
	}
	for _, l := range [...]struct{ name, value string }{{"namespace", namespace}, {"instance", instance}} {
		if v := m[l.name]; v != "" {
			b.Set(exportedName(m, l.name), v)
		}
		b.Set(l.name, l.value)
	}
	if v := m[jobLabel]; v != "" {
		b.Set(exportedName(m, jobLabel), v)
		b.Del(jobLabel)
	}
	return b.Labels()
}

// jobLabel is the label a Prometheus server's scrape job sets on every series: an
// exposed one is kept as exported_job in the series the source stores and returns.
const jobLabel = "job"
