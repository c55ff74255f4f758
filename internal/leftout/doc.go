// Package leftout words the warnings that say an answer leaves out pods holding series
// the query reads (pods no longer scraped because they turned not Ready or finished,
// and, from podscrape serve, pods whose scrape failed), for the pod source and podscrape
// serve that write them and the CLI that recognises them: an empty answer with such a
// warning is not a query that matched nothing. Pods, Are and Their count pods in
// English for any message ("1 pod is", "2 pods are").
package leftout
