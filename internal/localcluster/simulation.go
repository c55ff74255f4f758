package localcluster

import (
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Load shape of the simulation: requests per simulated second swing around loadMean by
// loadSwing over loadPeriod, so the model servers go from idle to queueing and back.
const (
	loadMean   = 2.2
	loadSwing  = 0.8
	loadPeriod = 90.0 // simulated seconds
	// rejectRate is the share of requests the EPP rejects as bad requests.
	rejectRate = 0.01
	// nonStreamingEvery: every nonStreamingEvery-th request asks for its answer whole,
	// the others stream it, as chat clients mostly do; current SGLang splits its request
	// metrics by is_streaming.
	nonStreamingEvery = 4
	// textFormat is the Content-Type the simulated pods answer with.
	textFormat = "text/plain; version=0.0.4; charset=utf-8"
)

// SimulationOptions configures NewSimulation.
type SimulationOptions struct {
	// Seed makes the simulation reproducible: the same seed and the same number of steps
	// give the same expositions, byte for byte.
	Seed uint64
	// Model is the served model name. Default "Qwen/Qwen3-0.6B".
	Model string
	// Pool is the InferencePool name the EPPs report. Default "vllm-pool".
	Pool string
	// Namespace and ModelServerPort are the model servers' namespace and port, as the
	// current EPP's scheduler attempts label them. Default LLMDNamespace and
	// VLLMMetricsPort.
	Namespace       string
	ModelServerPort int
	// EPPPods name the endpoint picker pods; requests alternate between them.
	EPPPods []string
	// ModelServerPods name the vLLM pods behind the pool, which take the load.
	ModelServerPods []string
	// IdleModelServerPods name vLLM pods outside the pool (not Ready, or terminating):
	// they expose metrics but take no load.
	IdleModelServerPods []string
	// SGLangPods name SGLang model server pods behind the pool, which take load beside
	// the vLLM ones and expose SGLang's sglang:* metrics.
	SGLangPods []string
	// Generation is the release of the programs whose metrics the pods expose. Zero:
	// Current.
	Generation Generation
	// Start is the simulated clock at step 0, the Unix time some gauges report. Zero:
	// 2026-01-01T00:00:00Z.
	Start time.Time
	// StepSeconds is the simulated time one Step covers. Default 1.
	StepSeconds float64
}

// Simulation drives simulated EPP and vLLM pods under a load that moves: requests arrive
// at the EPPs, wait in flow control while the pool is saturated, queue and run on the
// model servers, and every metric follows from that. Its exposition text uses the metric
// names, types, HELP and labels of the real programs (the fixtures of testdata/).
//
// Step advances it; Handler serves a pod's /metrics from the snapshot of the last Step, so
// a scrape never waits on a Step. Create it with NewSimulation. It is safe for concurrent
// use.
type Simulation struct {
	opts SimulationOptions

	mu       sync.Mutex // protects rng, steps, arrivals, epps, servers and their state
	rng      *rand.Rand
	steps    int
	arrivals int // requests drawn so far
	epps     []*eppSim
	servers  []*modelServer

	exposed map[string]*atomic.Pointer[[]byte] // by pod; the map is fixed at creation
}

// NewSimulation returns a simulation at step 0, its expositions already rendered.
func NewSimulation(opts SimulationOptions) *Simulation {
	if opts.Model == "" {
		opts.Model = "Qwen/Qwen3-0.6B"
	}
	if opts.Pool == "" {
		opts.Pool = "vllm-pool"
	}
	if opts.Namespace == "" {
		opts.Namespace = LLMDNamespace
	}
	if opts.ModelServerPort == 0 {
		opts.ModelServerPort = VLLMMetricsPort
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if opts.StepSeconds <= 0 {
		opts.StepSeconds = 1
	}
	s := &Simulation{
		opts:    opts,
		rng:     rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		exposed: map[string]*atomic.Pointer[[]byte]{},
	}
	for _, pod := range opts.EPPPods {
		s.epps = append(s.epps, newEPPSim(pod, opts.Pool, opts.Model, opts.Namespace, opts.ModelServerPort))
	}
	for _, pod := range opts.ModelServerPods {
		s.servers = append(s.servers, newModelServer(pod, opts.Model, engineVLLM, true))
	}
	for _, pod := range opts.SGLangPods {
		s.servers = append(s.servers, newModelServer(pod, opts.Model, engineSGLang, true))
	}
	for _, pod := range opts.IdleModelServerPods {
		s.servers = append(s.servers, newModelServer(pod, opts.Model, engineVLLM, false))
	}
	for _, e := range s.epps {
		s.exposed[e.pod] = &atomic.Pointer[[]byte]{}
		// Every endpoint of the pool has its scheduler attempts from zero, so a rate over
		// the first minute has a zero point (the real EPP's series of an endpoint appears
		// with its first attempt).
		for _, m := range s.servers {
			if m.serving {
				e.attempts[m.pod] = 0
			}
		}
	}
	for _, m := range s.servers {
		s.exposed[m.pod] = &atomic.Pointer[[]byte]{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.render()
	return s
}

// Step advances the simulation by one step of simulated time and renders every pod's
// exposition anew.
func (s *Simulation) Step() {
	s.mu.Lock()
	defer s.mu.Unlock()
	dt := s.opts.StepSeconds
	start := float64(s.steps) * dt
	// Requests that arrived during the last step are dispatched at the start of this one.
	// The EPPs take turns, one request each and a different one first each step, so
	// neither starves the other.
	for dispatched := true; dispatched; {
		dispatched = false
		for i := range s.epps {
			if s.epps[(s.steps+i)%len(s.epps)].dispatchOne(s.servers, start, s.rng.Float64) {
				dispatched = true
			}
		}
	}
	for _, m := range s.servers {
		m.step(start, dt)
	}
	s.arrive(start, dt)
	s.steps++
	s.render()
}

// Steps reports how many steps have run.
func (s *Simulation) Steps() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.steps
}

// Exposition returns pod's current /metrics text, or nil for a pod the simulation does
// not know. The slice is shared and must not be modified.
func (s *Simulation) Exposition(pod string) []byte {
	p := s.exposed[pod]
	if p == nil {
		return nil
	}
	return *p.Load()
}

// Handler serves pod's /metrics in the text format, from the last Step.
func (s *Simulation) Handler(pod string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := s.Exposition(pod)
		if body == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", textFormat)
		_, _ = w.Write(body)
	})
}

// arrive draws this step's requests and hands them to the EPPs in turn.
func (s *Simulation) arrive(start, dt float64) {
	if len(s.epps) == 0 {
		return
	}
	rate := loadMean * (1 + loadSwing*math.Sin(2*math.Pi*start/loadPeriod))
	n := s.poisson(rate * dt)
	for i := range n {
		prompt := 128 + s.rng.IntN(896)
		maxTokens := 64 + s.rng.IntN(448)
		output := maxTokens
		if s.rng.Float64() < 0.8 { // most requests stop before max_tokens
			output = 16 + s.rng.IntN(maxTokens-15)
		}
		r := &request{
			promptTokens: prompt,
			cachedTokens: int(float64(prompt) * 0.6 * s.rng.Float64()),
			maxTokens:    maxTokens,
			outputTokens: output,
			arrivedAt:    start + dt*s.rng.Float64(),
			// From a count, not the rng: a draw here would shift every later one, and
			// with them a seed's other metrics.
			streaming: s.arrivals%nonStreamingEvery != 0,
		}
		s.arrivals++
		s.epps[(s.steps+i)%len(s.epps)].receive(r, s.rng.Float64() < rejectRate)
	}
}

// poisson draws from a Poisson distribution of mean lambda (Knuth's method: lambda is
// small here).
func (s *Simulation) poisson(lambda float64) int {
	limit := math.Exp(-lambda)
	n, p := 0, s.rng.Float64()
	for p > limit {
		n++
		p *= s.rng.Float64()
	}
	return n
}

// render stores every pod's exposition of the current state.
func (s *Simulation) render() {
	now := s.opts.Start.Add(time.Duration(float64(s.steps) * s.opts.StepSeconds * float64(time.Second)))
	for _, e := range s.epps {
		var w textWriter
		e.expose(&w, s.servers, s.opts.Generation)
		b := w.bytes()
		s.exposed[e.pod].Store(&b)
	}
	for _, m := range s.servers {
		var w textWriter
		m.expose(&w, float64(now.Unix()), s.opts.Generation)
		b := w.bytes()
		s.exposed[m.pod].Store(&b)
	}
}
