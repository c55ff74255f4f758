package llmd

import "github.com/podscrape/podscrape/source"

// Metric names of the EPP (llm-d-router's endpoint picker) that the scheduler queries
// read: the current llm_d_epp_* names and the deprecated names the same EPP still emits
// beside them (and older EPPs emit alone).
const (
	EPPFlowControlQueueSize        = "llm_d_epp_flow_control_queue_size"
	EPPFlowControlQueueBytes       = "llm_d_epp_flow_control_queue_bytes"
	EPPSchedulerAttempts           = "llm_d_epp_scheduler_attempts_total" // labels endpoint_name, namespace, port, status, target_model_name
	LegacyEPPFlowControlQueueSize  = "inference_extension_flow_control_queue_size"
	LegacyEPPFlowControlQueueBytes = "inference_extension_flow_control_queue_bytes"
	LegacyEPPSchedulerAttempts     = "inference_extension_scheduler_attempts_total" // says pod_name where the current one says endpoint_name
)

// schedulerAttemptsRate is the rate of successful scheduling attempts for the model,
// one family per EPP: the current one with endpoint_name copied to pod_name, else the
// legacy one (upstream's schedulerDispatchRate, epp.go).
const schedulerAttemptsRate = `label_replace(rate(` + EPPSchedulerAttempts + `{status="success",namespace="{{.namespace}}",target_model_name="{{.modelID}}"}[1m]), "pod_name", "$1", "endpoint_name", "(.+)")` +
	` or ignoring(endpoint_name) rate(` + LegacyEPPSchedulerAttempts + `{status="success",namespace="{{.namespace}}",target_model_name="{{.modelID}}"}[1m])`

// schedulerQueue sums the flow-control gauge current (or, series by series, legacy) for
// the model: by target_model_name, else by model_name of the series without one
// (upstream's schedulerQueue, epp.go).
func schedulerQueue(current, legacy string) string {
	return `sum(` + current + `{target_model_name="{{.modelID}}"} or ` + legacy + `{target_model_name="{{.modelID}}"})` +
		` or sum(` + current + `{model_name="{{.modelID}}",target_model_name=""} or ` + legacy + `{model_name="{{.modelID}}",target_model_name=""})`
}

// SchedulerQueries returns the autoscaler's queries over the EPPs' metrics, for a source
// over the EPP Service: scheduler_queue_size, scheduler_queue_bytes,
// scheduler_dispatch_rate and model_arrival_rate. The slice is the caller's.
func SchedulerQueries() []source.QueryTemplate {
	return []source.QueryTemplate{
		{Name: SchedulerQueueSize, Type: source.QueryTypePromQL, Params: params(source.ParamModelID),
			Template:    schedulerQueue(EPPFlowControlQueueSize, LegacyEPPFlowControlQueueSize),
			Description: "Total requests queued in scheduler flow control for this model"},
		{Name: SchedulerQueueBytes, Type: source.QueryTypePromQL, Params: params(source.ParamModelID),
			Template:    schedulerQueue(EPPFlowControlQueueBytes, LegacyEPPFlowControlQueueBytes),
			Description: "Total bytes queued in scheduler flow control for this model"},
		{Name: SchedulerDispatchRate, Type: source.QueryTypePromQL, Params: nsModelParams(),
			Template:    `sum by (pod_name, port, namespace) (` + schedulerAttemptsRate + `)`,
			Description: "Request dispatch rate per endpoint (requests/sec) from scheduler, grouped by pod_name and port"},
		{Name: ModelArrivalRate, Type: source.QueryTypePromQL, Params: nsModelParams(),
			Template:    `sum by (namespace) (` + schedulerAttemptsRate + `)`,
			Description: "Model-level request arrival rate (requests/sec) from scheduler"},
	}
}
