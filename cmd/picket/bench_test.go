package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/testregistry"
)

func TestBenchDockerCLI(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		name     string
		env      []string
		args     []string
		code     int
		contains string
	}{
		{"json on an empty root without a daemon", nil, []string{"bench", "docker", "--no-daemon", "--root", root, "--section", "3", "-f", "json"}, 0, `"benchmark": "CIS Docker Benchmark v1.6.0"`},
		{"format from the environment", []string{"PICKET_FORMAT=junit"}, []string{"bench", "docker", "--no-daemon", "--root", root, "--check", "2.6"}, 0, "<testsuites"},
		{"fail-on skip", nil, []string{"bench", "docker", "--no-daemon", "--root", root, "--section", "7", "--fail-on", "skip"}, 1, ""},
		{"unknown check", nil, []string{"bench", "docker", "--check", "9.9"}, 2, `unknown check "9.9"`},
		{"unknown format", nil, []string{"bench", "docker", "--format", "yaml"}, 2, "unknown format"},
		{"bad fail-on", nil, []string{"bench", "docker", "--fail-on", "often"}, 2, "unknown condition"},
		{"bad section", nil, []string{"bench", "docker", "--skip-section", "x"}, 2, "not a section number"},
		{"missing root", nil, []string{"bench", "docker", "--root", root + "/nope"}, 2, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runPicket(t, tt.env, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.contains) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s\n%s", r.code, tt.code, tt.contains, r.stdout, r.stderr)
			}
		})
	}
}

func TestBenchDockerCLIRealDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the Docker Engine")
	}
	r := runPicket(t, nil, "bench", "docker", "--check", "5.4,5.10", "-f", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep struct {
		Host struct {
			DaemonError string `json:"daemonError"`
		} `json:"host"`
		Results []struct{ ID, Result string } `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Host.DaemonError != "" {
		t.Skip("no Docker daemon: " + rep.Host.DaemonError)
	}
	if len(rep.Results) != 2 || rep.Results[0].ID != "5.4" || rep.Results[1].ID != "5.10" {
		t.Errorf("results %+v, want 5.4 and 5.10", rep.Results)
	}
}

func TestBenchExposureCLI(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	r := runPicket(t, nil, "bench", "exposure", closed)
	if r.code != 0 || !strings.Contains(r.stdout, "No exposed API found") {
		t.Errorf("closed port: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runPicket(t, nil, "bench", "exposure", "10.0.0.0/8")
	if r.code != 2 || !strings.Contains(r.stderr, "too many targets") {
		t.Errorf("huge CIDR: exit %d\n%s", r.code, r.stderr)
	}
	if testing.Short() {
		return
	}
	reg := testregistry.Start(t)
	r = runPicket(t, nil, "bench", "exposure", "--fail-on", "high", "-f", "json", reg.Host())
	if r.code != 1 || !strings.Contains(r.stdout, "PKT-EXPOSE-REGISTRY") {
		t.Errorf("open registry with --fail-on high: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
