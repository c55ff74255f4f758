package pod

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// validateNames refuses object names the API server could never hold, as it validates
// them: a Service name is a DNS-1035 label, a namespace a DNS-1123 label, a Secret name
// a DNS-1123 subdomain. Without it such a name reads as "not found" later.
func (c *PodScrapingSourceConfig) validateNames() error {
	for _, f := range []struct {
		field, value string
		check        func(string) []string
	}{
		{"ServiceName", c.ServiceName, validation.IsDNS1035Label},
		{"ServiceNamespace", c.ServiceNamespace, validation.IsDNS1123Label},
		{"MetricsReaderSecretName", c.MetricsReaderSecretName, validation.IsDNS1123Subdomain},
		{"MetricsReaderSecretNamespace", c.MetricsReaderSecretNamespace, validation.IsDNS1123Label},
	} {
		if f.value == "" {
			continue // required ones are checked before; optional ones default
		}
		if errs := f.check(f.value); len(errs) > 0 {
			return fmt.Errorf("%s %q is not a valid Kubernetes name: %s", f.field, f.value, strings.Join(errs, "; "))
		}
	}
	return nil
}
