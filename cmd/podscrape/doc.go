// Command podscrape scrapes Prometheus metrics straight from the Ready pods behind a
// Kubernetes Service, answers PromQL on them, serves Prometheus' HTTP API over them, and
// shows it working on a local control plane.
//
//	podscrape scrape SERVICE --port PORT [flags]        scrape a Service of a cluster
//	podscrape query 'EXPR' SERVICE --port PORT [flags]  evaluate PromQL on its pods (or --prometheus URL)
//	podscrape serve SERVICE --port PORT [flags]         Prometheus' HTTP API over its pods (or --config FILE)
//	podscrape demo [--once]                             an llm-d install on a local control plane
//
// Built with -tags nodemo, as .ko.yaml builds the image, the binary has no demo: it then
// links no local control plane (envtest), about 11 MB a cluster never runs.
//
// The command is thin: flags become a pod.PodScrapingSourceConfig (and a snapshot.Filter,
// or a serve.Config), the library scrapes, and internal/render writes the result. The kubectl flags
// (--kubeconfig, --context, -n, ...) are client-go's clientcmd, as kubectl reads them.
//
// # Exit codes
//
// 0 on success (some pods failing is still success: the output says which); 1 when the
// work failed (the Service or Secret is missing, every pod failed, the cluster is
// unreachable); 2 when the command line is wrong, with a message naming the flag; 141,
// with nothing printed, when stdout was closed ("| head"), as a shell reports git or
// kubectl killed by SIGPIPE there.
//
// docs/cli.md is the reference.
package main
