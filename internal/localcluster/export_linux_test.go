package localcluster

// ChildPIDs exposes childPIDs to the reaper's test.
var ChildPIDs = childPIDs

// Dirs returns the control plane's data and certificate directories.
func (cp *ControlPlane) Dirs() []string {
	return []string{cp.env.ControlPlane.Etcd.DataDir, cp.env.ControlPlane.GetAPIServer().CertDir}
}
