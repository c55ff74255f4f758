// Package localcluster runs a real local control plane (kube-apiserver and etcd through
// controller-runtime's envtest) and real HTTP servers on loopback pod IPs, for the demo
// and the end-to-end tests.
//
// # Binaries
//
// kube-apiserver and etcd are built from the Go module proxy by tools/envtest into
// bin/k8s/ (hack/build-envtest.sh); KUBEBUILDER_ASSETS names another directory. Start
// builds them when they are missing.
//
// # Network
//
// Pods get loopback addresses only (127.0.0.0/8 and ::1), each served by an HTTP server
// bound to that address: nothing here ever sends traffic off the machine.
package localcluster
