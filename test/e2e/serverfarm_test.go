package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// The benchmarks' pods are served by a child process (this test binary, re-executed with
// serverFarmEnv set), so the benchmarks count only the scraper's allocations and CPU, as
// in a cluster where the pods are other processes.
const serverFarmEnv = "PODSCRAPE_SERVER_FARM"

// runServerFarm serves the file named by the env on every address it lists, all on one
// port, prints the port, and serves until its stdin closes. It returns false when the
// process is not a server farm.
func runServerFarm() bool {
	spec := os.Getenv(serverFarmEnv) // "body-file ip1,ip2,..."
	if spec == "" {
		return false
	}
	file, list, _ := strings.Cut(spec, " ")
	body, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	servers, err := localcluster.ServeAll(strings.Split(list, ","), func(string) http.Handler { return serve(body) })
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(servers[0].Port)
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
	return true
}

// startServerFarm starts a child process serving bodyFile on ips and returns their port
// and the child's stdin: the child serves until that is closed or this process ends.
// Keep it referenced, or the garbage collector closes it.
func startServerFarm(b *testing.B, bodyFile string, ips []string) (int32, io.Closer) {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), serverFarmEnv+"="+bodyFile+" "+strings.Join(ips, ","))
	stdin, line := startChild(b, cmd)
	port, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		b.Fatalf("server farm port %q: %v", line, err)
	}
	return int32(port), stdin
}

// startChild starts cmd (its stderr ours) and returns its stdin, which ends it when
// closed, and the first line it prints, trimmed: its word that it is ready.
func startChild(b *testing.B, cmd *exec.Cmd) (io.WriteCloser, string) {
	b.Helper()
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
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("%s: %v", cmd.Path, err)
	}
	return stdin, strings.TrimSpace(line)
}
