package bench

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseDockerdArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    map[string][]string
		wantErr string
	}{
		{"none", nil, map[string][]string{}, ""},
		{"bool flags", []string{"--icc=false", "--live-restore", "--userland-proxy=false", "-D"},
			map[string][]string{"icc": {"false"}, "live-restore": {"true"}, "userland-proxy": {"false"}, "debug": {"true"}}, ""},
		{"hosts in every form", []string{"-H", "fd://", "-H=unix:///run/d.sock", "-Htcp://0.0.0.0:2375", "--host", "tcp://127.0.0.1:2376", "--host=unix:///x"},
			map[string][]string{"hosts": {"fd://", "unix:///run/d.sock", "tcp://0.0.0.0:2375", "tcp://127.0.0.1:2376", "unix:///x"}}, ""},
		{"renamed list flags", []string{"--insecure-registry", "10.0.0.0/8", "--insecure-registry=reg:5000", "--storage-opt", "dm.basesize=20G", "--authorization-plugin=authz", "--default-ulimit", "nofile=100:200", "--log-opt", "max-size=10m"},
			map[string][]string{"insecure-registries": {"10.0.0.0/8", "reg:5000"}, "storage-opts": {"dm.basesize=20G"}, "authorization-plugins": {"authz"}, "default-ulimits": {"nofile=100:200"}, "log-opts": {"max-size=10m"}}, ""},
		{"short value flags", []string{"-l", "debug", "-G", "dockerusers", "-s", "overlay2", "-g", "/data"},
			map[string][]string{"log-level": {"debug"}, "group": {"dockerusers"}, "storage-driver": {"overlay2"}, "data-root": {"/data"}}, ""},
		{"tls", []string{"--tlsverify", "--tlscacert=/etc/docker/ca.pem", "--tlscert", "/etc/docker/cert.pem", "--tlskey=/etc/docker/key.pem"},
			map[string][]string{"tlsverify": {"true"}, "tlscacert": {"/etc/docker/ca.pem"}, "tlscert": {"/etc/docker/cert.pem"}, "tlskey": {"/etc/docker/key.pem"}}, ""},
		{"containerd and config file", []string{"--containerd=/run/containerd/containerd.sock", "--config-file", "/etc/d.json"},
			map[string][]string{"containerd": {"/run/containerd/containerd.sock"}, "config-file": {"/etc/d.json"}}, ""},
		{"missing value", []string{"--log-level"}, map[string][]string{}, "needs a value"},
		{"positional", []string{"serve"}, map[string][]string{}, "unexpected argument"},
		{"combined bool shorthands", []string{"-Dv"}, map[string][]string{}, "combined shorthand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDockerdArgs(tt.args)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("error: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestParseDaemonJSON(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		want    map[string][]string
		wantErr string
	}{
		{"empty object", `{}`, map[string][]string{}, ""},
		{"scalars", `{"icc": false, "log-level": "info", "mtu": 1400, "debug": true}`,
			map[string][]string{"icc": {"false"}, "log-level": {"info"}, "mtu": {"1400"}, "debug": {"true"}}, ""},
		{"lists and objects", `{"insecure-registries": ["a:5000", "10.0.0.0/8"], "log-opts": {"max-size": "10m", "max-file": "3"},
			"default-ulimits": {"nofile": {"Name": "nofile", "Hard": 64000, "Soft": 64000}}, "hosts": []}`,
			map[string][]string{"insecure-registries": {"a:5000", "10.0.0.0/8"}, "log-opts": {"max-file=3", "max-size=10m"},
				"default-ulimits": {`nofile={"Hard":64000,"Name":"nofile","Soft":64000}`}, "hosts": nil}, ""},
		{"null value", `{"userns-remap": null}`, map[string][]string{"userns-remap": nil}, ""},
		{"not an object", `["icc"]`, nil, "invalid JSON"},
		{"null document", `null`, nil, "not a JSON object"},
		{"trailing data", `{"icc": false} {"icc": true}`, nil, "trailing data"},
		{"broken", `{"icc": fal`, nil, "invalid JSON"},
		{"empty file", ``, nil, "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDaemonJSON([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
	if _, err := ParseDaemonJSON([]byte(`{"a":"` + strings.Repeat("x", maxDaemonJSON) + `"}`)); err == nil {
		t.Error("oversized daemon.json accepted")
	}
}

func TestMergeDaemonConfig(t *testing.T) {
	flags := map[string][]string{"icc": {"false"}, "hosts": {"fd://"}}
	file := map[string][]string{"icc": {"true"}, "live-restore": {"true"}}
	got, conflicts := MergeDaemonConfig(flags, file, "/etc/docker/daemon.json")
	if got["icc"].Source != "flag" || got["icc"].Values[0] != "false" {
		t.Errorf("icc = %+v, want the flag's false", got["icc"])
	}
	if got["live-restore"].Source != "/etc/docker/daemon.json" {
		t.Errorf("live-restore = %+v, want from the file", got["live-restore"])
	}
	if len(conflicts) != 1 || !strings.Contains(conflicts[0], "icc") {
		t.Errorf("conflicts = %v, want one about icc", conflicts)
	}
}

func TestParseAuditRules(t *testing.T) {
	rules := `# docker
-w /usr/bin/dockerd -k docker
-w /var/lib/docker/ -p wa -k docker
-a always,exit -F path=/usr/bin/runc -F perm=x -k docker
-a always,exit -F dir=/etc/docker -F perm=wa
-w/run/containerd -k docker
-D
`
	got := ParseAuditRules(rules)
	for _, p := range []string{"/usr/bin/dockerd", "/var/lib/docker", "/usr/bin/runc", "/etc/docker", "/run/containerd"} {
		if !got[p] {
			t.Errorf("%s not recognised as watched; got %v", p, got)
		}
	}
	if len(got) != 5 {
		t.Errorf("got %d paths, want 5: %v", len(got), got)
	}
	a := auditRules{paths: map[string]string{"/etc/docker": "x"}}
	if w, _, ok := a.watchedBy("/etc/docker/daemon.json"); !ok || w != "/etc/docker" {
		t.Errorf("directory watch does not cover its files: %q %v", w, ok)
	}
	if _, _, ok := a.watchedBy("/etc/dockerfoo"); ok {
		t.Error("/etc/dockerfoo covered by a watch on /etc/docker")
	}
}

func TestParseMountInfo(t *testing.T) {
	in := `22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
23 22 254:0 /var/lib/docker /var/lib/docker rw,relatime shared:1 - ext4 /dev/vda rw
24 22 254:16 / /srv/with\040space rw - xfs /dev/vdb rw
`
	if _, err := ParseMountInfo(strings.NewReader(in + "bad line\n")); err == nil {
		t.Error("a malformed line was accepted")
	}
	ms, err := ParseMountInfo(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Fatalf("got %d mounts, want 3: %+v", len(ms), ms)
	}
	if ms[1].Root != "/var/lib/docker" || ms[1].Device != "254:0" || ms[2].MountPoint != "/srv/with space" || ms[2].FSType != "xfs" {
		t.Errorf("parsed %+v", ms)
	}
}

func FuzzParseDaemonJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"icc":false,"hosts":["tcp://0.0.0.0:2375"],"log-opts":{"a":"b"}}`, `{"default-ulimits":{"nofile":{"Hard":1}}}`, `[]`, `null`, `{"a":[[1,{"b":null}]]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseDaemonJSON(b)
		if err == nil && m == nil {
			t.Fatal("nil map without error")
		}
		merged, _ := MergeDaemonConfig(nil, m, "daemon.json")
		d := &DaemonConfig{settings: merged}
		for k := range m {
			_, _ = d.Get(k)
			_, _ = d.Bool(k)
			_ = d.Describe(k)
		}
	})
}

func FuzzParseDockerdArgs(f *testing.F) {
	f.Add("-H\x00fd://\x00--icc=false\x00--log-level\x00debug\x00-Htcp://x\x00--tlsverify")
	f.Add("--\x00x")
	f.Add("-")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseDockerdArgs(strings.Split(s, "\x00"))
	})
}

func FuzzParseAuditRules(f *testing.F) {
	f.Add("-w /etc/docker -k docker\n-a always,exit -F path=/usr/bin/runc")
	f.Add("-w")
	f.Fuzz(func(t *testing.T, s string) {
		for p := range ParseAuditRules(s) {
			if !strings.HasPrefix(p, "/") && p != "." {
				t.Fatalf("non-absolute path %q", p)
			}
		}
	})
}

func FuzzParseMountInfo(f *testing.F) {
	f.Add("22 1 254:0 / / rw - ext4 /dev/vda rw\n")
	f.Add(`1 2 3 \0 \777 a b c - d e f`)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseMountInfo(strings.NewReader(s))
	})
}
