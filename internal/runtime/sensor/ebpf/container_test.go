//go:build linux && amd64

package ebpf

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/runtime/event"
	"github.com/picket-cdr/picket/internal/runtime/sensor/procfs"
	"github.com/picket-cdr/picket/internal/testimage"
)

// collector keeps every event a running sensor emits.
type collector struct {
	mu     sync.Mutex
	events []*event.Event
	cancel context.CancelFunc
	done   chan error
	src    *Sensor
}

func startSensor(t *testing.T, opts ...Option) *collector {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("ebpf: needs root (CAP_BPF, CAP_PERFMON)")
	}
	s, err := New(opts...)
	if errors.Is(err, ErrRejected) {
		t.Fatal(err) // a bug in bpf/picket.bpf.c, not a missing facility
	}
	if errors.Is(err, ErrUnsupported) {
		t.Skip("ebpf: sensor unsupported here: " + err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{cancel: cancel, done: make(chan error, 1), src: s}
	out := make(chan *event.Event, 8192)
	go func() { c.done <- s.Run(ctx, out) }()
	go func() {
		for e := range out {
			c.mu.Lock()
			c.events = append(c.events, e)
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-c.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	time.Sleep(300 * time.Millisecond) // Run has prefilled its cache and is reading
	return c
}

// wait returns the first event matching ok, waiting up to 10 s.
func (c *collector) wait(t *testing.T, what string, ok func(*event.Event) bool) *event.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, e := range c.events {
			if ok(e) {
				c.mu.Unlock()
				return e
			}
		}
		c.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s event within 10 s", what)
	return nil
}

func (c *collector) all(ok func(*event.Event) bool) []*event.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var r []*event.Event
	for _, e := range c.events {
		if ok(e) {
			r = append(r, e)
		}
	}
	return r
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func uniq() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// buildActor builds testdata/actor as a static binary.
func buildActor(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "actor")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./testdata/actor")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build actor: %v\n%s", err, out)
	}
	return bin
}

