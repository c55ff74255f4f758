package source

import "context"

var _ MetricsSource = (*NoOpSource)(nil)

// NoOpSource is a MetricsSource that collects nothing: a placeholder where a backend is
// optional, and a stand-in in tests. Its query list starts empty; queries registered on
// it are accepted and never run. Create it with NewNoOpSource; it is safe for concurrent
// use.
type NoOpSource struct {
	queries *QueryList
}

// NewNoOpSource returns a NoOpSource with an empty query list.
func NewNoOpSource() *NoOpSource {
	return &NoOpSource{queries: NewQueryList()}
}

// QueryList returns the source's query registry.
func (n *NoOpSource) QueryList() *QueryList { return n.queries }

// Refresh returns an empty map, which is the caller's, and a nil error.
func (n *NoOpSource) Refresh(context.Context, RefreshSpec) (map[string]*MetricResult, error) {
	return map[string]*MetricResult{}, nil
}

// Get returns nil: nothing is ever cached.
func (n *NoOpSource) Get(string, map[string]string) *CachedValue { return nil }
