package pod

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// apiReadTimeout bounds each read of the Service, its pods and the token Secret. A
// direct client answers in milliseconds; a cached client (a manager's) first waits for
// its informer to sync, which it never does when its identity may not list and watch the
// kind in every namespace the cache watches: unbounded, a Refresh whose context has no
// deadline (a reconcile's) would wait for ever. A variable for tests.
var apiReadTimeout = 30 * time.Second

// target is one pod to scrape.
type target struct {
	name   string     // pod name, the "pod" label
	key    string     // namespace/name, for errors and logs
	addr   *url.URL   // the pod's metrics URL
	labels []podLabel // the pod labels PodLabels names, mapped; read-only
	uid    types.UID  // the Pod object's: a pod recreated under its name is another pod
	// portHint, when MetricsPort is not where the Service forwards to on this pod, says
	// where it does (see portHints): what a refused connection adds to the pod's error.
	portHint string
	// hostNetwork: the pod shares its node's IP (spec.hostNetwork); declares: a
	// hostNetwork pod that declares MetricsPort as a TCP port of a container or sidecar
	// (not worked out for the others, at every scrape, as no one reads it). See
	// claimsOfOneAddress.
	hostNetwork, declares bool
	// unreachable, when set, is the pod's scrape error, no request sent: the address
	// is another pod's of its node (see claimsOfOneAddress).
	unreachable error
}

// discovery is what discover found.
type discovery struct {
	targets  []target // the ready pods, sorted by name
	selected int      // the pods selected, ready or not, finished ones left out
	// Of the selected pods not among targets: terminating ones, those not Ready, and
	// those Ready without an IP in their status (see noneScraped).
	terminating, notReady, noIP int
	// unscraped are the selected pods not scraped because they are not Ready or have
	// finished, terminating ones left out (a scale-down), in list order: see
	// answeredPods and SeriesReport.
	unscraped []UnscrapedPod
}

// instance is the pod's <IP>:<port> (IPv6 bracketed), the instance label Prometheus' pod
// discovery gives its series.
func (t *target) instance() string { return t.addr.Host }

// url is the pod's metrics URL as text, for errors.
func (t *target) url() string { return t.addr.String() }

// discover returns the ready pods selected by the Service, sorted by name, how many pods
// the Service selects, ready or not, and those not scraped for being not Ready or
// finished. A Service without a selector selects nothing (its error is errNoSelector,
// which Refresh reads as no pods, as the guide has it); an ExternalName Service is an
// error. As for the EndpointSlice controller, a pod that has finished (Succeeded or
// Failed) is not selected.
//
// It records what it found in podscrape_pods_discovered and podscrape_pods_ready; a
// failure, unless the caller's context ended, counts in
// podscrape_discovery_failures_total and sets both gauges to 0: no pod is scraped.
func (s *PodScrapingSource) discover(parent context.Context) (discovery, error) {
	found, err := s.discoverPods(parent)
	switch {
	case err == nil || errors.Is(err, errNoSelector):
		s.metrics.observePods(found.selected, len(found.targets))
	case parent.Err() == nil:
		s.metrics.observeDiscoveryFailure()
	}
	return found, err
}

