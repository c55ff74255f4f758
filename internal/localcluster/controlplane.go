package localcluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ControlPlane is a running kube-apiserver and etcd.
type ControlPlane struct {
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Client is an uncached administrator client.
	Client client.Client

	env    *envtest.Environment
	reaper *reaper // kills the processes if this one ends without Stop
	// users serialises AddUser: envtest's certificate authority is not safe for
	// concurrent use (its serial number is a shared big.Int), and parallel tests add users.
	users sync.Mutex
}

// Options configures Start.
type Options struct {
	// Progress receives build progress when the binaries must be built first. Nil: discard.
	Progress io.Writer
	// BinaryDir holds kube-apiserver and etcd. Empty: see BinaryDir.
	BinaryDir string
}

// Start builds the control-plane binaries if needed and starts them. Stop it when done.
func Start(opts Options) (*ControlPlane, error) {
	dir := opts.BinaryDir
	if dir == "" {
		var err error
		if dir, err = BinaryDir(opts.Progress); err != nil {
			return nil, err
		}
	}
	// envtest's own error for a missing binary names neither the build command nor the
	// variable: check first, and say how to get them.
	var missing []string
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("control-plane binaries: %s has no %s: %s", dir, strings.Join(missing, " or "), buildHint)
	}
	env := &envtest.Environment{BinaryAssetsDirectory: dir}
	// Explicit paths: envtest would otherwise prefer KUBEBUILDER_ASSETS even when it is
	// set but empty, and then look the binaries up in PATH.
	apiserver, etcd := filepath.Join(dir, "kube-apiserver"), filepath.Join(dir, "etcd")
	env.ControlPlane.GetAPIServer().Path = apiserver
	env.ControlPlane.Etcd = &envtest.Etcd{Path: etcd}
	// Dual-stack Services, as a dual-stack cluster's: IPv4 first (a Service without
	// ipFamilies stays single-stack IPv4, envtest's default), and an IPv6 range, so a
	// test can create a Service whose primary family is IPv6.
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.0.0.0/24,fd00:10:96::/112")
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start control plane from %s: %w", dir, err)
	}
	dataDir, certDir := env.ControlPlane.Etcd.DataDir, env.ControlPlane.GetAPIServer().CertDir
	// Each told by its directory from another control plane's this process runs.
	r, err := startReaper([]child{{apiserver, "--cert-dir=" + certDir}, {etcd, "--data-dir=" + dataDir}}, []string{dataDir, certDir})
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("start control plane: watch for this process's end, to stop kube-apiserver and etcd then: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		_ = env.Stop()
		_ = r.stop()
		return nil, fmt.Errorf("control plane client: %w", err)
	}
	return &ControlPlane{Config: cfg, Client: c, env: env, reaper: r}, nil
}

// child is a process of the control plane: its binary, and one of its command-line
// arguments that tells it from another control plane's.
type child struct{ binary, arg string }

// Stop stops the API server and etcd and removes their temporary directories. A process
// that ends without Stop (a test that panicked, a kill) does not leave them running: on
// Linux a watcher started with them kills them and removes their directories then.
func (cp *ControlPlane) Stop() error {
	err := cp.env.Stop()
	if cp.reaper == nil {
		return err
	}
	r := cp.reaper
	cp.reaper = nil
	if err != nil {
		// Stopped or not, make sure: the reaper kills what is left, as if this process
		// had ended.
		r.reap()
		return err
	}
	return r.stop()
}

// AddUser adds a user that is authenticated (by client certificate) but granted nothing,
// and returns a config acting as that user; grant it RBAC to test what it may do.
// It is safe for concurrent use.
func (cp *ControlPlane) AddUser(name string) (*rest.Config, error) {
	cp.users.Lock()
	defer cp.users.Unlock()
	u, err := cp.env.ControlPlane.AddUser(envtest.User{Name: name}, nil)
	if err != nil {
		return nil, fmt.Errorf("add user %s: %w", name, err)
	}
	return u.Config(), nil
}

// Scheme is the scheme of the built-in kinds the local cluster uses.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = corev1.AddToScheme(s)
	_ = rbacv1.AddToScheme(s)
	return s
}

// BinaryDir returns the directory holding kube-apiserver and etcd: KUBEBUILDER_ASSETS
// when set, else bin/k8s of this repository, built first (progress to w) when missing.
func BinaryDir(w io.Writer) (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	if w == nil {
		w = io.Discard
	}
	cmd := exec.Command(filepath.Join(root, "hack", "build-envtest.sh"))
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build control-plane binaries (hack/build-envtest.sh): %w", err)
	}
	return filepath.Join(root, "bin", "k8s"), nil
}

// ErrOutsideRepository is the error of BinaryDir (and so of Start) outside this
// repository with KUBEBUILDER_ASSETS unset: no bin/k8s to build the binaries into.
var ErrOutsideRepository = errors.New("not inside the podscrape repository and KUBEBUILDER_ASSETS is not set")

// buildHint says how a module outside this repository gets the control-plane binaries.
const buildHint = "build kube-apiserver and etcd once with 'go run github.com/podscrape/podscrape/tools/buildenvtest -o bin/k8s' " +
	"(from your module; about 8 minutes the first time) and set KUBEBUILDER_ASSETS=$PWD/bin/k8s"

// repoRoot finds this repository from the working directory: the nearest parent holding
// tools/envtest/go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "tools", "envtest", "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("control-plane binaries: %w: %s", ErrOutsideRepository, buildHint)
		}
		dir = parent
	}
}

// Run starts a control plane, calls run with it, stops it and returns run's result: the
// shape of a TestMain. Failures to start or stop are reported on stderr; a failed start
// returns 1 without calling run.
func Run(opts Options, run func(*ControlPlane) int) int {
	cp, err := Start(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := cp.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop control plane:", err)
		}
	}()
	return run(cp)
}
