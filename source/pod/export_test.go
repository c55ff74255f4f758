package pod

import "github.com/podscrape/podscrape/internal/localcluster"

// ControlPlane gives the package's external tests (the Examples) the control plane
// TestMain started.
func ControlPlane() *localcluster.ControlPlane { return cp }
