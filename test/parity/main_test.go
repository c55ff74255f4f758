// Package parity holds the differential tests of podscrape against the real Prometheus
// server: the same pods, the same queries, the same instant, the same answers. The pod
// source is compared with the server's HTTP API (promql_test.go), and source/prometheus
// with the pod source through both public APIs, including how it fails when the server
// is down, slow, refuses a query or restarts (prombackend_*_test.go).
package parity

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// cp is the control plane the tests share; each test works in a namespace of its own.
var cp *localcluster.ControlPlane

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard()) // controller-runtime would warn that none was set
	os.Exit(localcluster.Run(localcluster.Options{Progress: os.Stderr}, func(c *localcluster.ControlPlane) int {
		cp = c
		return m.Run()
	}))
}
