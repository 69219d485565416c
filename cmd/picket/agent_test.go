package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/testimage"
)

// syncBuffer is a bytes.Buffer a child process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestAgentCheck(t *testing.T) {
	r := runPicket(t, nil, "agent", "--check")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ok: ") {
		t.Fatalf("--check: %d %q %q", r.code, r.stdout, r.stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("rules:\n  - id: x\n    condition: proc.nope == 1\n"), 0o644)
	r = runPicket(t, nil, "agent", "--check", "--rules", bad)
	if r.code != 2 || !strings.Contains(r.stderr, "bad.yaml:3") {
		t.Errorf("bad rules: %d %q", r.code, r.stderr)
	}
	r = runPicket(t, nil, "agent", "--print-default-rules")
	if r.code != 0 || !strings.Contains(r.stdout, "id: reverse-shell") {
		t.Errorf("--print-default-rules: %d", r.code)
	}
	// The printed defaults are a valid user file (replacing every rule).
	own := filepath.Join(t.TempDir(), "own.yaml")
	os.WriteFile(own, []byte(r.stdout), 0o644)
	if r := runPicket(t, nil, "agent", "--check", "--no-default-rules", "--rules", own); r.code != 0 {
		t.Errorf("defaults as a user file: %d %s", r.code, r.stderr)
	}
	r = runPicket(t, nil, "agent", "--list-rules", "--format", "json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) < 20 {
		t.Errorf("--list-rules json: %v (%d rows)", err, len(rows))
	}
	for _, args := range [][]string{
		{"--min-priority", "urgent"}, {"--format", "xml", "--list-rules"}, {"--output", "kafka:x"},
		{"--mining-pools", "/nonexistent"}, {"--webhook-header", "nocolon"}, {"--sensors", "dtrace", "--duration", "1s"},
	} {
		r := runPicket(t, nil, append([]string{"agent"}, args...)...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, r.code, r.stderr)
		}
	}
}

func requireAgentHost(t *testing.T) testimage.Image {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("picket agent: needs root for the eBPF sensor")
	}
	return testimage.RequireBusybox(t)
}

// TestAgentDaemon runs `picket agent` as a daemon: it states its sensors,
// writes the alert of a container's credential search to its file output,
// serves metrics, and exits 0 on SIGTERM after flushing.
func TestAgentDaemon(t *testing.T) {
	img := requireAgentHost(t)
	dir := t.TempDir()
	alerts := filepath.Join(dir, "alerts.jsonl")
	cmd := exec.Command(picketBin, "agent", "--output", "file:"+alerts, "--metrics-listen", "127.0.0.1:0", "--no-fim")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+dir)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "picket agent: ") {
		if time.Now().After(deadline) {
			t.Fatalf("no sensor report: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "ebpf=active") {
		t.Skipf("eBPF sensor not active here: %s", stderr.String())
	}
	time.Sleep(time.Second) // attribution connects
	name := fmt.Sprintf("picket-test-agent-cli-%d", time.Now().UnixNano())
	if out, err := exec.Command("docker", "run", "--rm", "--name", name, img.Ref, "find", "/etc", "-name", "id_rsa").CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v %s", err, out)
	}
	var found map[string]any
	for found == nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		f, err := os.Open(alerts)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["ruleId"] == "search-private-keys" &&
				m["location"].(map[string]any)["container"] == name {
				found = m
			}
		}
		f.Close()
	}
	if found == nil {
		t.Fatalf("no search-private-keys alert for %s in %s", name, alerts)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("agent did not stop within 15s of SIGTERM")
	}
}

// TestAgentOnce: --once stops at the first alert with exit 1.
func TestAgentOnce(t *testing.T) {
	img := requireAgentHost(t)
	name := fmt.Sprintf("picket-test-agent-once-%d", time.Now().UnixNano())
	rules := filepath.Join(t.TempDir(), "once.yaml")
	os.WriteFile(rules, []byte(fmt.Sprintf("rules:\n  - id: once\n    condition: kind == \"exec\" && container.name == %q\n", name)), 0o644)
	cmd := exec.Command(picketBin, "agent", "--no-default-rules", "--rules", rules, "--once", "--duration", "60s", "--no-fim")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "picket agent: ") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "ebpf=active") {
		t.Skipf("eBPF sensor not active here: %s", stderr.String())
	}
	time.Sleep(time.Second)
	exec.Command("docker", "run", "--rm", "--name", name, img.Ref, "true").Run()
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"ruleId":"once"`) {
		t.Errorf("stdout %q", stdout.String())
	}
}
