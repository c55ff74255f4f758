package pod

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// TestManySourcesOverOneCachedClient: a controller's sources, one per model's Service
// (vLLM and EPP) in two namespaces, share the manager's cached client, whose cache
// watches both namespaces, on a replica that is not the leader (another holds the
// lease). Each source's loop runs there (every replica keeps its history), and each
// source reads from the shared informers only its own Service's pods: the same selector
// in the other namespace, and the other Service's pods in its own, are not its.
func TestManySourcesOverOneCachedClient(t *testing.T) {
	ctx := t.Context()
	namespaces := []string{fmt.Sprintf("many-a-%d", runs.Add(1)), fmt.Sprintf("many-b-%d", runs.Add(1))}
	block := localcluster.NewAddressBlock()
	want := map[string][]string{} // by namespace/service: its pods
	var configs []PodScrapingSourceConfig
	for _, ns := range namespaces {
		if err := cp.CreateNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
		for svc, pods := range map[string]int{"vllm": 2, "epp": 1} {
			ips := make([]string, pods)
			for i := range ips {
				ips[i] = block.Next()
			}
			port, sel := servePods(t, ctx, ns, svc, ips, func(string) http.Handler { return http.HandlerFunc(okPod) })
			key := ns + "/" + svc
			for i, ip := range ips {
				name := fmt.Sprintf("%s-%d-%s", svc, i, ns) // its namespace in its name
				if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: name, Labels: sel, IP: ip, Ready: true}); err != nil {
					t.Fatal(err)
				}
				want[key] = append(want[key], name)
			}
			configs = append(configs, PodScrapingSourceConfig{ServiceName: svc, ServiceNamespace: ns, MetricsPort: port,
				ScrapeInterval: time.Hour, HistoryRetention: 2 * time.Hour})
		}
	}
	// Another replica holds the lease for an hour.
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespaces[0], Name: "podscrape-controller"},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("other-replica"), LeaseDurationSeconds: ptr.To[int32](3600),
			AcquireTime: &now, RenewTime: &now},
	}
	if err := cp.Client.Create(ctx, lease); err != nil {
		t.Fatal(err)
	}
	watched := map[string]cache.Config{}
	for _, ns := range namespaces {
		watched[ns] = cache.Config{}
	}
	mgr, err := manager.New(cp.Config, manager.Options{
		Scheme:                  localcluster.Scheme(),
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  "0",
		Cache:                   cache.Options{DefaultNamespaces: watched},
		LeaderElection:          true,
		LeaderElectionID:        lease.Name,
		LeaderElectionNamespace: lease.Namespace,
	})
	if err != nil {
		t.Fatal(err)
	}
	var sources []*PodScrapingSource
	for _, cfg := range configs {
		s, err := NewPodScrapingSource(ctx, mgr.GetClient(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		s.QueryList().MustRegister(source.QueryTemplate{Name: "g", Type: source.QueryTypeMetricName, Template: "g"})
		if err := mgr.Add(s); err != nil {
			t.Fatal(err)
		}
		sources = append(sources, s)
	}
	startManager(t, mgr)

	for _, s := range sources {
		key := s.serviceKey()
		deadline := time.Now().Add(30 * time.Second)
		for s.loop.recent(s.config) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the loop did not scrape within 30s on a replica that is not the leader", key)
			}
			time.Sleep(5 * time.Millisecond) // polling the loop's state, with a deadline
		}
		r, err := s.Refresh(ctx, source.RefreshSpec{Queries: []string{"g"}})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		var got []string
		for _, st := range r["g"].PodStatuses() {
			got = append(got, st.Pod)
		}
		if !slices.Equal(got, want[key]) {
			t.Errorf("%s: scraped pods %v, want its own %v", key, got, want[key])
		}
	}
	select {
	case <-mgr.Elected():
		t.Fatal("the manager was elected while another replica holds the lease: the test proves nothing")
	default:
	}
}
