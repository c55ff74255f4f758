package localcluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// finalizer keeps a pod deleted as "terminating" in the API server, as a kubelet would
// while the containers stop.
const finalizer = "podscrape.test/terminating"

// PodSpec describes a pod to create with its status already set, as a kubelet would.
type PodSpec struct {
	Namespace string
	Name      string
	Labels    map[string]string
	// IP is the pod's address; it must be a loopback address.
	IP string
	// Ready sets the Ready condition to True (else False).
	Ready bool
	// Terminating leaves the pod with a deletionTimestamp.
	Terminating bool
}

// CreateNamespace creates namespace name.
func (cp *ControlPlane) CreateNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := cp.Client.Create(ctx, ns); err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// CreateService creates a ClusterIP Service selecting selector (nil: a Service without a
// selector) on port.
func (cp *ControlPlane) CreateService(ctx context.Context, namespace, name string, selector map[string]string, port int32) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports: []corev1.ServicePort{{
				Name: "metrics", Port: port, TargetPort: intstr.FromInt32(port), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
	if err := cp.Client.Create(ctx, svc); err != nil {
		return fmt.Errorf("create service %s/%s: %w", namespace, name, err)
	}
	return nil
}

// CreatePod creates the pod and sets its status: Running, the IP, and the Ready
// condition; a Terminating pod is then deleted but held by a finalizer.
func (cp *ControlPlane) CreatePod(ctx context.Context, spec PodSpec) (*corev1.Pod, error) {
	if err := checkLoopback(spec.IP); err != nil {
		return nil, fmt.Errorf("pod %s/%s: %w", spec.Namespace, spec.Name, err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: spec.Namespace, Name: spec.Name, Labels: spec.Labels},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "server", Image: "podscrape.test/loopback-server"}},
		},
	}
	if spec.Terminating {
		pod.Finalizers = []string{finalizer}
	}
	if err := cp.Client.Create(ctx, pod); err != nil {
		return nil, fmt.Errorf("create pod %s/%s: %w", spec.Namespace, spec.Name, err)
	}
	if err := cp.SetPodStatus(ctx, pod, spec.IP, spec.Ready); err != nil {
		return nil, err
	}
	if spec.Terminating {
		if err := cp.Client.Delete(ctx, pod); err != nil {
			return nil, fmt.Errorf("delete pod %s/%s: %w", spec.Namespace, spec.Name, err)
		}
	}
	return pod, nil
}

// SetPodStatus sets the pod's IP and Ready condition, and its containers' statuses as a
// kubelet reports them (running, ready as the pod is), so that `kubectl get pods` shows a
// Ready pod 1/1, not 0/1.
func (cp *ControlPlane) SetPodStatus(ctx context.Context, pod *corev1.Pod, ip string, ready bool) error {
	if err := checkLoopback(ip); err != nil {
		return fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	now := metav1.Now()
	started := true
	containers := make([]corev1.ContainerStatus, 0, len(pod.Spec.Containers))
	for _, c := range pod.Spec.Containers {
		containers = append(containers, corev1.ContainerStatus{
			Name:    c.Name,
			Image:   c.Image,
			Ready:   ready,
			Started: &started,
			State:   corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	pod.Status = corev1.PodStatus{
		Phase:  corev1.PodRunning,
		PodIP:  ip,
		PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: status, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: status, LastTransitionTime: now},
		},
		ContainerStatuses: containers,
	}
	if err := cp.Client.Status().Update(ctx, pod); err != nil {
		return fmt.Errorf("set status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// ReleaseTerminating removes the finalizer of every terminating pod in namespace, so
// they go away.
func (cp *ControlPlane) ReleaseTerminating(ctx context.Context, namespace string) error {
	var pods corev1.PodList
	if err := cp.Client.List(ctx, &pods, client.InNamespace(namespace)); err != nil {
		return fmt.Errorf("list pods in %s: %w", namespace, err)
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if len(p.Finalizers) == 0 {
			continue
		}
		p.Finalizers = nil
		if err := cp.Client.Update(ctx, p); err != nil {
			return fmt.Errorf("release pod %s/%s: %w", p.Namespace, p.Name, err)
		}
	}
	return nil
}
