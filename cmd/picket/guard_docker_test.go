package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGuardDockerCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("rules:\n  - id: resource-limits\n    enabled: false\n"), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("rules:\n  - id: x\n    action: deny\n    condition: container.privileged &&\n"), 0o600)
	access := filepath.Join(dir, "access.yaml")
	os.WriteFile(access, []byte("rules:\n  - subjects: ['*']\n    allow: ['FETCH /x']\n"), 0o600)

	r := runPicket(t, nil, "guard", "docker", "--check", "--policy", good)
	if r.code != 0 || !strings.Contains(r.stdout, "ok: 17 policy rules") {
		t.Fatalf("good policy: code %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = runPicket(t, nil, "guard", "docker", "--check", "--policy", bad)
	if r.code != 2 || !strings.Contains(r.stderr, "bad.yaml:4:39: rule x condition: Syntax error") {
		t.Fatalf("bad policy: code %d %q", r.code, r.stderr)
	}
	r = runPicket(t, nil, "guard", "docker", "--check", "--access", access)
	if r.code != 2 || !strings.Contains(r.stderr, "unknown method") {
		t.Fatalf("bad access file: code %d %q", r.code, r.stderr)
	}
	r = runPicket(t, nil, "guard", "docker", "--print-default-policy")
	if r.code != 0 || !strings.Contains(r.stdout, "id: privileged") {
		t.Fatalf("print default: code %d", r.code)
	}
	r = runPicket(t, nil, "guard", "docker", "--listen", "tcp://127.0.0.1:0")
	if r.code != 2 || !strings.Contains(r.stderr, "TCP needs --tls-cert") {
		t.Fatalf("tcp without TLS: code %d %q", r.code, r.stderr)
	}
}