// discoverPods is discover without its metrics.
func (s *PodScrapingSource) discoverPods(parent context.Context) (discovery, error) {
	cfg := &s.config
	ctx, cancel := context.WithTimeout(parent, apiReadTimeout)
	defer cancel()
	var svc corev1.Service
	key := client.ObjectKey{Namespace: cfg.ServiceNamespace, Name: cfg.ServiceName}
	if err := s.reader.Get(ctx, key, &svc); err != nil {
		if apierrors.IsNotFound(err) {
			return discovery{}, fmt.Errorf("service %s not found: %w", key, err)
		}
		return discovery{}, fmt.Errorf("get service %s%s: %w", key, apiHint(parent, ctx, err, "get", "services", key.Namespace), err)
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		// It has no endpoints whatever selector it keeps (one changed to ExternalName
		// keeps its selector): its pods are not its backends. An empty answer would
		// read as a Service scaled to zero.
		return discovery{}, fmt.Errorf("service %s is of type ExternalName (%q): it has no pods to scrape", key, svc.Spec.ExternalName)
	}
	if len(svc.Spec.Selector) == 0 {
		return discovery{}, fmt.Errorf("service %s: %w", key, errNoSelector)
	}
	var pods corev1.PodList
	// The pods are only read: a cached reader may hand out its own objects uncopied.
	if err := s.reader.List(ctx, &pods, client.InNamespace(cfg.ServiceNamespace),
		client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(svc.Spec.Selector)},
		client.UnsafeDisableDeepCopy); err != nil {
		return discovery{}, fmt.Errorf("list pods of service %s%s: %w", key, apiHint(parent, ctx, err, "list", "pods", key.Namespace), err)
	}
	var family corev1.IPFamily // the Service's primary: its endpoints' addresses
	if len(svc.Spec.IPFamilies) > 0 {
		family = svc.Spec.IPFamilies[0]
	}
	found := discovery{targets: make([]target, 0, len(pods.Items))}
	var created []time.Time // of each target's pod, for claimsOfOneAddress
	var of []*corev1.Pod    // each target's pod, for portHints
	for i := range pods.Items {
		p := &pods.Items[i]
		if finished(p) {
			if p.DeletionTimestamp == nil {
				found.unscraped = append(found.unscraped, UnscrapedPod{Pod: p.Name, UID: p.UID, Why: fmt.Sprintf("finished (%s)", p.Status.Phase)})
			}
			continue
		}
		found.selected++
		ip := podIP(p, family)
		switch {
		case p.DeletionTimestamp != nil:
			found.terminating++
			continue
		case !isReady(p):
			found.notReady++
			found.unscraped = append(found.unscraped, UnscrapedPod{Pod: p.Name, UID: p.UID, Why: "not Ready"})
			continue
		case ip == "":
			found.noIP++ // as for the EndpointSlice controller, no endpoint
			continue
		}
		found.targets = append(found.targets, target{
			name:        p.Name,
			key:         p.Namespace + "/" + p.Name,
			addr:        s.podURL(ip),
			labels:      targetPodLabels(cfg.PodLabels, p.Labels),
			uid:         p.UID,
			hostNetwork: p.Spec.HostNetwork,
			declares:    p.Spec.HostNetwork && declaresPort(p, cfg.MetricsPort), // read of hostNetwork pods only
		})
		created = append(created, p.CreationTimestamp.Time)
		of = append(of, p)
	}
	found.portHints(&svc, key.String(), cfg.MetricsPort, of)
	found.claimsOfOneAddress(created)
	// sort.Slice, not slices.SortFunc: see merge.
	targets := found.targets
	sort.Slice(targets, func(i, j int) bool { return targets[i].name < targets[j].name })
	return found, nil
}

