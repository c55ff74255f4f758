package source

import (
	"errors"
	"testing"
	"time"
)

func TestMetricValueStaleAndAge(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name      string
		ts        time.Time
		wantStale bool // IsStale(time.Minute)
		minAge    time.Duration
		maxAge    time.Duration
	}{
		{"no timestamp", time.Time{}, true, 0, 0},
		{"an hour old", now.Add(-time.Hour), true, time.Hour, 2 * time.Hour},
		{"just taken", now, false, 0, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := MetricValue{Timestamp: tc.ts}
			if got := v.IsStale(time.Minute); got != tc.wantStale {
				t.Errorf("IsStale(1m): got %v, want %v", got, tc.wantStale)
			}
			if got := v.Age(); got < tc.minAge || got > tc.maxAge {
				t.Errorf("Age: got %v, want in [%v, %v]", got, tc.minAge, tc.maxAge)
			}
		})
	}
}

func TestMetricResultHelpers(t *testing.T) {
	now := time.Now()
	old := now.Add(-time.Hour)
	fresh := MetricValue{Value: 1, Timestamp: now}
	stale := MetricValue{Value: 2, Timestamp: old}
	failed := errors.New("scrape failed")
	for _, tc := range []struct {
		name       string
		r          *MetricResult
		wantStale  bool // IsStale(time.Minute)
		wantOldest time.Time
		wantError  bool
		wantFirst  float64
		minAge     time.Duration
	}{
		{"nil", nil, true, time.Time{}, false, 0, 0},
		{"no values", &MetricResult{}, true, time.Time{}, false, 0, 0},
		{"fresh", &MetricResult{Values: []MetricValue{fresh}}, false, now, false, 1, 0},
		{"one stale value makes it stale", &MetricResult{Values: []MetricValue{fresh, stale}}, true, old, false, 1, time.Hour},
		{"error with values", &MetricResult{Values: []MetricValue{stale, fresh}, Error: failed}, true, old, true, 2, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.IsStale(time.Minute); got != tc.wantStale {
				t.Errorf("IsStale(1m): got %v, want %v", got, tc.wantStale)
			}
			if got := tc.r.OldestTimestamp(); !got.Equal(tc.wantOldest) {
				t.Errorf("OldestTimestamp: got %v, want %v", got, tc.wantOldest)
			}
			if got := tc.r.HasError(); got != tc.wantError {
				t.Errorf("HasError: got %v, want %v", got, tc.wantError)
			}
			if got := tc.r.FirstValue().Value; got != tc.wantFirst {
				t.Errorf("FirstValue: got %v, want %v", got, tc.wantFirst)
			}
			if got := tc.r.Age(); got < tc.minAge || (tc.minAge == 0 && got > time.Minute) {
				t.Errorf("Age: got %v, want at least %v", got, tc.minAge)
			}
		})
	}
}

func TestNoOpSource(t *testing.T) {
	s := NewNoOpSource()
	s.QueryList().MustRegister(QueryTemplate{Name: "q", Type: QueryTypeMetricName, Template: "m"})
	results, err := s.Refresh(t.Context(), RefreshSpec{Queries: []string{"q"}})
	if err != nil || results == nil || len(results) != 0 {
		t.Fatalf("Refresh: got %v, %v; want an empty map and no error", results, err)
	}
	if got := s.Get("q", nil); got != nil || !got.IsExpired() {
		t.Fatalf("Get: got %+v, want nil (expired)", got)
	}
	if got := s.QueryList().List(); len(got) != 1 {
		t.Fatalf("QueryList: got %v, want the registered query", got)
	}
}
