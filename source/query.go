package source

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// QueryType says how a QueryTemplate's Template is read.
type QueryType string

const (
	// QueryTypeMetricName is a plain metric name (e.g. "vllm:num_requests_waiting"), for
	// backends without a query language such as pod scraping.
	QueryTypeMetricName QueryType = "metric"
	// QueryTypePromQL is a PromQL expression, for backends that evaluate PromQL.
	QueryTypePromQL QueryType = "promql"
)

// QueryTemplate is a registered query.
type QueryTemplate struct {
	// Name identifies the query; results and cache entries are keyed by it. Required.
	Name string
	// Type says how Template is read. Required.
	Type QueryType
	// Template is the metric name or PromQL expression. Required.
	Template string
	// Params names the parameters the Template expects from RefreshSpec.Params.
	Params []string
	// Description says what the query is for, for people reading the registry.
	Description string
}

// QueryList is a registry of QueryTemplates by name. The zero value is not usable; use
// NewQueryList. It is safe for concurrent use.
type QueryList struct {
	mu      sync.RWMutex // protects queries
	queries map[string]QueryTemplate
}

// NewQueryList returns an empty QueryList.
func NewQueryList() *QueryList {
	return &QueryList{queries: make(map[string]QueryTemplate)}
}

// Register adds q. It refuses a query without a name, type or template, a type it does
// not know, a name already registered, and a template no params can fill: a PromQL
// template with a {{ not closed by }} or an action other than {{.param}}, and a
// metric-name template holding {{ (metric names are not filled: the placeholder would be
// sent as part of the name, which matches nothing, an empty answer with no error).
func (l *QueryList) Register(q QueryTemplate) error {
	switch {
	case q.Name == "":
		return fmt.Errorf("register query: Name is empty")
	case q.Template == "":
		return fmt.Errorf("register query %q: Template is empty", q.Name)
	case q.Type != QueryTypeMetricName && q.Type != QueryTypePromQL:
		return fmt.Errorf("register query %q: Type %q is not %q or %q", q.Name, q.Type, QueryTypeMetricName, QueryTypePromQL)
	case q.Type == QueryTypeMetricName && strings.Contains(q.Template, "{{"):
		return fmt.Errorf("register query %q: Template %q holds {{, but a %q query is a metric name and is not filled: use %q for a template",
			q.Name, q.Template, QueryTypeMetricName, QueryTypePromQL)
	}
	if q.Type == QueryTypePromQL {
		if err := checkTemplate(q.Template); err != nil {
			return fmt.Errorf("register query %q: %w", q.Name, err)
		}
	}
	q.Params = slices.Clone(q.Params)
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.queries[q.Name]; ok {
		return fmt.Errorf("register query %q: already registered", q.Name)
	}
	l.queries[q.Name] = q
	return nil
}

// MustRegister is Register that panics on error, for registration at start-up.
func (l *QueryList) MustRegister(q QueryTemplate) {
	if err := l.Register(q); err != nil {
		panic(err)
	}
}

// Get returns a copy of the query registered under name, or nil when none is: the
// signature of the upstream autoscaler's QueryList.Get, so its code reading a query back
// (`q := src.QueryList().Get(name)`) compiles here unchanged. Changing the copy changes
// nothing registered.
func (l *QueryList) Get(name string) *QueryTemplate {
	q, ok := l.lookup(name)
	if !ok {
		return nil
	}
	return &q
}

// lookup returns a copy of the query registered under name, and whether there is one.
func (l *QueryList) lookup(name string) (QueryTemplate, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	q, ok := l.queries[name]
	q.Params = slices.Clone(q.Params)
	return q, ok
}

// List returns the registered query names, sorted. The slice is the caller's.
func (l *QueryList) List() []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	names := make([]string, 0, len(l.queries))
	for name := range l.queries {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Resolve returns the registered queries named by names, sorted by name and each once;
// no names means every registered query. An unknown name is an error that lists the
// registered ones. The templates are copies: the caller's.
func (l *QueryList) Resolve(names []string) ([]QueryTemplate, error) {
	names = slices.Clone(names)
	if len(names) == 0 {
		names = l.List()
	}
	slices.Sort(names)
	names = slices.Compact(names)
	queries := make([]QueryTemplate, 0, len(names))
	for _, name := range names {
		q, ok := l.lookup(name)
		if !ok {
			return nil, fmt.Errorf("unknown query %q (registered: %s)", name, strings.Join(l.List(), ", "))
		}
		queries = append(queries, q)
	}
	return queries, nil
}
