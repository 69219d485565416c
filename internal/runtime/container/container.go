// Package container attributes runtime events to the Docker container (or
// the host) their process belongs to.
//
// A process is mapped to a container id by its cgroup: the event's cgroup id
// (the inode of its cgroup v2 directory) is looked up in a table filled from
// a scan of the cgroup v2 file system, from inotify on the directories where
// container cgroups are created (so a container that lives a few
// milliseconds is still known) and from /proc/<pid>/cgroup; the pid
// namespace is a second key (hosts without a cgroup v2 hierarchy). The
// container id is then resolved with the Docker API (name, image, image id,
// labels, privileged, mounts), cached, and kept fresh from the Docker events
// stream, which is re-opened with a backoff when dockerd restarts. An event
// whose container lookup is still in flight waits for it for a bounded time
// rather than leaving with empty fields. Containers that are gone are kept
// for a grace period (late events of their processes), then evicted; the
// cache is bounded.
package container

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/picket-cdr/picket/internal/runtime/event"
)

// API is the part of the Docker Engine API the resolver uses
// (*client.Client implements it).
type API interface {
	ContainerInspect(ctx context.Context, id string, opts client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerList(ctx context.Context, opts client.ContainerListOptions) (client.ContainerListResult, error)
	Events(ctx context.Context, opts client.EventsListOptions) client.EventsResult
}

// Options configure a Resolver.
type Options struct {
	// Wait bounds how long Attribute waits for a container lookup in
	// flight (default 2s).
	Wait time.Duration
	// MaxContainers bounds the cache; containers that are gone are evicted
	// first (default 4096).
	MaxContainers int
	// Grace is how long a container that died stays resolvable (default 2m).
	Grace time.Duration
	// ProcRoot and CgroupRoot default to /proc and the cgroup v2 mount.
	ProcRoot   string
	CgroupRoot string
	Logger     *slog.Logger
}

// Stats are the resolver's counters.
type Stats struct {
	Containers int    `json:"containers"` // cached containers (running and recently gone)
	Cgroups    int    `json:"cgroups"`    // cgroup ids mapped
	Lookups    uint64 `json:"lookups"`    // Docker inspect calls
	Misses     uint64 `json:"misses"`     // events left without attribution (see Attribute)
	Waits      uint64 `json:"waits"`      // events that waited for a lookup in flight
	Evicted    uint64 `json:"evicted"`    // containers evicted from the cache
	Reconnects uint64 `json:"reconnects"` // Docker events stream re-opened
	Connected  bool   `json:"connected"`  // events stream currently open
}

// ErrUnattributed is returned by Attribute when the event could not be
// attributed: the container's lookup did not finish within Options.Wait, or
// the process and its cgroup were gone before they could be read.
var ErrUnattributed = errors.New("container: not attributed")

// idPattern finds a container id in a cgroup path (/docker/<id>,
// /system.slice/docker-<id>.scope, /kubepods/.../<id>).
var idPattern = regexp.MustCompile(`(?:^|[/-])([0-9a-f]{64})(?:\.scope)?$`)

// Resolver maps events to containers. It is safe for concurrent use.
type Resolver struct {
	api  API
	o    Options
	log  *slog.Logger
	host struct{ pidNS, mntNS uint32 }

	mu       sync.Mutex
	byID     map[string]*entry
	byCgroup map[uint64]string // "" = a host cgroup
	byPidNS  map[uint32]string
	watched  map[string]bool // cgroup directories under inotify
	wdDir    map[int32]string

	scanMu   sync.Mutex
	lastScan time.Time

	inotify int

	lookups, misses, waits, evicted, reconnects atomic.Uint64
	connected                                   atomic.Bool
}

type entry struct {
	id    string
	ready chan struct{} // closed once info is set
	info  event.Container
	err   error
	upper string // overlay upper directory (drop-and-execute checks)
	pid   int
	dead  time.Time // when it died (zero: running or unknown)
	cgs   []uint64
	pidNS uint32
	fetch bool // a lookup is in flight
}

// New returns a resolver using api (nil: the Docker client from the
// environment, DOCKER_HOST and friends).
func New(api API, o Options) (*Resolver, error) {
	if o.Wait <= 0 {
		o.Wait = 2 * time.Second
	}
	if o.MaxContainers <= 0 {
		o.MaxContainers = 4096
	}
	if o.Grace <= 0 {
		o.Grace = 2 * time.Minute
	}
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CgroupRoot == "" {
		o.CgroupRoot = cgroup2Mount(o.ProcRoot)
	}
	if api == nil {
		cli, err := client.New(client.FromEnv)
		if err != nil {
			return nil, fmt.Errorf("container: docker client: %w", err)
		}
		api = cli
	}
	r := &Resolver{api: api, o: o, log: o.Logger, byID: map[string]*entry{}, byCgroup: map[uint64]string{},
		byPidNS: map[uint32]string{}, watched: map[string]bool{}, wdDir: map[int32]string{}, inotify: -1}
	r.host.pidNS = nsInode(filepath.Join(o.ProcRoot, "1/ns/pid"))
	r.host.mntNS = nsInode(filepath.Join(o.ProcRoot, "1/ns/mnt"))
	return r, nil
}

// Stats returns the counters.
func (r *Resolver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{Containers: len(r.byID), Cgroups: len(r.byCgroup), Lookups: r.lookups.Load(),
		Misses: r.misses.Load(), Waits: r.waits.Load(), Evicted: r.evicted.Load(),
		Reconnects: r.reconnects.Load(), Connected: r.connected.Load()}
}

// Run keeps the cache fresh until ctx ends: it scans the cgroup file system,
// watches it for new container cgroups, lists the running containers and
// follows the Docker events stream, re-opening it with a backoff (up to
// 10s) whenever it breaks. It returns ctx's error.
func (r *Resolver) Run(ctx context.Context) error {
	r.startInotify(ctx)
	r.scanCgroups(true)
	tick := time.NewTicker(r.o.Grace / 4)
	defer tick.Stop()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				r.gc(time.Now())
			}
		}
	}()
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		err := r.follow(ctx)
		r.connected.Store(false)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Since(start) > 30*time.Second {
			backoff = 100 * time.Millisecond
		}
		r.log.Warn("container: Docker events stream broke; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		r.reconnects.Add(1)
		backoff = min(backoff*2, 10*time.Second)
	}
}

