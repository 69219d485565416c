package bench

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostRoot builds a host file tree under a temporary root: a dockerd
// process in proc/, account files, daemon.json, TLS and registry
// certificates, systemd units, audit rules, binaries and real unix sockets,
// every file with the owner and mode the variant asks for.
type hostSpec struct {
	cmdline    []string
	uid        int // of dockerd
	daemonJSON string
	mountinfo  string
	audit      string // rules.d content; "" for no audit configuration
	// modes and owners
	dirMode, jsonMode, unitMode, defaultMode, certMode, caMode, keyMode, sockMode, ctrdSockMode os.FileMode
	owner, sockGroup                                                                            int
}

var goodHost = hostSpec{
	cmdline: []string{"/usr/bin/dockerd", "--containerd=/run/containerd/containerd.sock"},
	daemonJSON: `{"icc": false, "log-level": "info", "userns-remap": "default", "no-new-privileges": true,
  "live-restore": true, "userland-proxy": false, "authorization-plugins": ["authz"],
  "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 2048, "Soft": 1024}},
  "hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2376"], "tlsverify": true,
  "tlscacert": "/etc/docker/tls/ca.pem", "tlscert": "/etc/docker/tls/cert.pem", "tlskey": "/etc/docker/tls/key.pem"}`,
	mountinfo: "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n" +
		"40 22 254:16 / /var/lib/docker rw,relatime shared:2 - xfs /dev/vdb rw\n",
	audit: "-w /usr/bin/dockerd -k docker\n-w /run/containerd -k docker\n-w /var/lib/docker -k docker\n-w /etc/docker -k docker\n" +
		"-w /lib/systemd/system/docker.service -k docker\n-w /lib/systemd/system/docker.socket -k docker\n-w /etc/default/docker -k docker\n" +
		"-a always,exit -F path=/usr/bin/containerd -F perm=x -k docker\n-a always,exit -F path=/usr/bin/runc -F perm=x -k docker\n" +
		"-w /usr/bin/containerd-shim-runc-v2 -k docker\n",
	dirMode: 0o755, jsonMode: 0o644, unitMode: 0o644, defaultMode: 0o644, certMode: 0o444, caMode: 0o444, keyMode: 0o400,
	sockMode: 0o660, ctrdSockMode: 0o660, owner: 0, sockGroup: 999,
}

var badHost = hostSpec{
	cmdline: []string{"/usr/bin/dockerd", "-H", "fd://", "--log-level=debug", "--containerd=/run/containerd/containerd.sock"},
	daemonJSON: `{"icc": true, "iptables": false, "insecure-registries": ["10.0.0.0/8"], "storage-opts": ["dm.basesize=20G"],
  "cgroup-parent": "/custom", "tls": true, "tlscacert": "/etc/docker/tls/ca.pem", "tlscert": "/etc/docker/tls/cert.pem", "tlskey": "/etc/docker/tls/key.pem"}`,
	mountinfo: "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n" +
		"40 22 254:0 /var/lib/docker /var/lib/docker rw,relatime shared:1 - ext4 /dev/vda rw\n",
	dirMode: 0o775, jsonMode: 0o666, unitMode: 0o664, defaultMode: 0o666, certMode: 0o644, caMode: 0o644, keyMode: 0o640,
	sockMode: 0o666, ctrdSockMode: 0o666, owner: 1000, sockGroup: 0,
}

