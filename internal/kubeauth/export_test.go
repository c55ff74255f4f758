package kubeauth

import "time"

// The cache's lifetimes, for the tests that hold the cache to them.
const (
	TokenTTL   = tokenTTL
	AllowedTTL = allowedTTL
	DeniedTTL  = deniedTTL
)

// SetClock makes f read the time from now.
func (f *Filter) SetClock(now func() time.Time) { f.now = now }
