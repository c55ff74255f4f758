// Package prombackend tests source/prometheus against the real Prometheus server
// scraping loopback pods: it answers every query of the autoscaler as the pod source
// does, through both public APIs at the same instant, and fails as an autoscaler needs
// when the server is down, slow, refuses a query or restarts.
package prombackend

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
