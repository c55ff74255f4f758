package podscrapetest

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// textFormat is the Content-Type of a Body: the Prometheus text format 0.0.4.
const textFormat = "text/plain; version=0.0.4; charset=utf-8"

// Pod is one pod of a Service: a Pod object whose status IP is a loopback address, and a
// real HTTP server bound to that address and the Service's port. Name and IP are
// read-only; it is safe for concurrent use.
type Pod struct {
	// Name is the pod's name, as the pod label of its samples has it.
	Name string
	// IP is the pod's loopback address.
	IP string

	svc      *Service
	handler  atomic.Pointer[http.Handler] // what the server serves now
	requests atomic.Int64
	deleted  atomic.Bool // the Pod object is gone: Pods leaves the pod out

	mu      sync.Mutex // serialises the pod's object writes and Delete; protects created
	created bool       // this Pod created the object, so only it may delete it
	server  *localcluster.Server
	stop    sync.Once // stops server on the first Delete; a retry only retries the object
}

func newPod(s *Service, name string, h http.Handler) *Pod {
	p := &Pod{Name: name, svc: s}
	p.handler.Store(&h)
	return p
}

// bodyHandler serves body as the text format at every path.
func bodyHandler(body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", textFormat)
		_, _ = w.Write([]byte(body))
	})
}

// ServeHTTP counts the request and hands it to the pod's current handler.
func (p *Pod) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	(*p.handler.Load()).ServeHTTP(w, r)
}

// SetBody makes the pod serve body, as the text format 0.0.4, from its next request on.
func (p *Pod) SetBody(body string) { p.SetHandler(bodyHandler(body)) }

// SetHandler makes the pod serve h from its next request on; h must be safe for
// concurrent use. To make the pod fail a scrape, answer with an error status.
func (p *Pod) SetHandler(h http.Handler) { p.handler.Store(&h) }

// Requests reports how many requests the pod has served.
func (p *Pod) Requests() int64 { return p.requests.Load() }

// URL is the pod's base URL, http://IP:port.
func (p *Pod) URL() string { return p.server.URL() }

// create creates the Pod object, Ready, with the server's address.
func (p *Pod) create(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.svc
	labels := maps.Clone(s.podLabels[p.Name])
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, s.labels)
	_, err := s.env.cp.CreatePod(ctx, localcluster.PodSpec{
		Namespace: s.Namespace, Name: p.Name, Labels: labels, IP: p.IP, Ready: true,
	})
	if err != nil {
		return fmt.Errorf("podscrapetest: %w", err)
	}
	p.created = true
	return nil
}

// SetReady sets the pod's Ready condition. A scraper skips a pod that is not Ready; its
// server keeps answering, so a scrape of it would show.
func (p *Pod) SetReady(ctx context.Context, ready bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var obj corev1.Pod
	key := client.ObjectKey{Namespace: p.svc.Namespace, Name: p.Name}
	if err := p.svc.env.Client.Get(ctx, key, &obj); err != nil {
		return fmt.Errorf("podscrapetest: get pod %s: %w", key, err)
	}
	if err := p.svc.env.cp.SetPodStatus(ctx, &obj, p.IP, ready); err != nil {
		return fmt.Errorf("podscrapetest: %w", err)
	}
	return nil
}

// Delete deletes the Pod object, if this Pod created it, and stops its server, waiting
// for its running handlers as Service.Close does. Deleting a deleted pod does nothing; a
// Delete that failed (its context ended, say) can be retried.
func (p *Pod) Delete(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.deleted.Load() {
		return nil
	}
	var err error
	if p.created {
		obj := &corev1.Pod{}
		obj.Namespace, obj.Name = p.svc.Namespace, p.Name
		if err = p.svc.env.Client.Delete(ctx, obj); apierrors.IsNotFound(err) {
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("podscrapetest: delete pod %s/%s: %w", p.svc.Namespace, p.Name, err)
		}
	}
	// Marked deleted only once the object is gone: a failed Delete stays retryable, and
	// Service.Close retries it.
	if err == nil {
		p.deleted.Store(true)
	}
	p.stop.Do(func() {
		if cerr := p.server.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("podscrapetest: stop the server of pod %s/%s: %w", p.svc.Namespace, p.Name, cerr)
		}
	})
	return err
}
