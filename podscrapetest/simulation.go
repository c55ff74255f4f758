package podscrapetest

import (
	"net/http"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// Generation selects which release of the real programs a Simulation's pods expose the
// metrics of.
type Generation int

const (
	// Current is today's programs, the default: vLLM with _total counters and the engine
	// label, llm-d-router's EPP with llm_d_epp_* names beside their deprecated
	// inference_extension_* / inference_objective_* / inference_pool_* twins, SGLang's
	// sglang:* set.
	Current Generation = iota
	// Previous is the programs of early 2026, for testing fallbacks: vLLM without _total
	// on its prefix-cache counters and with time_per_output_token_seconds, the EPP with
	// only the inference_extension_* / inference_objective_* / inference_pool_* names
	// (the Gateway API Inference Extension's v1.2.1: its flow-control queue size is
	// labelled by no model, and it has no queue bytes).
	Previous
)

// String names the generation: "current" or "previous".
func (g Generation) String() string {
	if g == Previous {
		return "previous"
	}
	return "current"
}

// SimulationOptions configures NewSimulation. Pods are named by the caller; a Service
// serves them when its PodNames are the same names (ServiceOptions.Simulation).
type SimulationOptions struct {
	// Seed makes the simulation reproducible: the same seed and steps give the same
	// expositions.
	Seed uint64
	// Model is the served model name. Default "Qwen/Qwen3-0.6B".
	Model string
	// EPPPods, VLLMPods and SGLangPods name the simulated endpoint pickers and model
	// servers: requests arrive at the EPPs, which route them to the model servers.
	EPPPods, VLLMPods, SGLangPods []string
	// Namespace is what the EPP's scheduler attempts name the model servers' namespace.
	// Default "llm-d".
	Namespace string
	// ModelServerPort is what the EPP's scheduler attempts name the model servers' port.
	// Default 8000.
	ModelServerPort int
	// Generation is the release whose metric names, types, HELP and labels the pods
	// expose. Zero: Current.
	Generation Generation
}

// Simulation drives simulated vLLM, SGLang and EPP pods under a load that moves, each
// pod's /metrics in the real program's names, types, HELP and labels (written from
// expositions captured from the programs). Step advances it; a scrape reads the last
// step. Create it with NewSimulation; it is safe for concurrent use.
type Simulation struct {
	sim *localcluster.Simulation
}

// NewSimulation returns a simulation at step 0.
func NewSimulation(opts SimulationOptions) *Simulation {
	gen := localcluster.Current
	if opts.Generation == Previous {
		gen = localcluster.Previous
	}
	return &Simulation{sim: localcluster.NewSimulation(localcluster.SimulationOptions{
		Seed: opts.Seed, Model: opts.Model, EPPPods: opts.EPPPods, ModelServerPods: opts.VLLMPods,
		SGLangPods: opts.SGLangPods, Namespace: opts.Namespace, ModelServerPort: opts.ModelServerPort,
		Generation: gen,
	})}
}

// Step advances the simulation by one simulated second.
func (s *Simulation) Step() { s.sim.Step() }

// Exposition returns pod's current /metrics text, or nil for a pod the simulation does
// not know. The slice is shared and must not be modified.
func (s *Simulation) Exposition(pod string) []byte { return s.sim.Exposition(pod) }

// Handler serves pod's /metrics, as the text format 0.0.4, from the last Step; for a pod
// the simulation does not know it answers 404 Not Found (a scrape of it fails).
func (s *Simulation) Handler(pod string) http.Handler { return s.sim.Handler(pod) }
