package source

import (
	"context"
	"strings"
	"testing"
)

// ptrSource is a MetricsSource implemented on a pointer, as *pod.PodScrapingSource and
// *prometheus.PrometheusSource are; its methods dereference it, as theirs do.
type ptrSource struct{ q *QueryList }

func (s *ptrSource) QueryList() *QueryList { return s.q }
func (s *ptrSource) Refresh(context.Context, RefreshSpec) (map[string]*MetricResult, error) {
	return nil, nil
}
func (s *ptrSource) Get(string, map[string]string) *CachedValue { return nil }

// A failed constructor returns a nil *T; in the MetricsSource interface it is not == nil.
// Register and Update refuse it as a nil source, naming the source's name and its type,
// so the mistake shows where it is made and not at the first Refresh through Get.
func TestSourceRegistryRefusesNilPointer(t *testing.T) {
	var failed *ptrSource // what a constructor that failed returns
	r := NewSourceRegistry()
	for _, tc := range []struct {
		op   string
		call func() error
		want string
	}{
		{"Register", func() error { return r.Register("pods", failed) }, `register source "pods": source is nil (a nil *source.ptrSource)`},
		{"Update", func() error { return r.Update("pods", failed) }, `update source "pods": source is nil (a nil *source.ptrSource)`},
	} {
		if err := tc.call(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s of a nil *ptrSource: got %v, want an error containing %q", tc.op, err, tc.want)
		}
	}
	if got := r.List(); len(got) != 0 {
		t.Errorf("after refusing a nil pointer: List = %v, want empty", got)
	}
	// A non-nil pointer is a source.
	if err := r.Register("pods", &ptrSource{q: NewQueryList()}); err != nil {
		t.Errorf("Register of a non-nil *ptrSource: %v", err)
	}
}