// follow subscribes to container events, then lists running containers (so
// nothing falls between the two), and applies events until the stream ends.
func (r *Resolver) follow(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := r.api.Events(sctx, client.EventsListOptions{Filters: make(client.Filters).Add("type", string(events.ContainerEventType))})
	list, err := r.api.ContainerList(sctx, client.ContainerListOptions{})
	if err != nil {
		return fmt.Errorf("container: list: %w", err)
	}
	r.connected.Store(true)
	running := map[string]bool{}
	for _, c := range list.Items {
		running[c.ID] = true
		r.refresh(ctx, c.ID)
	}
	// Containers that stopped while the stream was down.
	r.mu.Lock()
	now := time.Now()
	for id, e := range r.byID {
		if !running[id] && e.dead.IsZero() && e.pid != 0 {
			e.dead = now
		}
	}
	r.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-res.Err:
			if err == nil {
				err = errors.New("stream closed")
			}
			return fmt.Errorf("container: events: %w", err)
		case m, ok := <-res.Messages:
			if !ok {
				return errors.New("container: events: stream closed")
			}
			r.apply(ctx, m)
		}
	}
}

func (r *Resolver) apply(ctx context.Context, m events.Message) {
	id := m.Actor.ID
	if !isID(id) {
		return
	}
	switch m.Action {
	case events.ActionCreate, events.ActionStart, events.ActionRestart, events.ActionRename,
		events.ActionUpdate, events.ActionUnPause:
		go r.refresh(ctx, id)
	case events.ActionDie, events.ActionDestroy:
		r.mu.Lock()
		if e := r.byID[id]; e != nil && e.dead.IsZero() {
			e.dead = time.Now()
		}
		r.mu.Unlock()
		if m.Action == events.ActionDestroy {
			r.gc(time.Now())
		}
	}
}

