package pod_test

import (
	"errors"
	"fmt"

	"github.com/podscrape/podscrape/source/pod"
)

// A config read from a file of its own is checked without building a source; the
// *ConfigError names the field at fault, so the caller can point at its own key for it.
func ExamplePodScrapingSourceConfig_Validate() {
	keys := map[string]string{"MetricsPort": "port", "MetricsPath": "path", "PodLabels": "podLabels"}
	for _, cfg := range []pod.PodScrapingSourceConfig{
		{ServiceName: "vllm", ServiceNamespace: "llm-d", MetricsPort: 8000},
		{ServiceName: "vllm", ServiceNamespace: "llm-d", MetricsPort: 8000, MetricsPath: "metrics"},
		{ServiceName: "vllm", ServiceNamespace: "llm-d", MetricsPort: 8000, PodLabels: []string{"llm-d.ai/variant", "pod"}},
	} {
		err := cfg.Validate()
		var ce *pod.ConfigError
		if errors.As(err, &ce) {
			fmt.Printf("%s (%s): %v\n", keys[ce.Field], ce.Field, err)
			continue
		}
		fmt.Println("valid:", err == nil)
	}
	// Output:
	// valid: true
	// path (MetricsPath): MetricsPath "metrics" does not start with "/"
	// podLabels (PodLabels): PodLabels: "pod" maps to "pod", a label the scraper sets itself
}
