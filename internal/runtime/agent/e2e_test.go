package agent

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/runtime/container"
	"github.com/picket-cdr/picket/internal/runtime/event"
	"github.com/picket-cdr/picket/internal/runtime/output"
	"github.com/picket-cdr/picket/internal/runtime/rules"
	"github.com/picket-cdr/picket/internal/runtime/sensor"
	"github.com/picket-cdr/picket/internal/runtime/sensor/ebpf"
	"github.com/picket-cdr/picket/internal/testimage"
)

// trailsDir holds maltrail's lists (the shared data: ../shared next to the
// repository, or $PICKET_SHARED).
var trailsDir = func() string {
	if d := os.Getenv("PICKET_SHARED"); d != "" {
		return filepath.Join(d, "data", "trails")
	}
	return "../../../../shared/data/trails"
}()

// harness runs the whole agent in-process with the real sensors and
// collects its alerts.
type harness struct {
	a      *Agent
	mu     sync.Mutex
	alerts []*output.Alert
	notify chan struct{}
	lat    []time.Duration
}

var (
	harnessOnce sync.Once
	shared      *harness
	sharedErr   error
	sharedSkip  string
)

// e2eRules are the built-in rules plus a probe that reports every exec in
// the loop test's containers.
const e2eRules = `
rules:
  - id: test-loop-exec
    description: exec in a picket-test-agent-loop container (attribution test)
    condition: kind == "exec" && container.name.startsWith("picket-test-agent-loop-")
    priority: info
`

