// Package e2e holds the end-to-end tests of podscrape: a real kube-apiserver and etcd
// (envtest) and real HTTP servers on loopback pod IPs.
package e2e
