package pod

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestPodIPPrefersPodIPsFirst(t *testing.T) {
	ips := func(ips ...string) []corev1.PodIP {
		out := make([]corev1.PodIP, len(ips))
		for i, ip := range ips {
			out[i] = corev1.PodIP{IP: ip}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		status corev1.PodStatus
		want   string
	}{
		{"podIPs[0] differs from podIP", corev1.PodStatus{PodIP: "10.0.0.1", PodIPs: ips("10.0.0.2", "10.0.0.1")}, "10.0.0.2"},
		{"dual stack, IPv6 first", corev1.PodStatus{PodIP: "10.0.0.1", PodIPs: ips("fd00::1", "10.0.0.1")}, "fd00::1"},
		{"only podIP", corev1.PodStatus{PodIP: "10.0.0.1"}, "10.0.0.1"},
		{"podIPs[0] empty", corev1.PodStatus{PodIP: "10.0.0.1", PodIPs: ips("")}, "10.0.0.1"},
		{"no IP yet", corev1.PodStatus{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := podIP(&corev1.Pod{Status: tc.status}); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