// startAgent starts (once per test binary) the agent with the real sensors
// and Docker attribution. It skips without root, eBPF or Docker.
func startAgent(t *testing.T) *harness {
	t.Helper()
	if testing.Short() {
		t.Skip("agent: end-to-end tests skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("agent: end-to-end tests need root (eBPF sensor, /proc of other processes)")
	}
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skip("agent: end-to-end tests need the Docker Engine: " + err.Error())
	}
	harnessOnce.Do(func() { shared, sharedSkip, sharedErr = newHarness() })
	if sharedSkip != "" {
		t.Skip(sharedSkip)
	}
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func newHarness() (*harness, string, error) {
	ctx := context.Background()
	srcs, rep, err := sensor.Open(ctx, SensorOptions(sensor.WithSensors(sensor.EBPF))...)
	if err != nil {
		if strings.Contains(rep.String(), ebpf.ErrRejected.Error()) {
			// The kernel loads BPF but refused our programs: a bug, not a
			// missing facility.
			return nil, "", fmt.Errorf("agent: %w", err)
		}
		return nil, "agent: eBPF sensor unavailable: " + err.Error(), nil
	}
	opts := rules.Options{Documents: map[string][]byte{"e2e.yaml": []byte(e2eRules)}}
	if _, err := os.Stat(trailsDir); err == nil {
		opts.MiningPools = []string{filepath.Join(trailsDir, "crypto_mining.txt")}
		opts.Malicious = []string{filepath.Join(trailsDir, "generic_miner.txt"), filepath.Join(trailsDir, "elf_mirai.txt")}
	}
	eng, err := rules.Load(opts)
	if err != nil {
		sensor.Close(srcs)
		return nil, "", err
	}
	res, err := container.New(nil, container.Options{MaxContainers: 64, Grace: 30 * time.Second})
	if err != nil {
		sensor.Close(srcs)
		return nil, "", err
	}
	h := &harness{notify: make(chan struct{}, 1)}
	a, err := New(Config{Sources: srcs, Resolver: res, Rules: eng, OnAlert: h.add})
	if err != nil {
		sensor.Close(srcs)
		return nil, "", err
	}
	h.a = a
	go a.Run(context.Background()) // runs for the life of the test binary
	// Wait for the Docker events stream so attribution is warm.
	deadline := time.Now().Add(15 * time.Second)
	for !res.Stats().Connected {
		if time.Now().After(deadline) {
			return nil, "", errors.New("agent: attribution did not connect to Docker")
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "agent e2e: sensors %s\n", rep)
	return h, "", nil
}

func (h *harness) add(al *output.Alert) {
	h.mu.Lock()
	h.alerts = append(h.alerts, al)
	if al.LatencyNS > 0 && al.RuleID != "test-loop-exec" {
		h.lat = append(h.lat, time.Duration(al.LatencyNS))
	}
	h.mu.Unlock()
	select {
	case h.notify <- struct{}{}:
	default:
	}
}

// forContainer returns the alerts raised in the named container.
func (h *harness) forContainer(name string) []*output.Alert {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*output.Alert
	for _, al := range h.alerts {
		if al.Event.Container.Name == name {
			out = append(out, al)
		}
	}
	return out
}

// wait returns the first alert of rule in container name.
func (h *harness) wait(t *testing.T, name, rule string, timeout time.Duration) *output.Alert {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, al := range h.forContainer(name) {
			if al.RuleID == rule {
				return al
			}
		}
		if time.Now().After(deadline) {
			var got []string
			for _, al := range h.forContainer(name) {
				got = append(got, al.RuleID)
			}
			t.Fatalf("no %s alert for container %s within %s (alerts for it: %v)", rule, name, timeout, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var nameSeq struct {
	sync.Mutex
	n int
}

func containerName(what string) string {
	nameSeq.Lock()
	nameSeq.n++
	n := nameSeq.n
	nameSeq.Unlock()
	return fmt.Sprintf("picket-test-agent-%s-%d-%d", what, os.Getpid(), n)
}

// run starts a detached container and removes it at the end of the test.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	full := append([]string{"run", "-d", "--name", name, "--label", "picket-test=agent"}, args...)
	out, err := exec.Command("docker", full...).CombinedOutput()
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(full, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Python snippets run in the bookworm image.
const (
	pyPtrace = `import ctypes, os, time, signal
libc = ctypes.CDLL(None, use_errno=True)
pid = os.fork()
if pid == 0:
    time.sleep(5); os._exit(0)
time.sleep(0.2)
print("attach", libc.ptrace(16, pid, None, None), ctypes.get_errno())
os.kill(pid, signal.SIGKILL)
os.waitpid(pid, 0)
`
	pyMemfd = `import os
fd = os.memfd_create("payload")
os.write(fd, open("/bin/true", "rb").read())
os.execve(fd, ["true"], {})
`
	// init_module with a buffer that is not an ELF module: the kernel
	// refuses it (ENOEXEC); the attempt is what the rule reports.
	pyModule = `import ctypes
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(64)
print("init_module", libc.syscall(175, buf, 64, b""), ctypes.get_errno())
`
	pyDockerSock = `import socket
s = socket.socket(socket.AF_UNIX)
s.connect("/tmp/api.sock")
s.close()
`
)

// capSysAdmin lets a container mount and enter namespaces (--privileged is
// refused on some hosts, and Docker's seccomp profile would stop the
// syscalls before the sensor sees them).
var capSysAdmin = []string{"--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined"}

// retry runs a client until its server answers (the host may be loaded).
func retry(cmd string) string {
	return "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do " + cmd + " && break; sleep 0.2; done"
}

var cgiScript = `mkdir -p /www/cgi-bin && printf '#!/bin/sh\necho Content-Type: text/plain\necho\nid\n' > /www/cgi-bin/x && chmod +x /www/cgi-bin/x && httpd -p 8080 -h /www && ` +
	retry("wget -q -O- http://127.0.0.1:8080/cgi-bin/x") + "; sleep 1"

// TestEndToEnd: containers perform each behaviour of the built-in rules;
// the agent, running with the real eBPF sensor and Docker attribution,
// raises the matching alert with the container's name and image, within 1s
// of the kernel seeing the event.
func TestEndToEnd(t *testing.T) {
	h := startAgent(t)
	bb := testimage.RequireBusybox(t)
	bw := testimage.RequireBookworm(t)
	tests := []struct {
		name  string
		rules []string
		img   testimage.Image
		opts  []string
		cmd   []string
	}{
		{"shell", []string{"terminal-shell-in-container"}, bb, []string{"-t"}, []string{"sh", "-c", "sleep 2"}},
		{"revshell", []string{"reverse-shell", "netcat-exec"}, bb, nil,
			[]string{"sh", "-c", "nc -l -p 5000 -e /bin/cat & " + retry("echo hi | nc 127.0.0.1 5000") + "; sleep 1"}},
		{"drop", []string{"drop-and-execute"}, bb, nil, []string{"sh", "-c", "cp /bin/busybox /root/dropped && /root/dropped true; sleep 1"}},
		{"tmpexec", []string{"exec-from-tmp"}, bb, nil, []string{"sh", "-c", "cp /bin/busybox /tmp/x && /tmp/x true; sleep 1"}},
		{"etcwrite", []string{"write-below-binary-dir"}, bb, nil, []string{"sh", "-c", "echo x > /etc/evil.conf; sleep 1"}},
		{"shadow", []string{"read-sensitive-file"}, bb, nil, []string{"sh", "-c", "echo 'root:*:1:0:::' > /etc/shadow; cat /etc/shadow; sleep 1"}},
		{"pkgmgr", []string{"package-manager-in-container"}, bw, nil, []string{"apt-get", "--version"}},
		{"pool", []string{"crypto-miner-pool"}, bb, []string{"--network", "none"}, []string{"sh", "-c", "wget -q -T 1 http://pool.minexmr.com:4444/; sleep 1"}},
		{"stratum", []string{"crypto-miner-port"}, bb, nil, []string{"sh", "-c", "nc -l -p 3333 >/dev/null & " + retry("echo x | nc 127.0.0.1 3333") + "; sleep 1"}},
		{"badip", []string{"malicious-connection"}, bb, []string{"--network", "none"}, []string{"sh", "-c", "nc 154.48.241.199 15912; sleep 1"}},
		{"releaseagent", []string{"release-agent-write"}, bb, nil, []string{"sh", "-c", "echo /x > /sys/fs/cgroup/memory/release_agent; sleep 1"}},
		{"mount", []string{"mount-in-container"}, bb, capSysAdmin, []string{"sh", "-c", "mkdir -p /mnt/t && mount -t tmpfs none /mnt/t; sleep 1"}},
		{"nsenter", []string{"setns-in-container"}, bb, capSysAdmin, []string{"sh", "-c", "nsenter -t 1 -u true; sleep 1"}},
		{"unshare", []string{"unshare-in-container"}, bb, capSysAdmin, []string{"sh", "-c", "unshare -u true; sleep 1"}},
		{"dockersock", []string{"docker-socket-in-container"}, bw, []string{"-v", "/var/run/docker.sock:/tmp/api.sock"}, []string{"python3", "-c", pyDockerSock}},
		{"ptrace", []string{"ptrace-attach"}, bw, nil, []string{"python3", "-c", pyPtrace}},
		{"memfd", []string{"fileless-exec"}, bw, nil, []string{"python3", "-c", pyMemfd}},
		{"kmod", []string{"kernel-module-load"}, bw, []string{"--cap-add", "SYS_MODULE", "--security-opt", "seccomp=unconfined"}, []string{"python3", "-c", pyModule}},
		{"cgi", []string{"shell-from-server"}, bb, nil, []string{"sh", "-c", cgiScript}},
		{"clearlog", []string{"clear-logs"}, bb, nil, []string{"sh", "-c", "mkdir -p /var/log && echo a > /var/log/app.log && : > /var/log/app.log; sleep 1"}},
		{"keysearch", []string{"search-private-keys"}, bb, nil, []string{"find", "/etc", "-name", "id_rsa"}},
	}
	_, trailsErr := os.Stat(trailsDir)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if (tt.name == "pool" || tt.name == "badip") && trailsErr != nil {
				t.Skipf("needs the maltrail lists of the shared data (%v; set PICKET_SHARED)", trailsErr)
			}
			name := containerName(tt.name)
			args := append(append(slices.Clone(tt.opts), tt.img.Ref), tt.cmd...)
			id := run(t, name, args...)
			for _, rule := range tt.rules {
				al := h.wait(t, name, rule, 20*time.Second)
				c := al.Event.Container
				if c.Name != name || c.Image != tt.img.Ref || c.ImageID != tt.img.ID || c.ID != id || c.Host {
					t.Errorf("%s: container %+v, want %s (%s)", rule, c, name, tt.img.Ref)
				}
				if al.Location.Container != name || al.Location.Image != tt.img.Ref {
					t.Errorf("%s: location %+v", rule, al.Location)
				}
				if lat := time.Duration(al.LatencyNS); lat <= 0 || lat > time.Second {
					t.Errorf("%s: detection latency %s, want (0, 1s]", rule, lat)
				}
				t.Logf("%s: %s (%s after the kernel event)", rule, al.Title, time.Duration(al.LatencyNS))
			}
		})
	}
}

// TestBenignContainers: a sleeping container and a web server serving
// files raise no alert.
func TestBenignContainers(t *testing.T) {
	h := startAgent(t)
	bb := testimage.RequireBusybox(t)
	sleep := containerName("sleep")
	web := containerName("httpd")
	run(t, sleep, bb.Ref, "sleep", "3")
	run(t, web, bb.Ref, "sh", "-c",
		"mkdir -p /www && echo hello > /www/index.html && (httpd -f -p 8080 -h /www &) && "+
			retry("wget -q -O- http://127.0.0.1:8080/index.html")+" && "+
			"for i in 1 2 3 4 5; do wget -q -O- http://127.0.0.1:8080/index.html; done; sleep 2")
	// Wait for both to finish their work, plus the pipeline's worst case.
	out, _ := exec.Command("docker", "wait", web).CombinedOutput()
	if strings.TrimSpace(string(out)) != "0" {
		logs, _ := exec.Command("docker", "logs", web).CombinedOutput()
		t.Fatalf("web container exit %q: %s", out, logs)
	}
	exec.Command("docker", "wait", sleep).Run()
	time.Sleep(2 * time.Second)
	for _, n := range []string{sleep, web} {
		for _, al := range h.forContainer(n) {
			t.Errorf("benign container %s: alert %s: %s", n, al.RuleID, al.Title)
		}
	}
}

// TestContainerLoop starts and stops many short-lived containers (100 in
// the full suite; 1,000 when selected with -run TestContainerLoop or with
// PICKET_TEST_DOCKERD_RESTART=1; PICKET_TEST_AGENT_LOOP=N sets N):
// each one's exec is attributed to the right container, and the
// attribution cache stays within its bound.
func TestContainerLoop(t *testing.T) {
	h := startAgent(t)
	bb := testimage.RequireBusybox(t)
	n := 100
	if f := flag.Lookup("test.run"); os.Getenv("PICKET_TEST_DOCKERD_RESTART") == "1" ||
		f != nil && strings.Contains(f.Value.String(), "TestContainerLoop") {
		n = 1000
	}
	if v := os.Getenv("PICKET_TEST_AGENT_LOOP"); v != "" {
		fmt.Sscan(v, &n)
	}
	prefix := fmt.Sprintf("picket-test-agent-loop-%d-", os.Getpid())
	var names []string
	const parallel = 8
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	start := time.Now()
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s%d", prefix, i)
		names = append(names, name)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			out, err := exec.Command("docker", "run", "--rm", "--name", name, bb.Ref, "true").CombinedOutput()
			if err != nil {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("%s: %v %s", name, err, out))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, n := range names {
			exec.Command("docker", "rm", "-f", n).Run()
		}
	})
	if len(failures) > 0 {
		t.Fatalf("%d docker runs failed: %v", len(failures), failures[0])
	}
	t.Logf("%d containers started and stopped in %s", n, time.Since(start).Round(time.Millisecond))
	deadline := time.Now().Add(10 * time.Second)
	var missing []string
	for {
		missing = missing[:0]
		for _, name := range names {
			ok := false
			for _, al := range h.forContainer(name) {
				if al.RuleID == "test-loop-exec" && al.Event.Proc.Comm == "true" && al.Event.Container.Image == bb.Ref {
					ok = true
					break
				}
			}
			if !ok {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d containers' exec not attributed (first: %s); attribution %+v", len(missing), n, missing[0], h.a.Stats().Attribution)
	}
	st := h.a.Stats().Attribution
	if st.Containers > 64 {
		t.Errorf("attribution cache holds %d containers, bound 64", st.Containers)
	}
	t.Logf("attribution after the loop: %+v", *st)
}

// TestZZLatencyReport prints the detection latency over every alert of the
// end-to-end tests (run last: Go runs tests in source order).
func TestZZLatencyReport(t *testing.T) {
	h := startAgent(t)
	h.mu.Lock()
	lat := slices.Clone(h.lat)
	h.mu.Unlock()
	if len(lat) == 0 {
		t.Skip("no alerts with a kernel timestamp")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	st := h.a.Stats()
	t.Logf("detection latency over %d alerts: p50 %s, p99 %s, max %s; events %v; sources %+v",
		len(lat), Percentile(lat, .5), Percentile(lat, .99), lat[len(lat)-1], st.Events, st.Sources)
	_ = event.Exec
}

// TestSurvivesDockerdRestart restarts the Docker daemon under the running
// agent: the events stream breaks, attribution reconnects with its backoff,
// and a container started afterwards is attributed and alerted on. It
// restarts the machine's dockerd, so it runs only when
// PICKET_TEST_DOCKERD_RESTART=1 (never alongside other Docker tests).
func TestSurvivesDockerdRestart(t *testing.T) {
	if os.Getenv("PICKET_TEST_DOCKERD_RESTART") != "1" {
		t.Skip("agent: restarts dockerd; set PICKET_TEST_DOCKERD_RESTART=1 to run (alone)")
	}
	h := startAgent(t)
	bb := testimage.RequireBusybox(t)
	restart, err := dockerdRestartCommand()
	if err != nil {
		t.Skip("agent: cannot restart dockerd here: " + err.Error())
	}
	before := h.a.Stats().Attribution.Reconnects

	// A container seen before the restart.
	old := containerName("restart-before")
	run(t, old, bb.Ref, "find", "/etc", "-name", "id_rsa")
	h.wait(t, old, "search-private-keys", 20*time.Second)

	t.Logf("restarting dockerd: %v", restart)
	if out, err := exec.Command(restart[0], restart[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", restart, err, out)
	}
	deadline := time.Now().Add(90 * time.Second)
	for exec.Command("docker", "info").Run() != nil {
		if time.Now().After(deadline) {
			t.Fatal("dockerd did not come back within 90s")
		}
		time.Sleep(500 * time.Millisecond)
	}
	for {
		st := h.a.Stats().Attribution
		if st.Connected && st.Reconnects > before {
			t.Logf("attribution reconnected: %+v", *st)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("attribution did not reconnect: %+v", *st)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A container started after the restart is attributed and alerted on.
	name := containerName("restart-after")
	run(t, name, bb.Ref, "find", "/etc", "-name", "id_rsa")
	al := h.wait(t, name, "search-private-keys", 20*time.Second)
	if al.Event.Container.Image != bb.Ref {
		t.Errorf("after restart: container %+v", al.Event.Container)
	}
}

// dockerdRestartCommand finds how this host manages dockerd:
// $PICKET_TEST_DOCKERD_RESTART_CMD (run with sh -c) when set, else systemd,
// else service(8).
func dockerdRestartCommand() ([]string, error) {
	if c := os.Getenv("PICKET_TEST_DOCKERD_RESTART_CMD"); c != "" {
		return []string{"sh", "-c", c}, nil
	}
	if exec.Command("systemctl", "is-active", "--quiet", "docker").Run() == nil {
		return []string{"systemctl", "restart", "docker"}, nil
	}
	if exec.Command("service", "docker", "status").Run() == nil {
		return []string{"service", "docker", "restart"}, nil
	}
	return nil, errors.New("dockerd is managed neither by systemd nor by service(8); set PICKET_TEST_DOCKERD_RESTART_CMD")
}