// noneScraped says what the selected pods are when none of them is a target: how many
// are terminating (a scale-down or a rollout draining them), not Ready, or Ready
// without an IP in their status.
func (d *discovery) noneScraped() string {
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{d.terminating, "terminating"}, {d.notReady, "not Ready"}, {d.noIP, "Ready without an IP"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	return strings.Join(parts, ", ")
}

// claimsOfOneAddress leaves out of the targets each Ready pod whose address another
// Ready pod claims too: a reused IP, the first pod's status not updated yet after its
// sandbox went (a node that restarted, a sandbox recreated), and the network hands
// the address to the pod that got it last. Both scraped, that pod's answer would be
// counted twice, once under the other's name. The pod created last keeps the address;
// the others are unscraped, saying whose it is. Pods created within the same second
// (creation times have seconds) cannot be told apart: the address is still scraped once,
// as the one whose name sorts last (leaving it out would answer nothing for a load that
// is there), and the others say so.
//
// Pods that all run on their node's network (hostNetwork) share its IP by design: each
// is a pod of its own, serving on its own ports, and at most one of them listens on
// MetricsPort. The one that declares MetricsPort among its container ports, when only
// one does, keeps the address (else the rule above picks it); the others stay targets
// that fail, no request sent, saying why: their load is not read, and the answer must
// say so rather than leave them out unseen, or answer one's load under another's name.
func (d *discovery) claimsOfOneAddress(created []time.Time) {
	if len(d.targets) < 2 {
		return
	}
	type claim struct {
		last int  // the target created last
		tied bool // with another created in its second
	}
	type node struct{ claimants, hostNetwork, declaring int }
	var nodes map[string]node // by address; counted at the first address claimed twice
	countNodes := func() {
		nodes = make(map[string]node, len(d.targets))
		for i := range d.targets {
			t := &d.targets[i]
			n := nodes[t.addr.Host]
			n.claimants++
			if t.hostNetwork {
				n.hostNetwork++
				if t.declares {
					n.declaring++
				}
			}
			nodes[t.addr.Host] = n
		}
	}
	// shares reports whether the claimants of host are pods of one node's network.
	shares := func(host string) bool { n := nodes[host]; return n.claimants > 1 && n.hostNetwork == n.claimants }
	owner := make(map[string]claim, len(d.targets)) // by address
	shared := false
	for i := range d.targets {
		host := d.targets[i].addr.Host
		c, ok := owner[host]
		if !ok {
			owner[host] = claim{last: i}
			continue
		}
		if !shared {
			shared = true
			countNodes()
		}
		if shares(host) && nodes[host].declaring == 1 {
			if d.targets[i].declares {
				owner[host] = claim{last: i}
			}
			continue
		}
		switch {
		case created[i].After(created[c.last]):
			owner[host] = claim{last: i}
		case created[i].Equal(created[c.last]) && d.targets[i].name > d.targets[c.last].name:
			owner[host] = claim{last: i, tied: true}
		case created[i].Equal(created[c.last]):
			owner[host] = claim{last: c.last, tied: true}
		}
	}
	if !shared {
		return
	}
	claimants := map[string][]string{} // address -> the pods claiming it
	for i := range d.targets {
		host := d.targets[i].addr.Host
		claimants[host] = append(claimants[host], d.targets[i].name)
	}
	kept := make([]target, 0, len(d.targets))
	for i, t := range d.targets {
		host := t.addr.Host
		c := owner[host]
		switch {
		case len(claimants[host]) == 1 || c.last == i:
			kept = append(kept, t)
		case shares(host):
			t.unreachable = sharedNode(&t, &d.targets[c.last], nodes[host].declaring == 1)
			kept = append(kept, t)
		case !c.tied:
			d.unscraped = append(d.unscraped, UnscrapedPod{Pod: t.name, UID: t.uid,
				Why: fmt.Sprintf("its address %s is pod %s's, created later (a reused IP)", host, d.targets[c.last].name)})
		default:
			d.unscraped = append(d.unscraped, UnscrapedPod{Pod: t.name, UID: t.uid,
				Why: fmt.Sprintf("its address %s is claimed by pods %v, created in the same second: it is scraped once, as pod %s, which may not be the pod answering (a reused IP)", host, claimants[host], d.targets[c.last].name)})
		}
	}
	d.targets = kept
}

// sharedNode is the error of hostNetwork pod t, whose node's IP pod owner, which keeps
// it, shares: owner declares MetricsPort when declared, else it may not be the pod
// answering there either. It names t's own port where the Service's named targetPort
// resolves to another on t (portHint).
func sharedNode(t, owner *target, declared bool) error {
	which := fmt.Sprintf("which declares port %s and answers there", t.addr.Port())
	if !declared {
		which = fmt.Sprintf("as which the answer at port %s is taken (not one pod alone declares that port)", t.addr.Port())
	}
	err := fmt.Errorf("pod %s shares its node's IP %s with pod %s (hostNetwork), %s: MetricsPort, one port for every pod, cannot reach this pod's metrics",
		t.name, t.addr.Hostname(), owner.name, which)
	if t.portHint != "" {
		err = fmt.Errorf("%w (%s)", err, t.portHint)
	}
	return err
}

// declaresPort reports whether p declares port as a TCP port of one of its containers
// or sidecars (init containers that restart always): on the node's network, where it
// listens.
func declaresPort(p *corev1.Pod, port int32) bool {
	_, ok := tcpPort(p, func(cp *corev1.ContainerPort) bool { return cp.ContainerPort == port })
	return ok
}

// errNoSelector is discover's error for a Service without a selector: its endpoints, if
// any, are kept by hand, and no pod is its by selection.
var errNoSelector = errors.New("has no selector: no pod is selected to scrape (podscrape finds pods by the Service's spec.selector; a Service whose endpoints are kept by hand has none)")

// apiHint says what a failed read of resource needs: the RBAC rule when it was
// Forbidden; what to configure when a controller-runtime cache refused it (see
// cacheHint). When apiReadTimeout, not the caller's context, cut it: that there was no
// answer in time and, when a cached client was waiting for its informer to sync (its
// error is then a Timeout status), why that informer may never sync.
func apiHint(parent, ctx context.Context, err error, verb, resource, namespace string) string {
	if parent.Err() != nil || ctx.Err() != context.DeadlineExceeded {
		return rbacHint(err, verb, resource, namespace) + cacheHint(err, resource, namespace)
	}
	if apierrors.IsTimeout(err) {
		return fmt.Sprintf(" (no answer within %s: the cached client's %s informer has not synced, which it never does while its identity lacks list and watch on %s in every namespace its cache watches, the whole cluster by default)",
			apiReadTimeout, resource, resource)
	}
	return fmt.Sprintf(" (no answer within %s)", apiReadTimeout)
}

// cacheHint says what to configure when a manager's cache (a cached client's reads)
// refused to read resource in namespace, else "": a namespace it does not watch
// (cache.Options.DefaultNamespaces, or the kind's ByObject Namespaces), a cache not started yet, one with
// ReaderFailOnMissingInformer and no informer of the kind. Its errors name neither the
// Service nor the setting. They are told by their text: the namespace error is untyped,
// and the package of the others (controller-runtime's pkg/cache) would bring its
// logger and informers into every program importing source/pod.
// TestManagerCacheRefusalsSayWhatToConfigure pins the texts.
func cacheHint(err error, resource, namespace string) string {
	direct := "give the source a direct client (mgr.GetAPIReader())"
	if resource == "secrets" {
		direct = "set SecretReader: mgr.GetAPIReader()"
	}
	kind := map[string]string{"services": "Service", "pods": "Pod", "secrets": "Secret"}[resource]
	switch msg := err.Error(); {
	case strings.Contains(msg, "because of unknown namespace for the cache"):
		return fmt.Sprintf(" (the cached client's cache does not watch namespace %s for %s: add it to the manager's cache.Options.DefaultNamespaces, or to ByObject[&corev1.%s{}].Namespaces where that is set, or %s)",
			namespace, resource, kind, direct)
	case strings.Contains(msg, "the cache is not started"):
		return " (the manager's cache is not started yet: mgr.Start starts it before the manager's Runnables and controllers; refresh from those, or once mgr.GetCache().WaitForCacheSync returned true)"
	case strings.HasSuffix(msg, " is not cached"):
		return fmt.Sprintf(" (the cache has no %s informer and its ReaderFailOnMissingInformer is set: start one with mgr.GetCache().GetInformer before the first refresh, or %s)", resource, direct)
	}
	return ""
}

// finished reports whether p has run to completion (phase Succeeded or Failed): no
// Service has it among its endpoints, whatever its Ready condition says (an evicted pod
// may keep Ready=True), and its IP may already be another pod's.
func finished(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// isReady reports whether p should be scraped: Ready=True and not terminating.
func isReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podIP is the pod's address as the Service's endpoints give it: its IP of family, the
// Service's primary IP family (spec.ipFamilies[0]), as the endpoints controller picks
// it. A dual-stack pod's first IP may be of the other family (a single-stack IPv6
// Service in a cluster whose pods get IPv4 first), where its server may not listen at
// all. When the Service names no family or the pod has no IP of it, the pod's primary
// IP: status.podIPs[0], else status.podIP.
func podIP(p *corev1.Pod, family corev1.IPFamily) string {
	if family != "" {
		for _, ip := range p.Status.PodIPs {
			if a, err := netip.ParseAddr(ip.IP); err == nil && (a.Unmap().Is4() == (family == corev1.IPv4Protocol)) {
				return ip.IP
			}
		}
	}
	if len(p.Status.PodIPs) > 0 && p.Status.PodIPs[0].IP != "" {
		return p.Status.PodIPs[0].IP
	}
	return p.Status.PodIP
}

// portHints sets the portHint of each target, whose pod is of at the same position,
// where MetricsPort (port) is not where Service svc (key) forwards to on that pod: where
// it is the Service's port, forwarded to another port of the pods (its targetPort, a
// number, or a name each pod resolves to its own container port); or where it is the
// number other pods give a named targetPort, which this pod declares as another (a
// rollout that moves the port). A refused port the Service does not forward to, and a
// pod that does not declare the name (no endpoint of that Service port), get none:
// nothing says where those pods listen.
func (d *discovery) portHints(svc *corev1.Service, key string, port int32, of []*corev1.Pod) {
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		tp := sp.TargetPort
		if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP {
			continue
		}
		name := ""
		if sp.Name != "" {
			name = fmt.Sprintf(" %q", sp.Name)
		}
		switch {
		case tp.Type == intstr.Int && (tp.IntVal == port || tp.IntVal == 0) || tp.Type == intstr.String && tp.StrVal == "":
			// Forwarded as is (the API server defaults targetPort to port).
		case sp.Port == port && tp.Type == intstr.Int:
			hint := fmt.Sprintf("port %d is service %s's port%s, which forwards to the pods' port %d: scrape the pods' port",
				port, key, name, tp.IntVal)
			for j := range d.targets {
				d.targets[j].portHint = hint
			}
			return
		case sp.Port == port:
			for j := range d.targets {
				if n, ok := namedPort(of[j], tp.StrVal); ok && n != port {
					d.targets[j].portHint = fmt.Sprintf("port %d is service %s's port%s, which forwards to the pods' port named %q, %d on this pod: scrape the pods' port",
						port, key, name, tp.StrVal, n)
				}
			}
			return
		case slices.ContainsFunc(of, func(p *corev1.Pod) bool { n, ok := namedPort(p, tp.StrVal); return ok && n == port }):
			for j := range d.targets {
				if n, ok := namedPort(of[j], tp.StrVal); ok && n != port && d.targets[j].portHint == "" {
					d.targets[j].portHint = fmt.Sprintf("this pod's port named %q, to which service %s's port%s forwards, is %d, not %d as on other pods: the pods declare it differently, and one port cannot scrape them all",
						tp.StrVal, key, name, n, port)
				}
			}
		}
	}
}

// namedPort returns the number of p's TCP container port called name, as Kubernetes
// resolves a Service's named targetPort: on any of its containers, or of its sidecars
// (init containers that restart always).
func namedPort(p *corev1.Pod, name string) (int32, bool) {
	cp, ok := tcpPort(p, func(cp *corev1.ContainerPort) bool { return cp.Name == name })
	return cp.ContainerPort, ok
}

// tcpPort returns the first TCP port of p's containers, then of its sidecars (init
// containers that restart always), that match accepts: the ports a pod listens on.
func tcpPort(p *corev1.Pod, match func(*corev1.ContainerPort) bool) (corev1.ContainerPort, bool) {
	for k, cs := range [2][]corev1.Container{p.Spec.Containers, p.Spec.InitContainers} {
		sidecars := k == 1
		for i := range cs {
			c := &cs[i]
			if sidecars && (c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
				continue
			}
			for j := range c.Ports {
				if cp := &c.Ports[j]; match(cp) && (cp.Protocol == "" || cp.Protocol == corev1.ProtocolTCP) {
					return *cp, true
				}
			}
		}
	}
	return corev1.ContainerPort{}, false
}

// podURL is the metrics URL of the pod at ip; IPv6 addresses are bracketed.
func (s *PodScrapingSource) podURL(ip string) *url.URL {
	u := s.metricsURL // scheme, path and query, validated once
	u.Host = net.JoinHostPort(ip, strconv.Itoa(int(s.config.MetricsPort)))
	return &u
}

// metricsURLTemplate is the pods' metrics URL without a host.
func metricsURLTemplate(cfg *PodScrapingSourceConfig) (url.URL, error) {
	u, err := url.Parse(cfg.MetricsPath)
	if err != nil {
		return url.URL{}, fmt.Errorf("MetricsPath %q: %w", cfg.MetricsPath, err)
	}
	return url.URL{Scheme: cfg.MetricsScheme, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}, nil
}
