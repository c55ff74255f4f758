package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestKubectlPlugin installs the binary as kubectl-podscrape, the name kubectl looks for
// on PATH to run "kubectl podscrape": its help, usage and examples then show that
// command, and it scrapes.
func TestKubectlPlugin(t *testing.T) {
	t.Parallel()
	plugin := filepath.Join(t.TempDir(), "kubectl-podscrape")
	if err := os.Link(binary, plugin); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(plugin, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "kubectl podscrape [command]") {
		t.Errorf("help as a plugin: want usage naming \"kubectl podscrape\", got:\n%s", out)
	}
	if !strings.Contains(string(out), "  kubectl podscrape demo ") || strings.Contains(string(out), "\n  podscrape ") {
		t.Errorf("help as a plugin: want its command lines to say \"kubectl podscrape\", got:\n%s", out)
	}
	for _, sub := range []string{"scrape", "query"} {
		out, err := exec.Command(plugin, sub, "--help").CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !strings.Contains(string(out), "  kubectl podscrape "+sub+" ") || strings.Contains(string(out), "\n  podscrape ") {
			t.Errorf("%s --help as a plugin: want every example to say \"kubectl podscrape\", got:\n%s", sub, out)
		}
	}
	out, err = exec.Command(plugin, "--kubeconfig", kubeconfig, "scrape", llmd.VLLMService, "--port", port(llmd.VLLMPort), "--metric", "vllm:num_requests_waiting").CombinedOutput()
	if err != nil || !strings.Contains(string(out), llmd.VLLMPods[0]) {
		t.Errorf("scrape as a plugin: %v\n%s", err, out)
	}
}
