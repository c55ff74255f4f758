package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// soakMode is how a soak pod answers its scrapes.
type soakMode int

const (
	soakHealthy soakMode = iota
	soakStatus           // 500, with a valid exposition as its body
	soakHang             // takes the request and never answers
	soakStall            // sends the headers and valid lines, then stalls
	soakGarbage          // valid lines, then a line that does not parse
	soakCut              // valid lines, then the connection is cut before Content-Length
	soakModes            // how many modes there are
)

func (m soakMode) String() string {
	return [...]string{"healthy", "500", "hang", "stall", "garbage", "cut"}[m]
}

// soakOccupant is the pod an address belongs to now, as the address' server answers.
type soakOccupant struct {
	pod  string
	born time.Time // its counter is 0 here and grows 1 a second
	mode soakMode
}

// soakSlot is one loopback address of the soak's pods, with the server that answers
// there for whichever pod holds it, as a node answers for the pod it gave the IP.
type soakSlot struct {
	ip string

	mu       sync.Mutex    // protects occupant; orders a counter's birth after every answer of the address' previous pod
	occupant *soakOccupant // nil: no pod holds the address, connections are cut
}

// exposition is what a pod exposes at now: the gauge load, 1 in every pod, and the
// counter ticks_total, growing 1 a second from the pod's birth, with the exposition's
// own timestamp (now, in milliseconds), so that no rate of it can exceed 1 whatever
// the scrapes' jitter.
func (o *soakOccupant) exposition(now time.Time) string {
	ms := now.UnixMilli()
	ticks := float64(ms-o.born.UnixMilli()) / 1000
	return "# TYPE load gauge\nload 1\n# TYPE ticks counter\nticks_total " +
		strconv.FormatFloat(ticks, 'g', -1, 64) + " " + strconv.FormatInt(ms, 10) + "\n"
}

func (sl *soakSlot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The time is read with the occupant, under the lock that installs a new one: an
	// answer of the address' previous pod is always from before the new pod's birth.
	sl.mu.Lock()
	now, o := time.Now(), sl.occupant
	sl.mu.Unlock()
	if o == nil {
		panic(http.ErrAbortHandler) // nothing listens here for the pod scraped: cut
	}
	body := o.exposition(now)
	w.Header().Set("Content-Type", textFormat)
	switch o.mode {
	case soakHealthy:
		_, _ = w.Write([]byte(body))
	case soakStatus:
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(body))
	case soakHang:
		<-r.Context().Done()
	case soakStall:
		_, _ = w.Write([]byte(body))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	case soakGarbage:
		_, _ = w.Write([]byte(body + "this is { not an exposition\n"))
	case soakCut:
		w.Header().Set("Content-Length", strconv.Itoa(len(body)+64))
		_, _ = w.Write([]byte(body))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
}

// install makes the address pod's, born now, answering healthy; or nobody's (pod "").
func (sl *soakSlot) install(pod string) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if pod == "" {
		sl.occupant = nil
		return
	}
	sl.occupant = &soakOccupant{pod: pod, born: time.Now(), mode: soakHealthy}
}

// setMode makes the address' pod answer as m from its next request on.
func (sl *soakSlot) setMode(m soakMode) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.occupant != nil {
		o := *sl.occupant
		o.mode = m
		sl.occupant = &o
	}
}

// soakPod is a pod of the chaos' model: what it made the API server hold.
type soakPod struct {
	name        string
	slot        *soakSlot
	ready       bool
	terminating bool // deleted, held by a finalizer: still Ready, not scraped
	// handedOver: its address was given to a pod created since, while its status still
	// claims it, Ready (its sandbox gone, the kubelet not told yet): the address is the
	// other pod's, and is scraped once, as that pod.
	handedOver bool
	mode       soakMode
}

// soakChaos changes a Service's pods at random, from a seed, as a cluster does: pods
// turn not Ready and back, are deleted and created again under their name (another UID,
// another IP or the same), are replaced by pods of new names on the addresses freed,
// scale up and down, and answer 500, hang, stall, serve garbage or cut their answer,
// then come back. It is the only writer of the Service's pods, and always leaves at
// least one pod Ready: the Service always has a pod to answer for, so an empty answer
// without an error is never right.
type soakChaos struct {
	rng       *rand.Rand
	ns        string
	labels    map[string]string
	slots     []*soakSlot
	pods      []*soakPod // live pods, in no order
	nextName  int
	minPods   int
	maxPods   int
	steps     map[string]int // actions taken, by kind
	lastFreed *soakSlot      // the address freed last: a new pod takes it first, as a node reuses IPs
}

