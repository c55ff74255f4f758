package source

import (
	"fmt"
	"slices"
	"sync"
)

// SourceRegistry holds MetricsSources by name, so engines can look up the backend they
// were configured with. The zero value is not usable; use NewSourceRegistry. It is safe
// for concurrent use.
type SourceRegistry struct {
	mu      sync.RWMutex // protects sources
	sources map[string]MetricsSource
}

// NewSourceRegistry returns an empty SourceRegistry.
func NewSourceRegistry() *SourceRegistry {
	return &SourceRegistry{sources: make(map[string]MetricsSource)}
}

// Register adds s under name. It refuses an empty name, a nil source and a name already
// registered.
func (r *SourceRegistry) Register(name string, s MetricsSource) error {
	if name == "" {
		return fmt.Errorf("register source: name is empty")
	}
	if s == nil {
		return fmt.Errorf("register source %q: source is nil", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.sources[name]; ok {
		return fmt.Errorf("register source %q: already registered", name)
	}
	r.sources[name] = s
	return nil
}

// MustRegister is Register that panics on error, for registration at start-up.
func (r *SourceRegistry) MustRegister(name string, s MetricsSource) {
	if err := r.Register(name, s); err != nil {
		panic(err)
	}
}

// Get returns the source registered under name, or nil.
func (r *SourceRegistry) Get(name string) MetricsSource {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.sources[name]
}

// List returns the registered source names, sorted. The slice is the caller's.
func (r *SourceRegistry) List() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.sources))
	for name := range r.sources {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
