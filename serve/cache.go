package serve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CacheSyncTimeout bounds StartCache's wait for the first LIST of Services and Pods.
const CacheSyncTimeout = time.Minute

// CacheSyncError is StartCache's error when the informers of Services and Pods did not
// sync: it names the namespaces and the last error of their LIST or WATCH.
type CacheSyncError struct {
	Namespaces []string // the namespaces watched
	Err        error    // the informers' last error, or why the wait ended
}

// Error names the namespaces and the informers' last error, with the RBAC they need when
// the API server refused them.
func (e *CacheSyncError) Error() string {
	hint := ""
	if apierrors.IsForbidden(e.Err) { // the RBAC hint only where RBAC is the cause
		hint = " (needs list and watch on services and pods)"
	}
	return fmt.Sprintf("informer cache of services and pods in namespaces %v did not sync%s: %v", e.Namespaces, hint, e.Err)
}

// Unwrap returns the informers' last error, for errors.Is and errors.As.
func (e *CacheSyncError) Unwrap() error { return e.Err }

// Cache serves the Services and Pods of the configured Services' namespaces from
// informers (one LIST, then a WATCH per kind and namespace), so a scrape reads no API.
// Secrets are not cached: pass a direct reader as each source's SecretReader.
//
// A Pod is held with only what discovery reads: its name, namespace, UID,
// resourceVersion, labels, creationTimestamp and deletionTimestamp, the ports of its
// containers and of its sidecar init containers (restartPolicy Always), on which a
// Service's named targetPort is resolved, spec.hostNetwork, and its status' phase,
// conditions and IPs; the rest of its spec (containers' env, volumes), annotations,
// owner references and managedFields are dropped as it enters the cache. A Service is
// held without its managedFields (discovery reads its selector, ports, type and IP
// families). A reader of the Cache sees nothing else of a Pod.
//
// It notes the outcome of its informers' requests (it makes none of its own): a Server
// reading through it warns of a Service whose namespace's informers have been failing to
// list or watch for DiscoveryWarnAfter, and answers 503 past DiscoveryUnavailableAfter.
type Cache struct {
	cache.Cache
	cancel context.CancelFunc
	done   chan struct{}
	health *informerHealth
}