// newSoakChaos serves every address of slots on one port and creates pods pods,
// Ready and healthy, on the first ones.
func newSoakChaos(ctx context.Context, seed uint64, ns string, slots []*soakSlot, pods int) (*soakChaos, error) {
	c := &soakChaos{
		rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), ns: ns, labels: map[string]string{"app": "soak"},
		slots: slots, minPods: pods - 4, maxPods: pods + 2, steps: map[string]int{},
	}
	for i := range pods {
		if _, err := c.create(ctx, c.newName(), slots[i], true); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *soakChaos) newName() string {
	c.nextName++
	return fmt.Sprintf("soak-%04d", c.nextName)
}

// create installs pod name at slot's address and creates its Pod object.
func (c *soakChaos) create(ctx context.Context, name string, slot *soakSlot, ready bool) (*soakPod, error) {
	slot.install(name)
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: c.ns, Name: name, Labels: c.labels, IP: slot.ip, Ready: ready}); err != nil {
		return nil, err
	}
	p := &soakPod{name: name, slot: slot, ready: ready}
	c.pods = append(c.pods, p)
	return p, nil
}

// remove deletes p's Pod object, then frees its address.
func (c *soakChaos) remove(ctx context.Context, p *soakPod) error {
	obj := &corev1.Pod{}
	obj.Namespace, obj.Name = c.ns, p.name
	if err := cp.Client.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s/%s: %w", c.ns, p.name, err)
	}
	// A pod never scheduled to a node is deleted at once (no grace period): a new pod
	// of its name can be created now.
	p.slot.install("")
	c.lastFreed = p.slot
	c.pods = slices.DeleteFunc(c.pods, func(q *soakPod) bool { return q == p })
	return nil
}

// setReady sets p's Ready condition.
func (c *soakChaos) setReady(ctx context.Context, p *soakPod, ready bool) error {
	var obj corev1.Pod
	if err := cp.Client.Get(ctx, keyOf(c.ns, p.name), &obj); err != nil {
		return fmt.Errorf("get pod %s/%s: %w", c.ns, p.name, err)
	}
	if err := cp.SetPodStatus(ctx, &obj, p.slot.ip, ready); err != nil {
		return err
	}
	p.ready = ready
	return nil
}

// readyOthers counts the pods other than p that are Ready and not terminating: those a
// scraper scrapes.
func (c *soakChaos) readyOthers(p *soakPod) int {
	n := 0
	for _, q := range c.pods {
		if q != p && q.ready && !q.terminating && !q.handedOver {
			n++
		}
	}
	return n
}

// terminate deletes p's Pod object while a finalizer holds it, as a kubelet holds a pod
// while its containers stop: it keeps its Ready condition and its address, with a
// deletionTimestamp.
func (c *soakChaos) terminate(ctx context.Context, p *soakPod) error {
	var obj corev1.Pod
	if err := cp.Client.Get(ctx, keyOf(c.ns, p.name), &obj); err != nil {
		return fmt.Errorf("get pod %s/%s: %w", c.ns, p.name, err)
	}
	obj.Finalizers = append(obj.Finalizers, soakFinalizer)
	if err := cp.Client.Update(ctx, &obj); err != nil {
		return fmt.Errorf("hold pod %s/%s: %w", c.ns, p.name, err)
	}
	if err := cp.Client.Delete(ctx, &obj); err != nil {
		return fmt.Errorf("delete pod %s/%s: %w", c.ns, p.name, err)
	}
	p.terminating = true
	return nil
}

// release lets a terminating pod go, and frees its address.
func (c *soakChaos) release(ctx context.Context, p *soakPod) error {
	var obj corev1.Pod
	if err := cp.Client.Get(ctx, keyOf(c.ns, p.name), &obj); err != nil {
		return fmt.Errorf("get pod %s/%s: %w", c.ns, p.name, err)
	}
	obj.Finalizers = slices.DeleteFunc(obj.Finalizers, func(f string) bool { return f == soakFinalizer })
	if err := cp.Client.Update(ctx, &obj); err != nil {
		return fmt.Errorf("release pod %s/%s: %w", c.ns, p.name, err)
	}
	p.slot.install("")
	c.lastFreed = p.slot
	c.pods = slices.DeleteFunc(c.pods, func(q *soakPod) bool { return q == p })
	return nil
}

