package source

import (
	"fmt"
	"reflect"
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

// Register adds s under name. It refuses an empty name, a nil source (nil itself, or a
// nil pointer such as a failed constructor's nil *pod.PodScrapingSource) and a name
// already registered.
func (r *SourceRegistry) Register(name string, s MetricsSource) error {
	if name == "" {
		return fmt.Errorf("register source: name is empty")
	}
	if err := checkNotNil(s); err != nil {
		return fmt.Errorf("register source %q: %w", name, err)
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

// Update registers s under name, replacing the source registered there if any: the
// idempotent form of Register, for a reconciler that rebuilds a source when its object
// changes. It refuses an empty name and a nil source, as Register does. The replaced source is not closed:
// a caller that owns it (a *pod.PodScrapingSource holds idle connections and metric
// registrations) Gets it first and closes it after Update returns. Get and Update are
// two steps: rebuilds of one name must not run at once (a controller-runtime reconciler
// never reconciles one object in two workers at once), or a source one of them replaced
// between the other's Get and Update is never closed, its scrape loop running on.
func (r *SourceRegistry) Update(name string, s MetricsSource) error {
	if name == "" {
		return fmt.Errorf("update source: name is empty")
	}
	if err := checkNotNil(s); err != nil {
		return fmt.Errorf("update source %q: %w", name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sources[name] = s
	return nil
}

// checkNotNil refuses a nil source. A constructor that failed returns a nil *T, which
// in the interface is not == nil: stored, it would panic at the first Refresh through
// Get, far from the mistake.
func checkNotNil(s MetricsSource) error {
	if s == nil {
		return fmt.Errorf("source is nil")
	}
	switch v := reflect.ValueOf(s); v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		if v.IsNil() {
			return fmt.Errorf("source is nil (a nil %T)", s)
		}
	}
	return nil
}

// Unregister removes the source registered under name. It is idempotent: removing a name
// that is not registered does nothing, so a deletion that runs twice (a reconcile retry)
// is not an error; the error is always nil and is there for the upstream autoscaler's
// signature. The removed source is not closed (see Update).
func (r *SourceRegistry) Unregister(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.sources, name)
	return nil
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
