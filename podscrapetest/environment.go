package podscrapetest

import (
	"fmt"
	"os"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// Options configures Start. The zero value finds the binaries through KUBEBUILDER_ASSETS,
// else in the podscrape repository.
type Options struct {
	// BinaryAssetsDirectory holds kube-apiserver and etcd. Empty: KUBEBUILDER_ASSETS,
	// else bin/k8s of the podscrape repository the test runs in.
	BinaryAssetsDirectory string
}

// Environment is a running kube-apiserver and etcd, on which NewService creates Services
// with loopback pods. Create it with Start and Stop it when done. Its fields are
// read-only; it is safe for concurrent use.
type Environment struct {
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Client is an uncached administrator client that knows the built-in kinds; a
	// PodScrapingSource can read through it.
	Client client.Client

	cp    *localcluster.ControlPlane
	block *localcluster.AddressBlock
}

// Start starts an API server and etcd (about 5 s). The caller must Stop it; on Linux, a
// test binary that ends without Stop (a test panicked, the binary was killed) does not
// leave them running: they are killed and their directories removed then.
func Start(opts Options) (*Environment, error) {
	cp, err := localcluster.Start(localcluster.Options{BinaryDir: opts.BinaryAssetsDirectory})
	if err != nil {
		return nil, fmt.Errorf("podscrapetest: %w", err)
	}
	return &Environment{Config: cp.Config, Client: cp.Client, cp: cp, block: localcluster.NewAddressBlock()}, nil
}

// Stop stops the API server and etcd and removes their data. Close the Services first:
// Stop does not stop their pods' servers.
func (e *Environment) Stop() error {
	if err := e.cp.Stop(); err != nil {
		return fmt.Errorf("podscrapetest: stop: %w", err)
	}
	return nil
}

// Run starts an Environment into *env, runs a package's tests (m.Run of its TestMain's
// *testing.M), stops the Environment and returns the tests' exit code: the body of a
// TestMain whose tests share one API server. A failed start exits the process with a
// message; a failed stop is reported on stderr and leaves the code as the tests set it.
//
//	var env *podscrapetest.Environment
//
//	func TestMain(m *testing.M) { os.Exit(podscrapetest.Run(m, podscrapetest.Options{}, &env)) }
func Run(m interface{ Run() int }, opts Options, env **Environment) int {
	e, err := Start(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return code
}

// WriteKubeconfig writes a kubeconfig file at path (mode 0600) that reaches the API
// server as Config does, with namespace as its context's namespace: what a program under
// test loads with clientcmd, as it would in a cluster. The file holds credentials: keep
// it in a test's temporary directory.
func (e *Environment) WriteKubeconfig(path, namespace string) error {
	return localcluster.WriteKubeconfig(e.Config, namespace, path)
}
