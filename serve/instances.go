package serve

import (
	"context"
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// instanceLabel is the label Prometheus' pod discovery gives a target: <pod IP>:<port>.
const instanceLabel = "instance"

// instances maps a Service's pods to their instance label. The source puts the pod's
// address only on its own PromQL history, not on the all_metrics values serve reads, so
// serve reads it from the API itself, only when a scrape has a pod it does not know (a
// pod's IP never changes while it lives): a Service Get and a pod List then, nothing in
// the steady state. Used by the Service's scrapes only, which never overlap.
type instances struct {
	reader client.Reader
	key    client.ObjectKey // the Service
	port   int32
	known  map[string]string // pod name -> instance
}

// lookup returns the instance of each of pods it can tell, reading the Service's pods
// first when one is new; pods no longer scraped are forgotten. A failed read leaves the
// new pods without an instance until a later scrape reads them.
func (in *instances) lookup(ctx context.Context, pods []string) map[string]string {
	for _, p := range pods {
		if _, ok := in.known[p]; !ok {
			in.read(ctx)
			break
		}
	}
	keep := make(map[string]string, len(pods))
	for _, p := range pods {
		if v, ok := in.known[p]; ok {
			keep[p] = v
		}
	}
	in.known = keep
	return keep
}

// read lists the Service's pods and records the instance of each that has an IP.
func (in *instances) read(ctx context.Context) {
	var svc corev1.Service
	if err := in.reader.Get(ctx, in.key, &svc); err != nil || len(svc.Spec.Selector) == 0 {
		return
	}
	var pods corev1.PodList
	if err := in.reader.List(ctx, &pods, client.InNamespace(in.key.Namespace),
		client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(svc.Spec.Selector)},
		client.UnsafeDisableDeepCopy); err != nil {
		return
	}
	if in.known == nil {
		in.known = map[string]string{}
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		ip := p.Status.PodIP
		if len(p.Status.PodIPs) > 0 {
			ip = p.Status.PodIPs[0].IP
		}
		if ip != "" {
			in.known[p.Name] = net.JoinHostPort(ip, strconv.Itoa(int(in.port)))
		}
	}
}
