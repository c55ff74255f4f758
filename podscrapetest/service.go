package podscrapetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// ServiceOptions configures NewService. The zero value creates Service "metrics" in a new
// namespace, with no pods.
type ServiceOptions struct {
	// Namespace of the Service, created when missing. Empty: a new namespace named
	// "podscrapetest-" and a random suffix, so tests never share one.
	Namespace string
	// Name of the Service. Default "metrics".
	Name string
	// Labels select the Service's pods. Default app=<Name>. The map is copied.
	Labels map[string]string
	// PodLabels are more labels of some pods, by pod name, beside Labels (which win on a
	// clash): a pod's llm-d.ai/variant, say. The maps are copied.
	PodLabels map[string]map[string]string
	// PodNames name the pods to create, Ready, in this order.
	PodNames []string
	// Pods is how many pods to create when PodNames is empty, named <Name>-0, <Name>-1, ...
	Pods int
	// Body is what every pod serves at every path, as the Prometheus text format 0.0.4,
	// until the test sets another (Pod.SetBody, Pod.SetHandler).
	Body string
	// Handler, when set, serves every pod instead of Body. It is shared by the pods and
	// must be safe for concurrent use.
	Handler http.Handler
	// Simulation, when set, serves each pod instead of Body and Handler: the simulated
	// program of the pod's name (name the pods as the simulation does).
	Simulation *Simulation
}

// Service is a Kubernetes Service with pods on loopback addresses, all listening on its
// port. Create it with Environment.NewService and Close it when done. Namespace, Name
// and Port are read-only; it is safe for concurrent use.
type Service struct {
	// Namespace and Name identify the Service.
	Namespace, Name string
	// Port is the Service's port and every pod's metrics port: what
	// PodScrapingSourceConfig.MetricsPort takes.
	Port int32

	env       *Environment
	labels    map[string]string
	podLabels map[string]map[string]string  // by pod name, beside labels
	initial   func(pod string) http.Handler // a new pod's first handler

	mu      sync.Mutex // protects pods and created
	pods    []*Pod
	created bool // this Service created the Service object, so only it may delete it
}

// NewService creates the namespace (when missing), the Service and its Ready pods, each
// served on its own loopback address. On error nothing it started is left running, and
// it deletes only the objects it created: never those of another Service with the same
// namespace and name, or a pod of the same name.
func (e *Environment) NewService(ctx context.Context, opts ServiceOptions) (_ *Service, err error) {
	if opts.Name == "" {
		opts.Name = "metrics"
	}
	if opts.Namespace == "" {
		opts.Namespace = "podscrapetest-" + strings.ToLower(rand.Text()[:8])
	}
	labels := maps.Clone(opts.Labels) // a pod added later is labelled from it
	if len(labels) == 0 {
		labels = map[string]string{"app": opts.Name}
	}
	names := opts.PodNames
	if len(names) == 0 {
		for i := range opts.Pods {
			names = append(names, fmt.Sprintf("%s-%d", opts.Name, i))
		}
	}
	body, handler, sim := opts.Body, opts.Handler, opts.Simulation
	s := &Service{
		Namespace: opts.Namespace, Name: opts.Name, env: e, labels: labels, podLabels: map[string]map[string]string{},
		initial: func(pod string) http.Handler {
			if sim != nil {
				return sim.Handler(pod)
			}
			if handler != nil {
				return handler
			}
			return bodyHandler(body)
		},
	}
	for name, l := range opts.PodLabels {
		s.podLabels[name] = maps.Clone(l)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: opts.Namespace}}
	if err := e.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("podscrapetest: create namespace %s: %w", opts.Namespace, err)
	}

	// Every pod of a Service listens on one port: the first binds any free port, the
	// others that one.
	pods := make([]*Pod, len(names))
	ips := make([]string, len(names))
	for i, name := range names {
		pods[i] = newPod(s, name, s.initial(name))
		ips[i] = e.block.Next()
	}
	byIP := map[string]*Pod{}
	for i, ip := range ips {
		byIP[ip] = pods[i]
	}
	servers, err := localcluster.ServeAll(ips, func(ip string) http.Handler { return byIP[ip] })
	if err != nil {
		return nil, fmt.Errorf("podscrapetest: serve pods of service %s/%s: %w", s.Namespace, s.Name, err)
	}
	for i, srv := range servers {
		pods[i].IP, pods[i].server = srv.IP, srv
	}
	s.pods = pods
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if len(servers) > 0 {
		s.Port = int32(servers[0].Port)
	} else if s.Port, err = freePort(e.block.Next()); err != nil {
		return nil, err
	}

	if err := e.cp.CreateService(ctx, s.Namespace, s.Name, labels, s.Port); err != nil {
		return nil, fmt.Errorf("podscrapetest: %w", err)
	}
	s.mu.Lock()
	s.created = true
	s.mu.Unlock()
	for _, p := range pods {
		if err := p.create(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// freePort finds a port free on the loopback address ip, for a Service created without
// pods: later pods listen on it.
func freePort(ip string) (int32, error) {
	srv, err := localcluster.Serve(ip, 0, http.NotFoundHandler())
	if err != nil {
		return 0, fmt.Errorf("podscrapetest: pick a port: %w", err)
	}
	port := int32(srv.Port)
	return port, srv.Close()
}

// Pods returns the Service's pods that are not deleted, in the order they were created.
// The slice is the caller's.
func (s *Service) Pods() []*Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Pod
	for _, p := range s.pods {
		if !p.deleted.Load() {
			out = append(out, p)
		}
	}
	return out
}

// Pod returns the pod named name, or nil.
func (s *Service) Pod(name string) *Pod {
	for _, p := range s.Pods() {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// AddPod creates one more Ready pod named name, serving the Service's initial Body,
// Handler or Simulation (its pod of that name) on a new loopback address and the
// Service's port.
func (s *Service) AddPod(ctx context.Context, name string) (*Pod, error) {
	p := newPod(s, name, s.initial(name))
	srv, err := localcluster.Serve(s.env.block.Next(), int(s.Port), p)
	if err != nil {
		return nil, fmt.Errorf("podscrapetest: serve pod %s/%s: %w", s.Namespace, name, err)
	}
	p.IP, p.server = srv.IP, srv
	if err := p.create(ctx); err != nil {
		_ = srv.Close()
		return nil, err
	}
	s.mu.Lock()
	s.pods = append(s.pods, p)
	s.mu.Unlock()
	return p, nil
}

// Close stops every pod's server and deletes the Service and its pods from the API
// server (those it created); the namespace stays (the test API server runs no namespace
// controller). As httptest.Server.Close, it ends the pods' connections, which cancels
// their requests' contexts, and returns only once no pod handler is running: a handler
// that blocks without watching its request's context keeps Close waiting.
func (s *Service) Close() error {
	ctx := context.Background()
	var errs []error
	for _, p := range s.Pods() {
		errs = append(errs, p.Delete(ctx))
	}
	s.mu.Lock()
	created := s.created
	s.mu.Unlock()
	if !created {
		return errors.Join(errs...)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name}}
	if err := s.env.Client.Delete(ctx, svc); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("podscrapetest: delete service %s/%s: %w", s.Namespace, s.Name, err))
	} else {
		// Gone: a second Close must not delete a later Service of the same name.
		s.mu.Lock()
		s.created = false
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}
