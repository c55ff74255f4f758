package kubeauth

import "time"

// The cache's lifetimes, for the tests that hold the cache to them.
const (
	TokenTTL   = tokenTTL
	AllowedTTL = allowedTTL
	DeniedTTL  = deniedTTL
)

// MaxKeptRequest is the longest verb and path, together, whose decision is kept.
const MaxKeptRequest = maxKeptRequest

// MaxTokenBytes is the longest Bearer token reviewed.
const MaxTokenBytes = maxTokenBytes

// KeptDecisions is the number of access decisions f keeps, expired ones included.
func (f *Filter) KeptDecisions() int {
	f.decisions.mu.Lock()
	defer f.decisions.mu.Unlock()
	return len(f.decisions.entries)
}

// SetClock makes f read the time from now.
func (f *Filter) SetClock(now func() time.Time) { f.now = now }
