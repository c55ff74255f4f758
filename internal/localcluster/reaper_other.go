//go:build !linux

package localcluster

// reaper is Linux only: elsewhere a test binary that dies without Stop leaves
// kube-apiserver and etcd running, as envtest does.
type reaper struct{}

func startReaper([]child, []string) (*reaper, error) { return &reaper{}, nil }

func (*reaper) stop() error { return nil }

func (*reaper) reap() {}
