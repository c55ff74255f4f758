package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// scraperProcess is a running hack/benchscraper: a PodScrapingSource with the
// autoscaler's vLLM queries and its scrape loop, in a small binary of its own, so that
// BenchmarkVersusPrometheus measures it as the Prometheus server is measured.
type scraperProcess struct {
	cmd   *exec.Cmd
	stdin io.Closer
}

// startScraper builds hack/benchscraper and starts it on the Service, and waits until
// its first scrape is stored.
func startScraper(b *testing.B, kubeconfig, namespace, service string, port int32, interval time.Duration, concurrency int) *scraperProcess {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "benchscraper")
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.Command(goCmd, "build", "-o", bin, "../../hack/benchscraper")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		b.Fatalf("go build hack/benchscraper: %v", err)
	}
	cmd := exec.Command(bin, "-kubeconfig", kubeconfig, "-namespace", namespace, "-service", service,
		"-port", fmt.Sprint(port), "-interval", interval.String(), "-concurrency", fmt.Sprint(concurrency))
	stdin, line := startChild(b, cmd)
	if line != "ready" {
		b.Fatalf("benchscraper: printed %q, want ready", line)
	}
	return &scraperProcess{cmd: cmd, stdin: stdin}
}

// stop ends the scraper and waits for it.
func (p *scraperProcess) stop() error {
	_ = p.stdin.Close()
	return p.cmd.Wait()
}