// soakFinalizer holds a terminating soak pod.
const soakFinalizer = "podscrape.test/soak"

// setModes makes every live pod answer as m.
func (c *soakChaos) setModes(m soakMode) {
	for _, p := range c.pods {
		p.mode = m
		p.slot.setMode(m)
	}
}

// freeSlot returns an address no pod holds: the one freed last when free (a node gives
// a deleted pod's IP to the next pod quickly), else one at random.
func (c *soakChaos) freeSlot() *soakSlot {
	used := map[*soakSlot]bool{}
	for _, p := range c.pods {
		used[p.slot] = true
	}
	if c.lastFreed != nil && !used[c.lastFreed] && c.rng.IntN(2) == 0 {
		return c.lastFreed
	}
	var free []*soakSlot
	for _, s := range c.slots {
		if !used[s] {
			free = append(free, s)
		}
	}
	return free[c.rng.IntN(len(free))]
}

// step takes one random action.
func (c *soakChaos) step(ctx context.Context) error {
	p := c.pods[c.rng.IntN(len(c.pods))]
	switch {
	case p.terminating:
		c.steps["released"]++
		return c.release(ctx, p)
	case p.handedOver: // its status catches up: it goes, the address stays the other pod's
		obj := &corev1.Pod{}
		obj.Namespace, obj.Name = c.ns, p.name
		if err := cp.Client.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete pod %s/%s: %w", c.ns, p.name, err)
		}
		c.pods = slices.DeleteFunc(c.pods, func(q *soakPod) bool { return q == p })
		c.steps["handed over, gone"]++
		return nil
	}
	switch n := c.rng.IntN(100); {
	case n < 2: // an outage: every pod fails at once
		m := soakMode(1 + c.rng.IntN(int(soakModes)-1))
		c.setModes(m)
		c.steps["outage "+m.String()]++
	case n < 6: // every pod back
		c.setModes(soakHealthy)
		c.steps["every pod back"]++
	case n < 40: // the pod's answers change; a failing pod mostly comes back
		m := soakMode(1 + c.rng.IntN(int(soakModes)-1))
		if p.mode != soakHealthy && c.rng.IntN(3) > 0 {
			m = soakHealthy
		}
		p.mode = m
		p.slot.setMode(m)
		c.steps["mode "+m.String()]++
	case n < 65: // not Ready and back
		if p.ready && c.readyOthers(p) == 0 {
			return nil
		}
		c.steps[fmt.Sprintf("ready %v", !p.ready)]++
		return c.setReady(ctx, p, !p.ready)
	case n < 77: // deleted, and created again under its name: another UID, another address or the same
		if c.readyOthers(p) == 0 {
			return nil
		}
		if err := c.remove(ctx, p); err != nil {
			return err
		}
		c.steps["recreated"]++
		_, err := c.create(ctx, p.name, c.freeSlot(), c.rng.IntN(3) > 0)
		return err
	case n < 82: // terminating, held a while
		if c.readyOthers(p) == 0 {
			return nil
		}
		c.steps["terminating"]++
		return c.terminate(ctx, p)
	case n < 85: // its address given to a new pod while its own status still claims it
		if c.readyOthers(p) == 0 {
			return nil
		}
		p.handedOver = true
		c.steps["handed over"]++
		_, err := c.create(ctx, c.newName(), p.slot, c.rng.IntN(3) > 0)
		return err
	case n < 89: // replaced by a pod of a new name, on the address freed
		if c.readyOthers(p) == 0 {
			return nil
		}
		if err := c.remove(ctx, p); err != nil {
			return err
		}
		c.steps["replaced"]++
		_, err := c.create(ctx, c.newName(), c.freeSlot(), c.rng.IntN(3) > 0)
		return err
	default: // scaled up or down
		if len(c.pods) < c.maxPods && (len(c.pods) <= c.minPods || c.rng.IntN(2) == 0) {
			c.steps["scaled up"]++
			_, err := c.create(ctx, c.newName(), c.freeSlot(), c.rng.IntN(2) == 0)
			return err
		}
		if c.readyOthers(p) == 0 {
			return nil
		}
		c.steps["scaled down"]++
		return c.remove(ctx, p)
	}
	return nil
}
