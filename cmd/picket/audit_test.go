package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/audit"
)

func TestAuditVerifyExitCodes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"alice", "bob", "carol"} {
		if _, err := w.Write(audit.Record{Identity: id, Decision: "allow"}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	_, head := w.Head()

	r := runPicket(t, nil, "audit", "verify", path)
	if r.code != 0 || !strings.Contains(r.stdout, "OK, 3 records") {
		t.Fatalf("intact log: code %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runPicket(t, nil, "audit", "verify", "--expect-head", head, path); r.code != 0 {
		t.Fatalf("--expect-head matching: code %d %s", r.code, r.stderr)
	}
	if r := runPicket(t, nil, "audit", "verify", "--expect-head", strings.Repeat("0", 64), path); r.code != 1 {
		t.Fatalf("--expect-head mismatch: code %d", r.code)
	}
	data, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(data), `"bob"`, `"eve"`, 1)), 0o600)
	r = runPicket(t, nil, "audit", "verify", "--format", "json", path)
	if r.code != 1 || !strings.Contains(r.stdout, `"first_bad_line": 2`) {
		t.Fatalf("tampered log: code %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runPicket(t, nil, "audit", "verify", filepath.Join(t.TempDir(), "missing")); r.code != 2 {
		t.Fatalf("missing file: code %d", r.code)
	}
}