// StartCache starts informers of Services and Pods restricted to the namespaces of
// services, running until ctx ends or Stop, and waits until they synced. The logr logger
// of ctx (if any) logs a namespace's informers failing to reach the API server, and
// recovering. It fails with a
// *AccessError when the identity may not list or watch services or pods there (an
// informer that may list but not watch would sync once and then go stale silently),
// and with a *CacheSyncError, the informers stopped, when they did not sync in
// CacheSyncTimeout (or ctx ended first).
func StartCache(ctx context.Context, restConfig *rest.Config, services []ServiceConfig) (*Cache, error) {
	namespaces := map[string]cache.Config{}
	var names []string
	for _, s := range services {
		if _, ok := namespaces[s.Source.ServiceNamespace]; !ok {
			namespaces[s.Source.ServiceNamespace] = cache.Config{}
			names = append(names, s.Source.ServiceNamespace)
		}
	}
	slices.Sort(names)
	var (
		mu      sync.Mutex // protects lastErr
		lastErr error
	)
	if err := checkAccess(ctx, restConfig, names); err != nil {
		return nil, err
	}
	health := &informerHealth{log: logr.FromContextOrDiscard(ctx), warnAfter: DiscoveryWarnAfter, unavailableAfter: DiscoveryUnavailableAfter}
	informersConfig := rest.CopyConfig(restConfig)
	informersConfig.Wrap(health.wrap)
	informers, err := cache.New(informersConfig, cache.Options{
		DefaultNamespaces: namespaces,
		// Only Services and Pods are read; a Get or List of anything else is an error,
		// not a new informer.
		ReaderFailOnMissingInformer: true,
		// The objects as they enter the informers' store: a namespace's pods are held
		// for as long as serve runs, and a pod's spec, annotations and managedFields,
		// which nothing here reads, are most of its bytes (a vLLM pod's env and
		// volumes, a last-applied-configuration annotation).
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject:         map[client.Object]cache.ByObject{&corev1.Pod{}: {Transform: stripPod}},
		DefaultWatchErrorHandler: func(ctx context.Context, r *toolscache.Reflector, err error) {
			mu.Lock()
			lastErr = err
			mu.Unlock()
			toolscache.DefaultWatchErrorHandler(ctx, r, err)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("informer cache for namespaces %v: %w", names, err)
	}
	for _, obj := range []client.Object{&corev1.Service{}, &corev1.Pod{}} {
		if _, err := informers.GetInformer(ctx, obj, cache.BlockUntilSynced(false)); err != nil {
			return nil, fmt.Errorf("informer of %T in namespaces %v: %w", obj, names, err)
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	c := &Cache{Cache: informers, cancel: cancel, done: make(chan struct{}), health: health}
	go func() {
		defer close(c.done)
		_ = informers.Start(runCtx)
	}()
	syncCtx, done := context.WithTimeout(runCtx, CacheSyncTimeout)
	defer done()
	if !informers.WaitForCacheSync(syncCtx) {
		c.Stop()
		mu.Lock()
		defer mu.Unlock()
		err := lastErr
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		if err == nil {
			err = errors.New("timed out after " + CacheSyncTimeout.String())
		}
		return nil, &CacheSyncError{Namespaces: names, Err: err}
	}
	return c, nil
}

// stripPod is the Pod informer's transform: the pod with only what source/pod's
// discovery reads (metadata's name, namespace, labels, creationTimestamp, by which two
// pods claiming one address are told apart, and deletionTimestamp; its containers'
// ports, on which a Service's named targetPort is resolved, and spec.hostNetwork, by
// which pods of one node's IP are told from a reused IP; status' phase, conditions,
// podIP and podIPs), and the identity an informer keeps (UID, by
// which serve also tells a pod recreated under its name; resourceVersion). Anything else is dropped in place
// (client-go hands the transform an object no one else holds); a reader of the Cache
// that needs another field must be added here. It is idempotent, as client-go asks, and
// leaves anything but a *corev1.Pod as it is.
func stripPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	p.ObjectMeta = metav1.ObjectMeta{
		Name:              p.Name,
		Namespace:         p.Namespace,
		UID:               p.UID,
		ResourceVersion:   p.ResourceVersion,
		Labels:            p.Labels,
		CreationTimestamp: p.CreationTimestamp,
		DeletionTimestamp: p.DeletionTimestamp,
	}
	p.Spec = corev1.PodSpec{Containers: portsOnly(p.Spec.Containers, false), InitContainers: portsOnly(p.Spec.InitContainers, true), HostNetwork: p.Spec.HostNetwork}
	p.Status = corev1.PodStatus{
		Phase:      p.Status.Phase,
		Conditions: p.Status.Conditions,
		PodIP:      p.Status.PodIP,
		PodIPs:     p.Status.PodIPs,
	}
	return p, nil
}

// portsOnly returns the containers of cs that declare ports, each with its ports alone
// (and, for sidecars, its restart policy): a Service's named targetPort is resolved on
// them. Of init containers (sidecars set) only sidecars (restartPolicy Always) are kept,
// as only theirs are resolved; nil when none is kept.
func portsOnly(cs []corev1.Container, sidecars bool) []corev1.Container {
	var out []corev1.Container
	for i := range cs {
		c := &cs[i]
		if len(c.Ports) == 0 || sidecars && (c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
			continue
		}
		out = append(out, corev1.Container{Ports: c.Ports, RestartPolicy: c.RestartPolicy})
	}
	return out
}

// Stop stops the informers and waits until they ended.
func (c *Cache) Stop() {
	c.cancel()
	<-c.done
}
