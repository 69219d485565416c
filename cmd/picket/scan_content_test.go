package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// contentTree is a root file system with one file for each user-supplied
// list: a YARA rule, a SHA-256 blocklist entry and a gitleaks rule.
func contentTree(t *testing.T) (root string, dropper []byte) {
	t.Helper()
	root = t.TempDir()
	dropper = []byte("#!/bin/sh\n# team-acme dropper, stage 2\necho picket-test-marker-7f3a\n")
	files := map[string][]byte{
		"usr/local/bin/stage2":    dropper,
		"opt/app/settings.ini":    []byte("[acme]\nacme_token = ACME-0123456789abcdef0123456789abcdef\n"),
		"usr/local/bin/blocked":   []byte("\x7fELF pretend this is a known-bad tool build 42\n"),
		"etc/os-release":          []byte("ID=picket-test\nVERSION_ID=1\n"),
		"usr/share/doc/readme.md": []byte("nothing to see\n"),
	}
	for p, b := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root, dropper
}

func ruleIDsIn(t *testing.T, report string) map[string][]string {
	t.Helper()
	var rep struct {
		Findings []struct {
			RuleID   string `json:"ruleId"`
			Location struct {
				Path string `json:"path"`
			} `json:"location"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(report), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, report)
	}
	out := map[string][]string{}
	for _, f := range rep.Findings {
		out[f.RuleID] = append(out[f.RuleID], f.Location.Path)
	}
	return out
}

// User YARA rules, hash blocklists and gitleaks configurations reach the
// analyzers; bad ones are refused with the flag named, exit 2.
func TestCLIContentRules(t *testing.T) {
	root, _ := contentTree(t)
	dir := t.TempDir()
	rule := filepath.Join(dir, "team.yar")
	os.WriteFile(rule, []byte(`rule Team_Acme_Dropper { meta: severity = "high" strings: $m = "picket-test-marker-7f3a" condition: $m }`), 0o644)
	blocked, _ := os.ReadFile(filepath.Join(root, "usr/local/bin/blocked"))
	sum := sha256.Sum256(blocked)
	block := filepath.Join(dir, "bad.sha256")
	os.WriteFile(block, []byte("# known bad\n"+hex.EncodeToString(sum[:])+"  acme-tool-42\n"), 0o644)
	gl := filepath.Join(dir, "gitleaks.toml")
	os.WriteFile(gl, []byte(`title = "team"
[[rules]]
id = "acme-token"
description = "ACME API token"
regex = '''ACME-[0-9a-f]{32}'''
keywords = ["acme-"]
`), 0o644)
	base := []string{"scan", "image", "--no-cache", "--skip-vuln", "--format", "json", "rootfs:" + root}

	r := runPicket(t, nil, append(base, "--yara-rules", dir, "--hash-blocklist", block, "--secret-config", gl)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := ruleIDsIn(t, r.stdout)
	for id, path := range map[string]string{
		"PKT-HASH-BLOCKLIST": "/usr/local/bin/blocked",
		"acme-token":         "/opt/app/settings.ini",
	} {
		if !strings.Contains(strings.Join(got[id], " "), path) {
			t.Errorf("%s at %s not found: %v", id, path, got)
		}
	}
	yaraFound := false
	for id, paths := range got {
		if strings.Contains(id, "Team_Acme_Dropper") && strings.Contains(strings.Join(paths, " "), "/usr/local/bin/stage2") {
			yaraFound = true
		}
	}
	if !yaraFound && !strings.Contains(r.stderr, "YARA analysis is unavailable") {
		t.Errorf("user YARA rule did not match: %v", got)
	}

	// Without the lists, none of it is reported.
	r = runPicket(t, nil, base...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for id := range ruleIDsIn(t, r.stdout) {
		if id == "PKT-HASH-BLOCKLIST" || id == "acme-token" || strings.Contains(id, "Team_Acme") {
			t.Errorf("%s reported without the user's lists", id)
		}
	}

	brokenRule := filepath.Join(t.TempDir(), "broken.yar")
	os.WriteFile(brokenRule, []byte("rule Broken { condition: nosuch }"), 0o644)
	brokenList := filepath.Join(t.TempDir(), "bad.txt")
	os.WriteFile(brokenList, []byte("not-a-hash\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--yara-rules", brokenRule}, "--yara-rules"},
		{[]string{"--yara-rules", "/nonexistent/rules"}, "--yara-rules"},
		{[]string{"--hash-blocklist", brokenList}, "bad.txt"},
		{[]string{"--secret-config", "/nonexistent.toml"}, "--secret-config"},
		{[]string{"--fuzzy-threshold", "0"}, "--fuzzy-threshold"},
		{[]string{"--no-builtin-secret-rules"}, "--secret-config"},
	} {
		r := runPicket(t, nil, append(base, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q (want exit 2 naming %q)", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// -o naming a FIFO (or /dev/null) writes into it; renaming a temporary file
// over it would replace the device or pipe with a regular file.
func TestOutputToNonRegularFile(t *testing.T) {
	root, _ := contentTree(t)
	fifo := filepath.Join(t.TempDir(), "report.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- b
	}()
	r := runPicket(t, nil, "scan", "image", "--no-cache", "--skip-vuln", "--format", "json", "-o", fifo, "rootfs:"+root)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if b := <-got; !json.Valid(b) {
		t.Errorf("the FIFO's reader got %d bytes of invalid JSON", len(b))
	}
	st, err := os.Lstat(fifo)
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("%s is no longer a FIFO: %v %v", fifo, st.Mode(), err)
	}
	if r := runPicket(t, nil, "scan", "image", "--no-cache", "--skip-vuln", "-o", t.TempDir(), "rootfs:"+root); r.code != 2 || !strings.Contains(r.stderr, "is a directory") {
		t.Errorf("-o DIR: exit %d, %s", r.code, r.stderr)
	}
}
