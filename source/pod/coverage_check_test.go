package pod

import "time"

// check is assess without the rates to narrow, for the tests that read its error,
// warnings and estimate.
func (c coverage) check(name, expr string, at time.Time) (error, []string, *PartialWindowError) {
	err, warnings, estimate, _ := c.assess(name, expr, at)
	return err, warnings, estimate
}