func kv(out, key string) int64 {
	for _, f := range strings.Fields(out) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// TestContainerBehaviours runs each suspicious behaviour in a busybox
// container and checks the sensor reports it with the container's cgroup
// id and the right fields; then a benign container yields process events
// only.
func TestContainerBehaviours(t *testing.T) {
	if testing.Short() {
		t.Skip("ebpf: container test skipped in -short mode")
	}
	c := startSensor(t)
	img := testimage.RequireBusybox(t)
	actor := buildActor(t)

	name := "picket-test-sensor-" + uniq()
	docker(t, "run", "-d", "--name", name, "--network", "none",
		"--cap-add", "SYS_ADMIN", "--cap-add", "SYS_PTRACE",
		"--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
		img.Ref, "/bin/sleep", "300")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	pid, err := strconv.Atoi(docker(t, "inspect", "-f", "{{.State.Pid}}", name))
	if err != nil {
		t.Fatal(err)
	}
	init, err := procfs.Default.Process(uint32(pid))
	if err != nil {
		t.Fatal(err)
	}
	cg := init.CgroupID
	if cg == 0 {
		t.Fatalf("container init %d has no cgroup id", pid)
	}
	host, err := procfs.Default.Process(uint32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	in := func(e *event.Event) bool { return e.Proc.CgroupID == cg }

	// The container's own process: pid, cgroup, namespaces, image binary.
	e := c.wait(t, "exec of the container's init", func(e *event.Event) bool {
		return in(e) && e.Kind == event.Exec && e.Proc.Filename == "/bin/sleep"
	})
	if e.Proc.PID != uint32(pid) || e.Proc.Exe != "/bin/busybox" || e.Proc.UpperLayer ||
		e.Proc.MntNS == 0 || e.Proc.MntNS == host.MntNS || e.Proc.PidNS == host.PidNS ||
		strings.Join(e.Proc.Args, " ") != "/bin/sleep 300" || e.Proc.Cwd != "/" || e.KernelTime == 0 {
		t.Errorf("init exec = %+v, want pid %d, exe /bin/busybox from the image, own namespaces", e.Proc, pid)
	}

	docker(t, "cp", actor, name+":/actor") // lands in the upper layer

	run := func(t *testing.T, args ...string) string {
		t.Helper()
		return docker(t, append([]string{"exec", name}, args...)...)
	}

	t.Run("exec from upper layer", func(t *testing.T) {
		run(t, "/actor", "true")
		e := c.wait(t, "exec /actor", func(e *event.Event) bool {
			return in(e) && e.Kind == event.Exec && e.Proc.Exe == "/actor"
		})
		if !e.Proc.UpperLayer || e.Proc.ExeDeleted || e.Proc.Args[1] != "true" {
			t.Errorf("exec /actor = %+v, want upper layer", e.Proc)
		}
	})

	t.Run("connect accept bind", func(t *testing.T) {
		out := run(t, "/actor", "connect")
		port, local := uint16(kv(out, "port")), uint16(kv(out, "local"))
		e := c.wait(t, "connect", func(e *event.Event) bool {
			return in(e) && e.Kind == event.Connect && e.Net != nil && e.Net.DstPort == port
		})
		want := event.Net{Family: "ipv4", Proto: "tcp", SrcIP: "127.0.0.1", SrcPort: local, DstIP: "127.0.0.1", DstPort: port}
		if *e.Net != want || (e.Ret != 0 && e.Ret != -115) || e.Proc.Exe != "/actor" { // 0 or EINPROGRESS
			t.Errorf("connect = %+v ret %d exe %s, want %+v", *e.Net, e.Ret, e.Proc.Exe, want)
		}
		a := c.wait(t, "accept", func(e *event.Event) bool {
			return in(e) && e.Kind == event.Accept && e.Net != nil && e.Net.DstPort == port
		})
		if a.Net.SrcPort != local || a.Net.SrcIP != "127.0.0.1" || a.Ret < 0 {
			t.Errorf("accept = %+v ret %d, want peer 127.0.0.1:%d", *a.Net, a.Ret, local)
		}
		c.wait(t, "bind", func(e *event.Event) bool {
			return in(e) && e.Kind == event.Bind && e.Net != nil && e.Net.DstIP == "127.0.0.1" && e.Proc.PID == a.Proc.PID
		})
	})

	t.Run("dup2 socket onto stdio", func(t *testing.T) {
		out := run(t, "/actor", "revshell")
		port := uint16(kv(out, "port"))
		for fd := int32(0); fd <= 2; fd++ {
			e := c.wait(t, fmt.Sprintf("dup onto %d", fd), func(e *event.Event) bool {
				return in(e) && e.Kind == event.DupFD && e.Dup.NewFD == fd && e.Net != nil && e.Net.DstPort == port
			})
			if !e.Dup.Socket || e.Ret != int64(fd) {
				t.Errorf("dup = %+v ret %d", *e.Dup, e.Ret)
			}
		}
		if bad := c.all(func(e *event.Event) bool { return in(e) && e.Kind == event.DupFD && !e.Dup.Socket }); len(bad) > 0 {
			t.Errorf("dup of a non-socket reported: %+v", *bad[0].Dup)
		}
	})

	t.Run("busybox nc -e", func(t *testing.T) {
		run(t, "/bin/sh", "-c", "timeout 10 nc -l -p 7777 >/dev/null & "+
			"for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.3; nc 127.0.0.1 7777 -e /bin/true && break; done; wait")
		e := c.wait(t, "nc dup", func(e *event.Event) bool {
			return in(e) && e.Kind == event.DupFD && e.Proc.Comm == "nc" && e.Dup.NewFD == 0
		})
		if e.Net == nil || e.Net.DstPort != 7777 || !e.Dup.Socket {
			t.Errorf("nc dup = %+v net %+v", *e.Dup, e.Net)
		}
	})

	t.Run("write /etc, read /etc/shadow", func(t *testing.T) {
		run(t, "/bin/sh", "-c", "echo root:x:19000:: > /etc/shadow")
		w := c.wait(t, "write /etc/shadow", func(e *event.Event) bool {
			return in(e) && e.Kind == event.Open && e.File.Path == "/etc/shadow" && e.File.Write
		})
		if w.Ret < 0 || w.Proc.Comm != "sh" {
			t.Errorf("write = %+v ret %d", *w.File, w.Ret)
		}
		run(t, "/bin/cat", "/etc/shadow")
		r := c.wait(t, "read /etc/shadow", func(e *event.Event) bool {
			return in(e) && e.Kind == event.Open && e.File.Path == "/etc/shadow" && !e.File.Write
		})
		if r.Proc.Comm != "cat" || r.Ret < 0 {
			t.Errorf("read = %+v by %s ret %d", *r.File, r.Proc.Comm, r.Ret)
		}
		t0 := uint64(Monotonic())
		run(t, "/bin/sh", "-c", "cd /etc && cat ./shadow >/dev/null")
		c.wait(t, "relative read of shadow", func(e *event.Event) bool {
			return in(e) && e.Kind == event.Open && e.File.Path == "/etc/shadow" && e.KernelTime > t0
		})
	})

	t.Run("release_agent write anywhere", func(t *testing.T) {
		run(t, "/bin/sh", "-c", "mkdir -p /tmp/cgrp && echo /evil > /tmp/cgrp/release_agent")
		c.wait(t, "release_agent write", func(e *event.Event) bool {
			return in(e) && e.Kind == event.Open && e.File.Path == "/tmp/cgrp/release_agent" && e.File.Write
		})
		run(t, "/bin/sh", "-c", "cd /tmp/cgrp && echo 1 > notify_on_release")
		c.wait(t, "relative notify_on_release write", func(e *event.Event) bool {
			return in(e) && e.Kind == event.Open && e.File.Path == "/tmp/cgrp/notify_on_release" && e.File.Write
		})
	})

	t.Run("read of a private key anywhere", func(t *testing.T) {
		run(t, "/bin/sh", "-c", "mkdir -p /home/u/.ssh && echo k > /home/u/.ssh/id_ed25519 && cat /home/u/.ssh/id_ed25519")
		e := c.wait(t, "id_ed25519 read", func(e *event.Event) bool {
			return in(e) && e.Kind == event.Open && e.File.Path == "/home/u/.ssh/id_ed25519" && !e.File.Write
		})
		if e.Proc.Comm != "cat" || e.Ret < 0 {
			t.Errorf("key read by %s ret %d", e.Proc.Comm, e.Ret)
		}
	})

	t.Run("write /bin and chmod +x", func(t *testing.T) {
		run(t, "/bin/sh", "-c", "echo x > /bin/evil && chmod +x /bin/evil")
		c.wait(t, "write /bin/evil", func(e *event.Event) bool {
			return in(e) && e.Kind == event.Open && e.File.Path == "/bin/evil" && e.File.Write && e.File.Flags&0o100 != 0
		})
		e := c.wait(t, "chmod /bin/evil", func(e *event.Event) bool {
			return in(e) && e.Kind == event.Chmod && strings.HasSuffix(e.File.Path, "/bin/evil")
		})
		if e.File.Mode&0o111 == 0 || e.Ret != 0 {
			t.Errorf("chmod = %+v ret %d", *e.File, e.Ret)
		}
	})

	t.Run("memfd exec", func(t *testing.T) {
		run(t, "/actor", "memfd")
		m := c.wait(t, "memfd_create", func(e *event.Event) bool {
			return in(e) && e.Kind == event.Memfd && e.File.Path == "picket-fileless"
		})
		e := c.wait(t, "exec from memfd", func(e *event.Event) bool {
			return in(e) && e.Kind == event.Exec && e.Proc.PID == m.Proc.PID && e.Proc.Args[0] == "fileless"
		})
		if !e.Proc.ExeDeleted || !strings.HasPrefix(e.Proc.Exe, "memfd:picket-fileless") || e.Proc.Args[0] != "fileless" {
			t.Errorf("memfd exec = %+v, want fileless memfd:picket-fileless", e.Proc)
		}
	})

	t.Run("ptrace attach", func(t *testing.T) {
		out := run(t, "/actor", "ptrace")
		e := c.wait(t, "ptrace", func(e *event.Event) bool { return in(e) && e.Kind == event.PtraceOp })
		if e.Ptrace.Request != 16 || int64(e.Ptrace.TargetPID) != kv(out, "target") || e.Ret != 0 {
			t.Errorf("ptrace = %+v ret %d, want attach to %d", *e.Ptrace, e.Ret, kv(out, "target"))
		}
	})

	t.Run("setuid setgid capset", func(t *testing.T) {
		run(t, "/actor", "setuid")
		// runc sets the exec'd process's credentials too: look at the actor's.
		actor := func(e *event.Event) bool { return in(e) && e.Proc.Exe == "/actor" }
		u := c.wait(t, "setuid", func(e *event.Event) bool { return actor(e) && e.Kind == event.SetUID })
		g := c.wait(t, "setgid", func(e *event.Event) bool { return actor(e) && e.Kind == event.SetGID })
		if u.Cred.UID != 65534 || g.Cred.GID != 65534 || u.Ret != 0 {
			t.Errorf("setuid %+v setgid %+v", *u.Cred, *g.Cred)
		}
		run(t, "/actor", "capset")
		cp := c.wait(t, "capset", func(e *event.Event) bool { return actor(e) && e.Kind == event.Capset })
		if cp.Cred.CapEffective == 0 || cp.Cred.CapEffective&(1<<13) != 0 || cp.Cred.CapEffective&(1<<21) == 0 {
			t.Errorf("capset effective = %#x, want SYS_ADMIN without NET_RAW", cp.Cred.CapEffective)
		}
	})

	t.Run("module load attempt", func(t *testing.T) {
		out := run(t, "/actor", "module")
		e := c.wait(t, "finit_module", func(e *event.Event) bool { return in(e) && e.Kind == event.ModuleLoad })
		if int64(e.Module.FD) != kv(out, "fd") || e.Ret >= 0 || e.File == nil || e.File.Path != "/dev/null" {
			t.Errorf("module = %+v file %+v ret %d", *e.Module, e.File, e.Ret)
		}
	})

	t.Run("setns", func(t *testing.T) {
		out := run(t, "/actor", "setns")
		e := c.wait(t, "setns", func(e *event.Event) bool { return in(e) && e.Kind == event.Setns })
		if int64(e.NS.FD) != kv(out, "fd") || e.NS.Flags != 0x40000000 {
			t.Errorf("setns = %+v", *e.NS)
		}
	})

	t.Run("unshare and mount", func(t *testing.T) {
		run(t, "/bin/unshare", "-m", "/bin/sh", "-c", "mount -t tmpfs picket-tmp /tmp")
		u := c.wait(t, "unshare", func(e *event.Event) bool { return in(e) && e.Kind == event.Unshare })
		if u.NS.Flags&0x00020000 == 0 || u.Ret != 0 { // CLONE_NEWNS
			t.Errorf("unshare = %+v ret %d", *u.NS, u.Ret)
		}
		m := c.wait(t, "mount", func(e *event.Event) bool { return in(e) && e.Kind == event.MountOp && e.Mount.FSType == "tmpfs" })
		want := event.Mount{Source: "picket-tmp", Target: "/tmp", FSType: "tmpfs"}
		if m.Mount.Source != want.Source || m.Mount.Target != want.Target || m.Mount.FSType != want.FSType || m.Ret != 0 {
			t.Errorf("mount = %+v ret %d, want %+v", *m.Mount, m.Ret, want)
		}
	})

	t.Run("benign container", func(t *testing.T) {
		bname := "picket-test-sensor-benign-" + uniq()
		docker(t, "run", "-d", "--name", bname, "--network", "none", img.Ref,
			"/bin/sh", "-c", "sleep 1; ls / >/dev/null; echo hi > /tmp/ok; cat /etc/passwd >/dev/null; sleep 1")
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", bname).Run() })
		bpid, _ := strconv.Atoi(docker(t, "inspect", "-f", "{{.State.Pid}}", bname))
		p, err := procfs.Default.Process(uint32(bpid))
		if err != nil || p.CgroupID == 0 {
			t.Fatalf("benign container process: %v", err)
		}
		docker(t, "wait", bname)
		c.wait(t, "benign exit", func(e *event.Event) bool {
			return e.Proc.CgroupID == p.CgroupID && e.Kind == event.Exit && e.Proc.PID == uint32(bpid)
		})
		// runc's own set-up runs in the container's cgroup but still in the
		// host's PID namespace (its cloned-binary mount and re-exec, the
		// CVE-2024-21626 fix): not the container's doing.
		hostPidNS := procfs.NSInode("/proc/self/ns/pid")
		kinds := map[event.Kind]int{}
		for _, e := range c.all(func(e *event.Event) bool {
			return e.Proc.CgroupID == p.CgroupID && (e.Proc.PidNS == 0 || e.Proc.PidNS != hostPidNS)
		}) {
			kinds[e.Kind]++
			if e.Kind != event.Exec && e.Kind != event.Fork && e.Kind != event.Exit {
				t.Logf("unexpected: %s by %s (%s) file %+v net %+v mount %+v", e.Kind, e.Proc.Comm, e.Proc.Exe, e.File, e.Net, e.Mount)
			}
		}
		if kinds[event.Exec] < 4 || kinds[event.Exit] < 4 { // sh, sleep, ls, cat, sleep
			t.Errorf("benign events %v, want ≥4 exec and exit", kinds)
		}
		for k, n := range kinds {
			if k != event.Exec && k != event.Fork && k != event.Exit {
				t.Errorf("benign container produced %d %s events", n, k)
			}
		}
	})

	st := c.src.Stats()
	t.Logf("stats: %+v", st)
	if st.Lost != 0 {
		t.Errorf("lost %d events in user space", st.Lost)
	}
	for cpu, d := range st.Drops {
		if d != 0 {
			t.Errorf("cpu %d dropped %d events", cpu, d)
		}
	}
}

// TestOverlayUpperLayer mounts a kernel overlayfs and runs one binary from
// its lower layer, one created through the mount (upper layer) and one
// copied up by a chmod: the CO-RE read of struct ovl_inode.__upperdentry
// must tell them apart.
func TestOverlayUpperLayer(t *testing.T) {
	c := startSensor(t)
	dir := t.TempDir()
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skip("ebpf: no /bin/true to copy: " + err.Error())
	}
	for _, n := range []string{"fromlower", "copiedup"} {
		if err := os.WriteFile(filepath.Join(dir, "lower", n), self, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	merged := filepath.Join(dir, "merged")
	opts := fmt.Sprintf("lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work", dir, dir, dir)
	if out, err := exec.Command("mount", "-t", "overlay", "overlay", "-o", opts, merged).CombinedOutput(); err != nil {
		t.Skipf("ebpf: cannot mount overlayfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", merged).Run() })
	if err := os.WriteFile(filepath.Join(merged, "fromupper"), self, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(merged, "copiedup"), 0o750); err != nil { // copy-up
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		upper bool
	}{{"fromlower", false}, {"fromupper", true}, {"copiedup", true}} {
		path := filepath.Join(merged, tc.name)
		if err := exec.Command(path).Run(); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		e := c.wait(t, "exec "+tc.name, func(e *event.Event) bool { return e.Kind == event.Exec && e.Proc.Filename == path })
		if e.Proc.Exe != path || e.Proc.UpperLayer != tc.upper {
			t.Errorf("%s: exe %q upper %v, want %q upper %v", tc.name, e.Proc.Exe, e.Proc.UpperLayer, path, tc.upper)
		}
	}
}

// TestKernelDropsCounted fills a one-page ring buffer that nobody reads:
// the failed reservations must show up in the per-CPU drop counters.
func TestKernelDropsCounted(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("ebpf: needs root")
	}
	s, err := New(WithRingBufferSize(os.Getpagesize()), WithSyscalls(false))
	if errors.Is(err, ErrRejected) {
		t.Fatal(err) // a bug in bpf/picket.bpf.c, not a missing facility
	}
	if errors.Is(err, ErrUnsupported) {
		t.Skip("ebpf: sensor unsupported here: " + err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 10; i++ {
		if err := exec.Command("/bin/true").Run(); err != nil {
			t.Fatal(err)
		}
	}
	var total uint64
	st := s.Stats()
	for _, d := range st.Drops {
		total += d
	}
	if len(st.Drops) == 0 || total < 5 { // one exec record (~3.5 KiB) fits in a page
		t.Fatalf("drops = %v, want ≥5 in total", st.Drops)
	}
	s.Close()
	if after := s.Stats().Drops; len(after) != len(st.Drops) {
		t.Fatalf("drops after Close = %v", after)
	}
}

// TestDropPolicyCountsLost runs with an unbuffered channel nobody reads
// and the Drop policy: every event is counted as lost, none blocks Run.
func TestDropPolicyCountsLost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("ebpf: needs root")
	}
	s, err := New(WithFullPolicy(Drop), WithSyscalls(false))
	if errors.Is(err, ErrRejected) {
		t.Fatal(err) // a bug in bpf/picket.bpf.c, not a missing facility
	}
	if errors.Is(err, ErrUnsupported) {
		t.Skip("ebpf: sensor unsupported here: " + err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, make(chan *event.Event)) }()
	time.Sleep(300 * time.Millisecond)
	for i := 0; i < 5; i++ {
		exec.Command("/bin/true").Run()
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Events[event.Exec] < 5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	var counted uint64
	for _, n := range st.Events {
		counted += n
	}
	if st.Events[event.Exec] < 5 || st.Lost != counted {
		t.Fatalf("stats = %+v, want ≥5 exec events and every counted event lost", st)
	}
}
