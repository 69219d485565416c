package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/picket-cdr/picket/internal/runtime/event"
	"github.com/picket-cdr/picket/internal/testimage"
)

func TestContainerID(t *testing.T) {
	id := strings.Repeat("ab12", 16)
	tests := []struct{ path, want string }{
		{"/docker/" + id, id},
		{"/system.slice/docker-" + id + ".scope", id},
		{"/kubepods/besteffort/pod1234/" + id, id},
		{"/docker/" + id + "/", id},
		{"/", ""},
		{"/user.slice/user-0.slice/session-1.scope", ""},
		{"/docker/" + id[:63], ""},
		{"/docker/" + id + "x", ""},
		{"/docker/" + strings.ToUpper(id), ""},
	}
	for _, tt := range tests {
		if got := ContainerID(tt.path); got != tt.want {
			t.Errorf("ContainerID(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func FuzzContainerID(f *testing.F) {
	f.Add("/docker/" + strings.Repeat("0", 64))
	f.Fuzz(func(t *testing.T, p string) {
		if id := ContainerID(p); id != "" && (len(id) != 64 || !strings.Contains(p, id)) {
			t.Fatalf("ContainerID(%q) = %q", p, id)
		}
	})
}

func TestCgroup2Mount(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	mi := "25 30 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n" +
		"35 25 0:30 / /sys/fs/cgroup/unified\\040x rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
	if err := os.WriteFile(filepath.Join(dir, "self/mountinfo"), []byte(mi), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := cgroup2Mount(dir); got != "/sys/fs/cgroup/unified x" {
		t.Errorf("cgroup2Mount = %q", got)
	}
}

func requireDocker(t *testing.T) testimage.Image {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("container: needs root to read other processes' /proc entries")
	}
	return testimage.RequireBusybox(t)
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func startResolver(t *testing.T, o Options) *Resolver {
	t.Helper()
	r, err := New(nil, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for !r.Stats().Connected {
		if time.Now().After(deadline) {
			t.Fatal("resolver did not connect to Docker")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r
}

// procEvent is what a sensor reports for pid: its cgroup id and pid ns.
func procEvent(t *testing.T, r *Resolver, pid int) *event.Event {
	t.Helper()
	_, p, err := r.containerOfPID(pid)
	if err != nil {
		t.Fatal(err)
	}
	return &event.Event{Kind: event.Exec, Proc: event.Process{PID: uint32(pid),
		CgroupID: inode(filepath.Join(r.o.CgroupRoot, p)), PidNS: nsInode(fmt.Sprintf("/proc/%d/ns/pid", pid))}}
}

func TestAttribute(t *testing.T) {
	img := requireDocker(t)
	r := startResolver(t, Options{})
	name := fmt.Sprintf("picket-test-agent-attr-%d", time.Now().UnixNano())
	dir := t.TempDir()
	id := docker(t, "run", "-d", "--name", name, "--label", "team=blue", "-v", dir+":/data:ro", img.Ref, "sleep", "30")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	pid, _ := strconv.Atoi(docker(t, "inspect", "-f", "{{.State.Pid}}", id))

	ev := procEvent(t, r, pid)
	if err := r.Attribute(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	c := ev.Container
	if c.Host || c.ID != id || c.Name != name || c.Image != img.Ref || c.ImageID != img.ID || c.Labels["team"] != "blue" || c.Privileged {
		t.Errorf("container = %+v", c)
	}
	if len(c.Mounts) != 1 || c.Mounts[0].Source != dir || c.Mounts[0].Target != "/data" || c.Mounts[0].RW {
		t.Errorf("mounts = %+v", c.Mounts)
	}

	// The same container by pid namespace alone (no cgroup id: a cgroup v1 host).
	ev2 := &event.Event{Proc: event.Process{PID: 1 << 30, PidNS: ev.Proc.PidNS}}
	if err := r.Attribute(context.Background(), ev2); err != nil || ev2.Container.Name != name {
		t.Errorf("by pid ns: %+v, %v", ev2.Container, err)
	}

	// Gone: the container and its process exit, late events still resolve.
	docker(t, "rm", "-f", name)
	ev3 := &event.Event{Proc: event.Process{PID: uint32(pid), CgroupID: ev.Proc.CgroupID}}
	if err := r.Attribute(context.Background(), ev3); err != nil || ev3.Container.Name != name {
		t.Errorf("after exit: %+v, %v", ev3.Container, err)
	}
}

func TestAttributeHost(t *testing.T) {
	requireDocker(t)
	r := startResolver(t, Options{})
	ev := procEvent(t, r, os.Getpid())
	if err := r.Attribute(context.Background(), ev); err != nil || !ev.Container.Host || ev.Container.ID != "" {
		t.Errorf("own process: %+v, %v", ev.Container, err)
	}
	// A host process that exited: its cgroup is not a container's.
	ev.Proc.PID = 1 << 30
	ev.Proc.CgroupID = 1
	if err := r.Attribute(context.Background(), ev); err != nil || !ev.Container.Host {
		t.Errorf("gone host process: %+v, %v", ev.Container, err)
	}
}

// TestShortLivedContainer: a container whose process exits before the
// event is attributed still gets its name, from the cgroup directory seen
// by inotify when runc created it.
func TestShortLivedContainer(t *testing.T) {
	img := requireDocker(t)
	r := startResolver(t, Options{})
	name := fmt.Sprintf("picket-test-agent-short-%d", time.Now().UnixNano())
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	// The container prints its cgroup path and exits at once; by the time
	// it is read here, its cgroup directory is gone.
	out := docker(t, "run", "--name", name, img.Ref, "cat", "/proc/self/cgroup")
	var cgPath string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "0::") {
			cgPath = strings.TrimPrefix(l, "0::")
		}
	}
	id := ContainerID(cgPath)
	if id == "" {
		t.Skipf("no cgroup v2 path with a container id in %q", out)
	}
	// The inotify event is handled on the resolver's own goroutine: give
	// it a moment (the agent's attribution waits up to 2 s the same way).
	var cg uint64
	for deadline := time.Now().Add(2 * time.Second); cg == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		r.mu.Lock()
		for ino, cid := range r.byCgroup {
			if cid == id {
				cg = ino
			}
		}
		r.mu.Unlock()
	}
	if cg == 0 {
		t.Fatalf("cgroup of %s not recorded by inotify (watched %v)", id[:12], r.watched)
	}
	ev := &event.Event{Proc: event.Process{PID: 1 << 30, CgroupID: cg}}
	if err := r.Attribute(context.Background(), ev); err != nil || ev.Container.Name != name || ev.Container.Image != img.Ref {
		t.Errorf("short-lived: %+v, %v", ev.Container, err)
	}
}

// cutStream is the real Docker client whose first events stream breaks
// after a moment, as it does when dockerd restarts.
type cutStream struct {
	*client.Client
	cuts atomic.Int32
}

func (c *cutStream) Events(ctx context.Context, o client.EventsListOptions) client.EventsResult {
	if c.cuts.Add(1) > 1 {
		return c.Client.Events(ctx, o)
	}
	ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	res := c.Client.Events(ctx, o)
	go func() { <-ctx.Done(); cancel() }()
	return res
}

// TestReconnect: when the events stream breaks, the resolver re-opens it
// (with its backoff) and re-lists the running containers.
func TestReconnect(t *testing.T) {
	img := requireDocker(t)
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	r, err := New(&cutStream{Client: cli}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for r.Stats().Reconnects < 1 || !r.Stats().Connected {
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect: %+v", r.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	name := fmt.Sprintf("picket-test-agent-reconnect-%d", time.Now().UnixNano())
	id := docker(t, "run", "-d", "--name", name, img.Ref, "sleep", "30")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	pid, _ := strconv.Atoi(docker(t, "inspect", "-f", "{{.State.Pid}}", id))
	ev := procEvent(t, r, pid)
	if err := r.Attribute(ctx, ev); err != nil || ev.Container.Name != name {
		t.Errorf("after reconnect: %+v, %v", ev.Container, err)
	}
	// The rename event (from the new stream) refreshes the name.
	docker(t, "rename", name, name+"-renamed")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name+"-renamed").Run() })
	deadline = time.Now().Add(5 * time.Second)
	for {
		ev := procEvent(t, r, pid)
		r.Attribute(ctx, ev)
		if ev.Container.Name == name+"-renamed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rename not seen: %+v", ev.Container)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCacheBound: containers that are gone are evicted beyond the bound.
func TestCacheBound(t *testing.T) {
	img := requireDocker(t)
	r := startResolver(t, Options{MaxContainers: 5})
	for i := 0; i < 12; i++ {
		name := fmt.Sprintf("picket-test-agent-bound-%d-%d", time.Now().UnixNano(), i)
		docker(t, "run", "--rm", "--name", name, img.Ref, "true")
	}
	time.Sleep(500 * time.Millisecond)
	if st := r.Stats(); st.Containers > 5 || st.Evicted == 0 {
		t.Errorf("stats %+v, want at most 5 containers and evictions", st)
	}
}

// slowInspect is the real Docker client with a slow inspect, as under a
// loaded dockerd.
type slowInspect struct {
	*client.Client
	delay time.Duration
}

func (s slowInspect) ContainerInspect(ctx context.Context, id string, o client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	time.Sleep(s.delay)
	return s.Client.ContainerInspect(ctx, id, o)
}

// TestBoundedWait: an event whose container lookup is in flight waits for
// it, up to Options.Wait; past the bound it leaves with the container id
// and ErrUnattributed, and the next event gets the full attribution.
func TestBoundedWait(t *testing.T) {
	img := requireDocker(t)
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	name := fmt.Sprintf("picket-test-agent-wait-%d", time.Now().UnixNano())
	id := docker(t, "run", "-d", "--name", name, img.Ref, "sleep", "30")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	pid, _ := strconv.Atoi(docker(t, "inspect", "-f", "{{.State.Pid}}", id))

	// Waits long enough: full fields.
	r, _ := New(slowInspect{cli, 300 * time.Millisecond}, Options{Wait: 2 * time.Second})
	ev := procEvent(t, r, pid)
	start := time.Now()
	if err := r.Attribute(context.Background(), ev); err != nil || ev.Container.Name != name {
		t.Fatalf("slow lookup: %+v, %v", ev.Container, err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("returned after %s, before the lookup could finish", d)
	}

	// Bound shorter than the lookup.
	r, _ = New(slowInspect{cli, time.Second}, Options{Wait: 100 * time.Millisecond})
	ev = procEvent(t, r, pid)
	err = r.Attribute(context.Background(), ev)
	if !errors.Is(err, ErrUnattributed) || ev.Container.ID != id || ev.Container.Name != "" {
		t.Errorf("past the bound: %+v, %v", ev.Container, err)
	}
	if st := r.Stats(); st.Misses != 1 || st.Waits != 1 {
		t.Errorf("stats %+v", st)
	}
	time.Sleep(1200 * time.Millisecond)
	ev = procEvent(t, r, pid)
	if err := r.Attribute(context.Background(), ev); err != nil || ev.Container.Name != name {
		t.Errorf("after the lookup: %+v, %v", ev.Container, err)
	}
}
