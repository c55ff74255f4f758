// Package llmd holds the PromQL queries llm-d's workload-variant-autoscaler registers,
// so an application can answer them from any source: a PodScrapingSource (direct scrapes
// of the vLLM and EPP pods, no Prometheus server) or a Prometheus-backed source.
//
// Each query takes the params source.ParamNamespace and source.ParamModelID;
// model_request_count also takes ParamRetentionPeriod. vLLM queries suit a source over the
// vLLM Service; the scheduler queries, a source over the EPP Service.
package llmd
