package localcluster

// ChildPIDs exposes childPIDs to the reaper's test.
var ChildPIDs = childPIDs

// Dirs returns the control plane's data and certificate directories.
func (cp *ControlPlane) Dirs() []string {
	return []string{cp.env.ControlPlane.Etcd.DataDir, cp.env.ControlPlane.GetAPIServer().CertDir}
}

// Reap has the control plane's reaper kill it now, as when Stop failed.
func (cp *ControlPlane) Reap() { cp.reaper.reap() }
