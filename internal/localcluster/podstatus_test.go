package localcluster_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// kubectlReady is the READY column `kubectl get pods` prints: the pod's containers whose
// status says ready, of its containers.
func kubectlReady(p *corev1.Pod) string {
	ready := 0
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Ready {
			ready++
		}
	}
	return fmt.Sprintf("%d/%d", ready, len(p.Spec.Containers))
}

// TestLLMDPodsLookReadyToKubectl: the demo prints a kubeconfig to try the install with,
// and a user's first command is `kubectl get pods`. Its READY column counts the
// containers a kubelet reports ready, not the pod's Ready condition: with no container
// status, every pod showed 0/1, the Ready ones podscrape scrapes too, as if it scraped
// pods that are not Ready. Each pod's container is ready exactly when the pod is, as a
// kubelet reports it, and running.
func TestLLMDPodsLookReadyToKubectl(t *testing.T) {
	var pods corev1.PodList
	if err := cp.Client.List(context.Background(), &pods, client.InNamespace(llmd.Namespace)); err != nil {
		t.Fatal(err)
	}
	ready := map[string]bool{}
	for _, names := range [][]string{llmd.EPPPods, llmd.VLLMPods, llmd.SGLangPods} {
		for _, n := range names {
			ready[n] = true
		}
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		condition := false
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				condition = c.Status == corev1.ConditionTrue
			}
		}
		want := "0/1"
		if condition {
			want = "1/1"
		}
		if got := kubectlReady(p); got != want {
			t.Errorf("pod %s: kubectl READY %s, want %s (Ready condition %v)", p.Name, got, want, condition)
		}
		if ready[p.Name] && !condition {
			t.Errorf("pod %s: scraped as Ready, but its Ready condition is not True", p.Name)
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Running == nil {
				t.Errorf("pod %s: container %s not running: %+v", p.Name, cs.Name, cs.State)
			}
		}
	}
}
