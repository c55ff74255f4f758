package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// scraperEnv makes this test binary a scraper process for BenchmarkVersusPrometheus: a
// PodScrapingSource with the autoscaler's vLLM queries and its scrape loop, alone in its
// process, so its CPU and memory are measured as Prometheus' are.
const scraperEnv = "PODSCRAPE_SCRAPER"

// runScraper runs the scraper the env describes ("kubeconfig namespace service port
// interval") until its stdin closes; it prints "ready" once its first scrape is stored.
// It returns false when the process is not a scraper.
func runScraper() bool {
	spec := strings.Fields(os.Getenv(scraperEnv))
	if len(spec) == 0 {
		return false
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "scraper:", err)
		os.Exit(1)
	}
	if len(spec) != 5 {
		fail(fmt.Errorf("%s=%q: want kubeconfig namespace service port interval", scraperEnv, os.Getenv(scraperEnv)))
	}
	port, err := strconv.Atoi(spec[3])
	if err != nil {
		fail(err)
	}
	interval, err := time.ParseDuration(spec[4])
	if err != nil {
		fail(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", spec[0])
	if err != nil {
		fail(err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	src, err := pod.NewPodScrapingSource(ctx, c, pod.PodScrapingSourceConfig{
		ServiceName: spec[2], ServiceNamespace: spec[1], MetricsPort: int32(port),
		MaxConcurrentScrapes: 50, ScrapeInterval: interval,
	})
	if err != nil {
		fail(err)
	}
	if err := llmd.Register(src.QueryList(), llmd.VLLMQueries()); err != nil {
		fail(err)
	}
	if _, err := src.Refresh(ctx, source.RefreshSpec{Queries: []string{llmd.QueueLength},
		Params: map[string]string{source.ParamNamespace: spec[1], source.ParamModelID: "m"}}); err != nil {
		fail(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = src.Start(ctx)
	}()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
	<-done
	src.Close()
	os.Exit(0)
	return true
}

// scraperProcess is a running scraper child.
type scraperProcess struct {
	cmd   *exec.Cmd
	stdin io.Closer
}

// startScraper starts a scraper child and waits until it is ready.
func startScraper(b *testing.B, kubeconfig, namespace, service string, port int32, interval time.Duration) *scraperProcess {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %s %d %s", scraperEnv, kubeconfig, namespace, service, port, interval))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || strings.TrimSpace(line) != "ready" {
		b.Fatalf("scraper: %q, %v", line, err)
	}
	return &scraperProcess{cmd: cmd, stdin: stdin}
}

// stop ends the scraper and waits for it.
func (p *scraperProcess) stop() error {
	_ = p.stdin.Close()
	return p.cmd.Wait()
}
