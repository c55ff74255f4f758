package promserver

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestStartExitNamesBinaryAndWraps: a server that exits before it is ready (here, on a
// config it refuses) is an error naming the binary that wraps the process' own, so that
// errors.As finds its *exec.ExitError.
func TestStartExitNamesBinaryAndWraps(t *testing.T) {
	bin, err := binary("", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(context.Background(), Options{Binary: bin, Config: "scrape_configs: [not a map"})
	if err == nil {
		_ = s.Stop()
		t.Fatal("Start with a broken config succeeded")
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Errorf("errors.As(%v, *exec.ExitError) = false, want the process' exit wrapped", err)
	}
	if want := "prometheus " + bin + " exited before it was ready"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}
