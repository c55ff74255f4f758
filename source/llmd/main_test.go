package llmd_test

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/podscrape/podscrape/podscrapetest"
)

// env is the API server the tests share, each Service in its own namespace.
var env *podscrapetest.Environment

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	os.Exit(podscrapetest.Run(m, podscrapetest.Options{}, &env))
}
