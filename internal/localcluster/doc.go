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
//
// # An llm-d install
//
// InstallLLMD populates a control plane the way an llm-d install looks: an EPP Service
// whose pods protect /metrics with TokenReview and SubjectAccessReview (MetricsAuth), a
// metrics reader's ServiceAccount token minted with the TokenRequest API and stored in a
// Secret of another namespace, a vLLM Service whose pods are of two variants (the
// llm-d.ai/variant label) and include one not Ready and one terminating, and an SGLang
// Service. A Simulation drives the pods' metrics, in the real programs' names, types,
// HELP and labels, under a load that moves; a seed makes it reproducible.
//
// # Generations
//
// The simulated programs expose today's metrics by default (Current: vLLM's _total
// counters and engine label, the EPP's llm_d_epp_* names beside their deprecated twins,
// SGLang's sglang:* set, some families split by is_streaming), written from expositions
// captured from the programs (testdata/) and, for SGLang, its metrics collector. Previous
// selects the names of early 2026 (vLLM simulator v0.10.2, EPP v1.2.1, SGLang without
// is_streaming), so a consumer's fallbacks can be tested.
package localcluster
