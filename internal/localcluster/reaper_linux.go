package localcluster

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// reaperScript waits for a line on its stdin, a pipe whose only writer is this process.
// "stop" is a clean Stop: it exits. End of file is this process gone without stopping
// the control plane (a test that panicked, a SIGKILL): it kills each pid still running
// its binary (so a pid reused since is left alone) and removes the processes'
// directories, what Stop would have done. Its arguments: pid and binary pairs, "--",
// then the directories.
const reaperScript = `read -r line
[ "$line" = stop ] && exit 0
while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
	[ "$(readlink "/proc/$1/exe")" = "$2" ] && kill -KILL "$1"
	shift 2
done
[ "$#" -gt 0 ] && shift
for dir in "$@"; do [ -n "$dir" ] && rm -rf -- "$dir"; done
exit 0
`

// reaper kills the control plane's processes when this process dies without Stop.
// envtest starts kube-apiserver and etcd in their own process groups and sets no parent
// death signal (its exec.Cmd is out of reach), so a test binary that panics or is
// killed leaves them running, holding their ports, memory and data directories. The
// reaper is a shell in its own process group (a ^C to the test does not reach it) that
// learns of this process's end from its stdin pipe closing, whatever the cause.
type reaper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startReaper starts a reaper for the running children of this process that children
// name, and for dirs.
func startReaper(children []child, dirs []string) (*reaper, error) {
	args := []string{"-c", reaperScript, "podscrape-localcluster-reaper"}
	for _, c := range children {
		exe, err := filepath.EvalSymlinks(c.binary)
		if err != nil {
			return nil, err
		}
		pids, err := childPIDs(os.Getpid(), exe, c.arg)
		if err != nil {
			return nil, err
		}
		if len(pids) == 0 {
			return nil, fmt.Errorf("no running child process of %s with argument %s", exe, c.arg)
		}
		for _, pid := range pids {
			args = append(args, strconv.Itoa(pid), exe)
		}
	}
	args = append(args, "--")
	args = append(args, dirs...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &reaper{cmd: cmd, stdin: stdin}, nil
}

// stop tells the reaper the control plane was stopped, and waits for it to exit.
func (r *reaper) stop() error {
	_, werr := io.WriteString(r.stdin, "stop\n")
	cerr := r.stdin.Close()
	if err := r.cmd.Wait(); err != nil {
		return fmt.Errorf("control-plane reaper: %w", err)
	}
	if werr != nil {
		return fmt.Errorf("control-plane reaper: %w", werr)
	}
	return cerr
}

// reap has the reaper kill what is left of the control plane now, as if this process
// had ended, and waits for it.
func (r *reaper) reap() {
	_ = r.stdin.Close()
	_ = r.cmd.Wait()
}

// childPIDs returns the pids of the running children of ppid whose executable is exe
// (a path with symlinks resolved) and whose command line holds arg, from /proc.
func childPIDs(ppid int, exe, arg string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 2 || fields[0] == "Z" || fields[1] != strconv.Itoa(ppid) {
			continue
		}
		if path, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err != nil || path != exe {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !slices.Contains(strings.Split(string(cmdline), "\x00"), arg) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids, nil
}
