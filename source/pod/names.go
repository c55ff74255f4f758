package pod

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// validateNames refuses object names the API server could never hold, as it validates
// them: a Service name and a namespace are DNS-1123 labels, a Secret name a DNS-1123
// subdomain. Without it such a name reads as "not found" later. A Service name is
// checked as a DNS-1123 label, not the older DNS-1035 one: API servers with relaxed
// Service name validation (RelaxedServiceNameValidation: on by default from Kubernetes
// 1.36, GA in 1.37) hold Services whose name starts with a digit, and refusing a name
// that exists is worse than reporting it missing.
func (c *PodScrapingSourceConfig) validateNames() error {
	for _, f := range []struct {
		field, value string
		check        func(string) []string
	}{
		{"ServiceName", c.ServiceName, validation.IsDNS1123Label},
		{"ServiceNamespace", c.ServiceNamespace, validation.IsDNS1123Label},
		{"MetricsReaderSecretName", c.MetricsReaderSecretName, validation.IsDNS1123Subdomain},
		{"MetricsReaderSecretNamespace", c.MetricsReaderSecretNamespace, validation.IsDNS1123Label},
	} {
		if f.value == "" {
			continue // required ones are checked before; optional ones default
		}
		if errs := f.check(f.value); len(errs) > 0 {
			return configError(f.field, "%s %q is not a valid Kubernetes name: %s", f.field, f.value, strings.Join(errs, "; "))
		}
	}
	return nil
}
