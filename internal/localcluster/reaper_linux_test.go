package localcluster_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// orphanHelperEnv makes the test binary, in TestMain, the helper of
// TestControlPlaneDiesWithItsParent instead of running tests.
const orphanHelperEnv = "LOCALCLUSTER_ORPHAN_HELPER"

// orphanHelper starts a control plane, prints its processes' pids and directories, and
// panics without stopping it: a test binary whose test panicked.
func orphanHelper() int {
	c, err := localcluster.Start(localcluster.Options{})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	var pids []string
	dirs := c.Dirs() // etcd's data, the API server's certificates
	for name, arg := range map[string]string{"kube-apiserver": "--cert-dir=" + dirs[1], "etcd": "--data-dir=" + dirs[0]} {
		dir, _ := localcluster.BinaryDir(nil)
		exe, _ := filepath.EvalSymlinks(filepath.Join(dir, name))
		found, err := localcluster.ChildPIDs(os.Getpid(), exe, arg)
		if err != nil || len(found) != 1 {
			fmt.Printf("error: children running %s: %v, %v\n", exe, found, err)
			return 1
		}
		pids = append(pids, strconv.Itoa(found[0]))
	}
	fmt.Printf("pids %s dirs %s\n", strings.Join(pids, ","), strings.Join(dirs, ","))
	panic("a test panicked")
}

// TestControlPlaneDiesWithItsParent: a test binary that panics (or is killed) without
// stopping its control plane leaves neither kube-apiserver nor etcd running, nor their
// directories behind.
func TestControlPlaneDiesWithItsParent(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), orphanHelperEnv+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	_ = cmd.Wait() // it panicked
	var pidList, dirList string
	if _, err := fmt.Sscanf(line, "pids %s dirs %s", &pidList, &dirList); err != nil {
		t.Fatalf("helper said %q: %v", line, err)
	}
	var pids []int
	for _, s := range strings.Split(pidList, ",") {
		pid, _ := strconv.Atoi(s)
		pids = append(pids, pid)
	}
	t.Cleanup(func() { // a failed run must not leave them either
		for _, pid := range pids {
			if running(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		for _, dir := range strings.Split(dirList, ",") {
			_ = os.RemoveAll(dir)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for _, pid := range pids {
		for running(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("pid %d is still running after its parent, the test binary, panicked", pid)
			}
			time.Sleep(20 * time.Millisecond) // polling the process table
		}
	}
	for _, dir := range strings.Split(dirList, ",") {
		for {
			if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("directory %s is still there after its control plane was killed", dir)
			}
			time.Sleep(20 * time.Millisecond) // polling the file system
		}
	}
}

// running reports whether pid is a live process (not a zombie awaiting its reaping).
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// TestReaperKillsOnlyItsOwnControlPlane: a process running two control planes (a test
// starting its own beside TestMain's) gives each a reaper that kills only its own
// processes, when its Stop failed or the process ends.
func TestReaperKillsOnlyItsOwnControlPlane(t *testing.T) {
	own, err := localcluster.Start(localcluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dirs := own.Dirs()
	dir, err := localcluster.BinaryDir(nil)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for name, arg := range map[string]string{"kube-apiserver": "--cert-dir=" + dirs[1], "etcd": "--data-dir=" + dirs[0]} {
		exe, _ := filepath.EvalSymlinks(filepath.Join(dir, name))
		found, err := localcluster.ChildPIDs(os.Getpid(), exe, arg)
		if err != nil || len(found) != 1 {
			t.Fatalf("children running %s %s: %v, %v", exe, arg, found, err)
		}
		pids = append(pids, found[0])
	}
	own.Reap()
	deadline := time.Now().Add(30 * time.Second)
	for _, pid := range pids {
		for running(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("pid %d of the reaped control plane is still running", pid)
			}
			time.Sleep(20 * time.Millisecond) // polling the process table
		}
	}
	_ = own.Stop() // its processes are gone: only the directories are left to remove
	var nss corev1.NamespaceList
	if err := cp.Client.List(t.Context(), &nss); err != nil {
		t.Fatalf("the package's control plane after another's reaper ran: %v", err)
	}
}