// refresh (re)inspects a container and records its keys.
func (r *Resolver) refresh(ctx context.Context, id string) {
	r.mu.Lock()
	e := r.byID[id]
	if e == nil {
		e = r.newEntryLocked(id)
	}
	if e.fetch {
		r.mu.Unlock()
		return
	}
	e.fetch = true
	r.mu.Unlock()
	r.inspect(ctx, e)
}

func (r *Resolver) newEntryLocked(id string) *entry {
	e := &entry{id: id, ready: make(chan struct{})}
	r.byID[id] = e
	if len(r.byID) > r.o.MaxContainers {
		r.evictLocked(time.Now(), true)
	}
	return e
}

// inspect runs one Docker lookup for e (e.fetch is set by the caller).
func (r *Resolver) inspect(ctx context.Context, e *entry) {
	r.lookups.Add(1)
	ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
	res, err := r.api.ContainerInspect(ictx, e.id, client.ContainerInspectOptions{})
	cancel()
	var info event.Container
	var upper string
	pid := 0
	if err == nil {
		c := res.Container
		info = event.Container{ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"), ImageID: c.Image}
		if c.Config != nil {
			info.Image = c.Config.Image
			if len(c.Config.Labels) > 0 {
				info.Labels = c.Config.Labels
			}
		}
		if c.HostConfig != nil {
			info.Privileged = c.HostConfig.Privileged
		}
		for _, m := range c.Mounts {
			info.Mounts = append(info.Mounts, event.Mount{Source: m.Source, Target: m.Destination, FSType: string(m.Type), RW: m.RW})
		}
		if c.GraphDriver != nil {
			upper = c.GraphDriver.Data["UpperDir"]
		}
		if c.State != nil && c.State.Running {
			pid = c.State.Pid
		}
	} else if cerrdefs.IsNotFound(err) {
		// Not a Docker container (another runtime on the host) or already
		// removed: the id is all there is.
		info = event.Container{ID: e.id}
		err = nil
	} else {
		info = event.Container{ID: e.id}
		err = fmt.Errorf("container: inspect %s: %w", shortID(e.id), err)
	}
	var cg uint64
	var pidNS uint32
	if pid > 0 {
		cg = r.cgroupOfPID(pid)
		pidNS = nsInode(filepath.Join(r.o.ProcRoot, strconv.Itoa(pid), "ns/pid"))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID[e.id] != e {
		return // evicted meanwhile
	}
	first := e.err == nil && e.info.ID == ""
	if err == nil || first {
		e.info, e.err = info, err
	}
	if upper != "" {
		e.upper = upper
	}
	if pid > 0 {
		e.pid, e.dead = pid, time.Time{}
	}
	if cg != 0 {
		r.byCgroup[cg] = e.id
		e.cgs = appendUnique(e.cgs, cg)
	}
	if pidNS != 0 && pidNS != r.host.pidNS {
		r.byPidNS[pidNS] = e.id
		e.pidNS = pidNS
	}
	e.fetch = false
	select {
	case <-e.ready:
	default:
		close(e.ready)
	}
}

func appendUnique(s []uint64, v uint64) []uint64 {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// Attribute fills ev.Container. It returns at once when the process's
// container is cached; when its lookup is in flight it waits at most
// Options.Wait. A host process gets Container.Host. ErrUnattributed (with
// whatever could be found, at least the container id when known) means the
// fields could not all be filled.
func (r *Resolver) Attribute(ctx context.Context, ev *event.Event) error {
	e, host := r.find(ev)
	if host {
		ev.Container = event.Container{Host: true}
		return nil
	}
	if e == nil {
		r.misses.Add(1)
		return ErrUnattributed
	}
	select {
	case <-e.ready:
	default:
		r.waits.Add(1)
		t := time.NewTimer(r.o.Wait)
		select {
		case <-e.ready:
			t.Stop()
		case <-t.C:
			ev.Container = event.Container{ID: e.id}
			r.misses.Add(1)
			return fmt.Errorf("%w: lookup of %s took longer than %s", ErrUnattributed, shortID(e.id), r.o.Wait)
		case <-ctx.Done():
			t.Stop()
			ev.Container = event.Container{ID: e.id}
			return ctx.Err()
		}
	}
	r.mu.Lock()
	ev.Container = e.info
	r.mu.Unlock()
	return nil
}

// Ready reports whether Attribute would return without waiting.
func (r *Resolver) Ready(ev *event.Event) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.Proc.CgroupID != 0 {
		if id, ok := r.byCgroup[ev.Proc.CgroupID]; ok {
			if id == "" {
				return true
			}
			if e := r.byID[id]; e != nil {
				select {
				case <-e.ready:
					return true
				default:
				}
			}
		}
	}
	return false
}

// UpperLayer reports whether path (as seen in the container) exists in the
// container's writable layer: written or modified since the container
// started. It needs an overlay-style storage driver (overlay2,
// fuse-overlayfs); ok is false when the layer is unknown.
func (r *Resolver) UpperLayer(containerID, path string) (upper, ok bool) {
	r.mu.Lock()
	e := r.byID[containerID]
	dir := ""
	if e != nil {
		dir = e.upper
	}
	r.mu.Unlock()
	if dir == "" || !strings.HasPrefix(path, "/") {
		return false, false
	}
	_, err := os.Lstat(filepath.Join(dir, filepath.Clean(path)))
	return err == nil, true
}

// find returns the entry of ev's container, starting its lookup when needed,
// or host=true.
func (r *Resolver) find(ev *event.Event) (e *entry, host bool) {
	cg := ev.Proc.CgroupID
	if id, ok := r.lookupCgroup(cg); ok {
		if id == "" {
			return nil, true
		}
		return r.entryFor(id), false
	}
	// Unknown cgroup: ask /proc while the process lives.
	if ev.Proc.PID != 0 {
		if id, cgPath, err := r.containerOfPID(int(ev.Proc.PID)); err == nil {
			if cg != 0 {
				r.mu.Lock()
				r.byCgroup[cg] = id
				r.mu.Unlock()
			}
			if id == "" {
				return nil, true
			}
			r.watchParent(cgPath)
			return r.entryFor(id), false
		}
	}
	// The process is gone: its cgroup directory may still be there.
	if cg != 0 {
		r.scanCgroups(false)
		if id, ok := r.lookupCgroup(cg); ok {
			if id == "" {
				return nil, true
			}
			return r.entryFor(id), false
		}
	}
	if ns := ev.Proc.PidNS; ns != 0 {
		r.mu.Lock()
		id, ok := r.byPidNS[ns]
		r.mu.Unlock()
		if ok {
			return r.entryFor(id), false
		}
		if ns == r.host.pidNS {
			return nil, true
		}
	}
	return nil, false
}

func (r *Resolver) lookupCgroup(cg uint64) (string, bool) {
	if cg == 0 {
		return "", false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	id, ok := r.byCgroup[cg]
	return id, ok
}

// entryFor returns the entry of id, creating it and starting its lookup.
func (r *Resolver) entryFor(id string) *entry {
	r.mu.Lock()
	e := r.byID[id]
	if e == nil {
		e = r.newEntryLocked(id)
	}
	start := false
	select {
	case <-e.ready:
	default:
		if !e.fetch {
			e.fetch, start = true, true
		}
	}
	r.mu.Unlock()
	if start {
		go r.inspect(context.Background(), e)
	}
	return e
}

// gc evicts containers dead for longer than the grace period, and the
// oldest dead ones beyond the cache bound.
func (r *Resolver) gc(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evictLocked(now, false)
}

func (r *Resolver) evictLocked(now time.Time, overflow bool) {
	for id, e := range r.byID {
		if !e.dead.IsZero() && now.Sub(e.dead) > r.o.Grace {
			r.dropLocked(id, e)
		}
	}
	if len(r.byID) <= r.o.MaxContainers && !overflow {
		return
	}
	// Over the bound: the dead first, oldest first, then entries that never
	// resolved to a running container.
	for len(r.byID) > r.o.MaxContainers {
		var victim *entry
		for _, e := range r.byID {
			switch {
			case !e.dead.IsZero():
				if victim == nil || victim.dead.IsZero() || e.dead.Before(victim.dead) {
					victim = e
				}
			case e.pid == 0 && victim == nil:
				victim = e
			}
		}
		if victim == nil {
			break // every entry is a running container: keep them
		}
		r.dropLocked(victim.id, victim)
	}
	if len(r.byCgroup) > 16*r.o.MaxContainers {
		for cg, id := range r.byCgroup {
			if id == "" {
				delete(r.byCgroup, cg) // host cgroups come back from /proc
			}
		}
	}
}

func (r *Resolver) dropLocked(id string, e *entry) {
	delete(r.byID, id)
	for _, cg := range e.cgs {
		if r.byCgroup[cg] == id {
			delete(r.byCgroup, cg)
		}
	}
	for ns, nid := range r.byPidNS {
		if nid == id {
			delete(r.byPidNS, ns)
		}
	}
	r.evicted.Add(1)
}

// containerOfPID reads /proc/<pid>/cgroup: the container id ("" for a host
// process) and the cgroup v2 path.
func (r *Resolver) containerOfPID(pid int) (id, v2path string, err error) {
	f, err := os.Open(filepath.Join(r.o.ProcRoot, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	found := false
	for sc.Scan() {
		found = true
		line := sc.Text()
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2path = parts[2]
		}
		if id == "" {
			id = ContainerID(parts[2])
		}
	}
	if err := sc.Err(); err != nil {
		return "", "", err
	}
	if !found {
		return "", "", fmt.Errorf("container: /proc/%d/cgroup is empty (exited)", pid)
	}
	return id, v2path, nil
}

// ContainerID extracts a container id from a cgroup path, or "".
func ContainerID(cgroupPath string) string {
	m := idPattern.FindStringSubmatch(strings.TrimRight(cgroupPath, "/"))
	if m == nil {
		return ""
	}
	return m[1]
}

func (r *Resolver) cgroupOfPID(pid int) uint64 {
	_, p, err := r.containerOfPID(pid)
	if err != nil || p == "" || r.o.CgroupRoot == "" {
		return 0
	}
	r.watchParent(p)
	return inode(filepath.Join(r.o.CgroupRoot, p))
}

// scanCgroups walks the cgroup v2 tree (to depth 4) and maps the inode of
// every directory named after a container. Forced scans run at once; others
// at most every 5ms, concurrent callers sharing one.
func (r *Resolver) scanCgroups(force bool) {
	if r.o.CgroupRoot == "" {
		return
	}
	r.scanMu.Lock()
	defer r.scanMu.Unlock()
	if !force && time.Since(r.lastScan) < 5*time.Millisecond {
		return
	}
	r.lastScan = time.Now()
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, de := range ents {
			if !de.IsDir() {
				continue
			}
			p := filepath.Join(dir, de.Name())
			if id := ContainerID("/" + de.Name()); id != "" {
				if ino := inode(p); ino != 0 {
					r.mu.Lock()
					r.byCgroup[ino] = id
					if e := r.byID[id]; e != nil {
						e.cgs = appendUnique(e.cgs, ino)
					}
					r.mu.Unlock()
				}
				r.watchDir(dir)
				continue
			}
			if depth < 4 {
				walk(p, depth+1)
			}
		}
	}
	walk(r.o.CgroupRoot, 1)
}

func inode(p string) uint64 {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return 0
	}
	return st.Ino
}

func nsInode(p string) uint32 {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return 0
	}
	return uint32(st.Ino)
}

// cgroup2Mount finds the cgroup v2 mount point (/sys/fs/cgroup on unified
// hosts, /sys/fs/cgroup/unified on hybrid ones) in mountinfo.
func cgroup2Mount(procRoot string) string {
	f, err := os.Open(filepath.Join(procRoot, "self/mountinfo"))
	if err != nil {
		return ""
	}
	defer f.Close()
	ms, err := mountinfo.GetMountsFromReader(f, mountinfo.FSTypeFilter("cgroup2"))
	if err != nil || len(ms) == 0 {
		return ""
	}
	return ms[0].Mountpoint
}

func isID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
