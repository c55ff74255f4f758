// Package parity holds the differential tests of podscrape against the real Prometheus
// server: the same pods, the same queries, the same instant, the same answers.
package parity

import (
	"os"
	"testing"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// cp is the control plane the tests share; each test works in a namespace of its own.
var cp *localcluster.ControlPlane

func TestMain(m *testing.M) {
	os.Exit(localcluster.Run(localcluster.Options{Progress: os.Stderr}, func(c *localcluster.ControlPlane) int {
		cp = c
		return m.Run()
	}))
}