func makeHost(t *testing.T, s hostSpec) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("bench: host tree tests chown files: need root")
	}
	root := t.TempDir()
	write := func(p, content string, mode os.FileMode, uid, gid int) {
		t.Helper()
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(full, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	sock := func(p string, mode os.FileMode, uid, gid int) {
		t.Helper()
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("unix", full)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		if err := os.Chmod(full, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(full, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	write("proc/4242/comm", "dockerd\n", 0o444, 0, 0)
	write("proc/4242/cmdline", strings.Join(s.cmdline, "\x00")+"\x00", 0o444, 0, 0)
	write("proc/4242/status", "Name:\tdockerd\nUid:\t"+itoa(s.uid)+"\t"+itoa(s.uid)+"\t"+itoa(s.uid)+"\t"+itoa(s.uid)+"\n", 0o444, 0, 0)
	write("proc/77/comm", "containerd\n", 0o444, 0, 0)
	write("proc/77/cmdline", "containerd\x00", 0o444, 0, 0)
	write("proc/self/mountinfo", s.mountinfo, 0o444, 0, 0)
	write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n", 0o644, 0, 0)
	write("etc/group", "root:x:0:\ndocker:x:999:alice\nalice:x:1000:\n", 0o644, 0, 0)
	write("etc/hostname", "testhost\n", 0o644, 0, 0)
	write("etc/docker/daemon.json", s.daemonJSON, s.jsonMode, s.owner, s.owner)
	if err := os.Chmod(filepath.Join(root, "etc/docker"), s.dirMode); err != nil {
		t.Fatal(err)
	}
	write("etc/docker/tls/ca.pem", "ca", s.caMode, s.owner, 0)
	write("etc/docker/tls/cert.pem", "cert", s.certMode, s.owner, 0)
	write("etc/docker/tls/key.pem", "key", s.keyMode, s.owner, 0)
	write("etc/docker/certs.d/reg.example:5000/ca.crt", "ca", s.certMode, s.owner, 0)
	write("lib/systemd/system/docker.service", "[Service]\n", s.unitMode, s.owner, 0)
	write("lib/systemd/system/docker.socket", "[Socket]\n", s.unitMode, s.owner, 0)
	write("etc/default/docker", "DOCKER_OPTS=\n", s.defaultMode, s.owner, 0)
	for _, b := range []string{"dockerd", "containerd", "runc", "containerd-shim-runc-v2"} {
		write("usr/bin/"+b, "#!/bin/true\n", 0o755, 0, 0)
	}
	if err := os.MkdirAll(filepath.Join(root, "var/lib/docker"), 0o710); err != nil {
		t.Fatal(err)
	}
	if s.audit != "" {
		write("etc/audit/rules.d/docker.rules", s.audit, 0o640, 0, 0)
	}
	// /var/run is an absolute symlink, as on real hosts: it must resolve
	// inside the root.
	if err := os.Symlink("/run", filepath.Join(root, "var/run")); err != nil {
		t.Fatal(err)
	}
	sock("run/docker.sock", s.sockMode, s.owner, s.sockGroup)
	sock("run/containerd/containerd.sock", s.ctrdSockMode, s.owner, s.owner)
	return root
}

func runHost(t *testing.T, root string, sel Selection, opts ...Option) *Report {
	t.Helper()
	env := NewEnv(append([]Option{WithRoot(root), WithoutDaemon(), WithGetenv(func(string) string { return "" })}, opts...)...)
	defer env.Close()
	rep, err := Run(context.Background(), env, sel)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// want is a check's expected result and, for a WARN, a target its items
// must name.
type want struct {
	result Result
	target string
}

func assertResults(t *testing.T, rep *Report, wants map[string]want) {
	t.Helper()
	for id, w := range wants {
		r, ok := rep.Result(id)
		if !ok {
			t.Errorf("%s: not in the report", id)
			continue
		}
		if r.Result != w.result {
			t.Errorf("%s %s: %s (%s %v), want %s", id, r.Title, r.Result, r.Details, r.Items, w.result)
			continue
		}
		if w.target != "" {
			found := false
			for _, it := range r.Items {
				if it.Target == w.target {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: items %v do not name %s", id, r.Items, w.target)
			}
		}
	}
}

func TestHostChecksBothWays(t *testing.T) {
	tests := []struct {
		name  string
		spec  hostSpec
		wants map[string]want
	}{
		{"compliant host", goodHost, map[string]want{
			"1.1.1": {Pass, ""}, "1.1.2": {Info, "alice"},
			"1.1.3": {Pass, ""}, "1.1.4": {Pass, ""}, "1.1.5": {Pass, ""}, "1.1.6": {Pass, ""}, "1.1.7": {Pass, ""},
			"1.1.9": {Pass, ""}, "1.1.10": {Pass, ""}, "1.1.11": {Pass, ""}, "1.1.13": {Info, ""}, "1.1.14": {Pass, ""},
			"1.1.15": {Info, ""}, "1.1.17": {Pass, ""}, "1.1.18": {Pass, ""},
			"2.1": {Note, ""}, "2.2": {Pass, ""}, "2.3": {Pass, ""}, "2.4": {Pass, ""}, "2.5": {Pass, ""}, "2.7": {Pass, ""},
			"2.8": {Pass, ""}, "2.9": {Pass, ""}, "2.10": {Pass, ""}, "2.11": {Pass, ""}, "2.12": {Pass, ""}, "2.14": {Pass, ""},
			"2.16": {Pass, ""},
			"3.1":  {Pass, ""}, "3.2": {Pass, ""}, "3.3": {Pass, ""}, "3.4": {Pass, ""}, "3.5": {Pass, ""}, "3.6": {Pass, ""},
			"3.7": {Pass, ""}, "3.8": {Pass, ""}, "3.9": {Pass, ""}, "3.10": {Pass, ""}, "3.11": {Pass, ""}, "3.12": {Pass, ""},
			"3.13": {Pass, ""}, "3.14": {Pass, ""}, "3.15": {Pass, ""}, "3.16": {Pass, ""}, "3.17": {Pass, ""}, "3.18": {Pass, ""},
			"3.19": {Pass, ""}, "3.20": {Info, ""}, "3.21": {Info, ""}, "3.22": {Pass, ""}, "3.23": {Pass, ""}, "3.24": {Pass, ""},
		}},
		{"non-compliant host", badHost, map[string]want{
			"1.1.1": {Warn, "/var/lib/docker"}, "1.1.3": {Warn, "/usr/bin/dockerd"}, "1.1.6": {Warn, "/etc/docker"},
			"1.1.11": {Warn, "/etc/docker/daemon.json"}, "1.1.18": {Warn, "/usr/bin/runc"},
			"2.2": {Warn, "dockerd"}, "2.3": {Warn, "dockerd"}, "2.4": {Warn, "dockerd"}, "2.5": {Warn, "10.0.0.0/8"},
			"2.7": {Info, ""}, // -H fd:// only: no TCP listener
			"2.8": {Info, ""}, "2.9": {Warn, "dockerd"}, "2.10": {Info, ""}, "2.11": {Warn, "dockerd"}, "2.12": {Warn, "dockerd"},
			"2.14": {Warn, "dockerd"}, "2.16": {Warn, "dockerd"},
			"3.1": {Warn, "/lib/systemd/system/docker.service"}, "3.2": {Warn, "/lib/systemd/system/docker.service"},
			"3.3": {Warn, "/lib/systemd/system/docker.socket"}, "3.4": {Warn, "/lib/systemd/system/docker.socket"},
			"3.5": {Pass, ""}, "3.6": {Warn, "/etc/docker"},
			"3.7": {Warn, "/etc/docker/certs.d/reg.example:5000/ca.crt"}, "3.8": {Warn, "/etc/docker/certs.d/reg.example:5000/ca.crt"},
			"3.9": {Warn, "/etc/docker/tls/ca.pem"}, "3.10": {Warn, "/etc/docker/tls/ca.pem"},
			"3.11": {Warn, "/etc/docker/tls/cert.pem"}, "3.12": {Warn, "/etc/docker/tls/cert.pem"},
			"3.13": {Warn, "/etc/docker/tls/key.pem"}, "3.14": {Warn, "/etc/docker/tls/key.pem"},
			"3.15": {Warn, "/var/run/docker.sock"}, "3.16": {Warn, "/var/run/docker.sock"},
			"3.17": {Warn, "/etc/docker/daemon.json"}, "3.18": {Warn, "/etc/docker/daemon.json"},
			"3.19": {Warn, "/etc/default/docker"}, "3.22": {Warn, "/etc/default/docker"},
			"3.23": {Warn, "/run/containerd/containerd.sock"}, "3.24": {Warn, "/run/containerd/containerd.sock"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := makeHost(t, tt.spec)
			rep := runHost(t, root, Selection{Sections: []int{1, 2, 3}})
			assertResults(t, rep, tt.wants)
			// Checks that need the daemon SKIP, with the reason, never PASS.
			for _, id := range []string{"1.2.2", "2.6", "2.13", "2.15", "2.17", "2.18"} {
				r, _ := rep.Result(id)
				if r.Result != Skip || !strings.Contains(r.Details, "no Docker daemon") {
					t.Errorf("%s without a daemon: %s %q, want SKIP naming the missing daemon", id, r.Result, r.Details)
				}
			}
			if rep.Host.Hostname != "testhost" {
				t.Errorf("hostname %q, want testhost from the root's /etc/hostname", rep.Host.Hostname)
			}
		})
	}
}

func TestTLSHostWithoutVerification(t *testing.T) {
	s := badHost
	s.cmdline = []string{"/usr/bin/dockerd", "-H", "tcp://0.0.0.0:2375", "-H", "unix:///var/run/docker.sock"}
	root := makeHost(t, s)
	rep := runHost(t, root, Selection{Checks: []string{"2.7", "3.15"}})
	assertResults(t, rep, map[string]want{"2.7": {Warn, "tcp://0.0.0.0:2375"}, "3.15": {Warn, "/var/run/docker.sock"}})
}

func TestUnreadableAndMissing(t *testing.T) {
	root := makeHost(t, goodHost)
	// A symlink loop: stat fails with ELOOP, not "not found" (root reads
	// every file, so a permission error cannot be staged; any error but
	// ENOENT takes the same path).
	for _, p := range []string{"etc/default/docker", "lib/systemd/system/docker.socket"} {
		full := filepath.Join(root, p)
		os.Remove(full)
		if err := os.Symlink(filepath.Base(full)+".loop", full); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Base(full), full+".loop"); err != nil {
			t.Fatal(err)
		}
	}
	// Loop in a directory component.
	os.RemoveAll(filepath.Join(root, "etc/docker/certs.d"))
	if err := os.Symlink("certs.d", filepath.Join(root, "etc/docker/certs.d")); err != nil {
		t.Fatal(err)
	}
	rep := runHost(t, root, Selection{Sections: []int{3}})
	// A symlink is reported for what it is (stat does not follow the last
	// component): the unit's link is root-owned and 0777, which CIS counts as
	// wrong permissions; a loop below is not followed.
	assertResults(t, rep, map[string]want{"3.19": {Pass, ""}, "3.22": {Warn, "/etc/default/docker"}})
	for _, id := range []string{"3.7", "3.8"} {
		r, _ := rep.Result(id)
		if r.Result != Skip || !strings.Contains(r.Details, "certs.d") {
			t.Errorf("%s with a looping certs.d: %s %q, want SKIP with the reason", id, r.Result, r.Details)
		}
	}

	// daemon.json that cannot be read (a directory) and no dockerd process:
	// configuration checks SKIP instead of assuming defaults.
	root2 := makeHost(t, goodHost)
	os.RemoveAll(filepath.Join(root2, "proc/4242"))
	os.Remove(filepath.Join(root2, "etc/docker/daemon.json"))
	if err := os.Mkdir(filepath.Join(root2, "etc/docker/daemon.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	rep = runHost(t, root2, Selection{Sections: []int{2}})
	for _, id := range []string{"2.2", "2.3", "2.4", "2.9", "2.14", "2.16"} {
		r, _ := rep.Result(id)
		if r.Result != Skip || !strings.Contains(r.Details, "daemon.json") {
			t.Errorf("%s with unreadable daemon.json: %s %q, want SKIP naming it", id, r.Result, r.Details)
		}
	}

	// No /proc at all under the root and no daemon.json: nothing is known.
	root3 := t.TempDir()
	rep = runHost(t, root3, Selection{Sections: []int{2, 3}})
	for _, r := range rep.Results {
		if r.Result == Pass {
			t.Errorf("%s PASS on an empty root: %s", r.ID, r.Details)
		}
	}
}

func TestRootlessDaemon(t *testing.T) {
	s := goodHost
	s.uid = 1000
	root := makeHost(t, s)
	if err := os.MkdirAll(filepath.Join(root, "home/alice/.config/docker"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "home/alice/.config/docker/daemon.json"), []byte(`{"icc": false}`), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := runHost(t, root, Selection{Checks: []string{"2.1", "2.2", "3.15", "3.16", "3.23", "3.24", "3.17"}})
	assertResults(t, rep, map[string]want{"2.1": {Pass, ""}, "2.2": {Pass, ""}, "3.17": {Pass, ""}})
	for _, id := range []string{"3.15", "3.16", "3.23", "3.24"} {
		r, _ := rep.Result(id)
		if r.Result != Skip || !strings.Contains(r.Details, "rootless") {
			t.Errorf("%s on a rootless daemon: %s %q, want SKIP", id, r.Result, r.Details)
		}
	}
	if r, _ := rep.Result("3.17"); !strings.Contains(r.Details, "/home/alice/.config/docker/daemon.json") {
		t.Errorf("3.17 looked at %q, want the rootless daemon.json", r.Details)
	}
}

func TestNoDaemonSkipsRuntimeSections(t *testing.T) {
	root := makeHost(t, goodHost)
	for _, opt := range []Option{WithoutDaemon(), WithDockerHost("unix://" + filepath.Join(root, "nothing.sock"))} {
		env := NewEnv(WithRoot(root), opt)
		rep, err := Run(context.Background(), env, Selection{Sections: []int{4, 5, 6, 7}, SkipChecks: []string{"4.5"}})
		env.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rep.Results {
			if r.Result == Note && (r.Section == 4 || r.ID == "5.28") {
				continue // manual checks need no daemon
			}
			if r.Result != Skip || r.Details == "" {
				t.Errorf("%s without a daemon: %s %q, want SKIP with a reason", r.ID, r.Result, r.Details)
			}
		}
		if rep.Host.DaemonError == "" {
			t.Error("report does not say the daemon was unreachable")
		}
	}
}

func TestFlagAndFileConflict(t *testing.T) {
	s := goodHost
	s.cmdline = []string{"/usr/bin/dockerd", "--icc=true", "--containerd=/run/containerd/containerd.sock"}
	root := makeHost(t, s)
	rep := runHost(t, root, Selection{Checks: []string{"2.2"}})
	r, _ := rep.Result("2.2")
	// The running daemon got the flag (icc on), whatever the file says.
	if r.Result != Warn || !strings.Contains(r.Details, "refuse to start") {
		t.Errorf("2.2: %s %q, want WARN naming the conflict", r.Result, r.Details)
	}
	if len(rep.Host.ConfigConflicts) != 1 || !strings.HasPrefix(rep.Host.ConfigConflicts[0], "icc: ") {
		t.Errorf("conflicts %v", rep.Host.ConfigConflicts)
	}
}
