package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var picketBin string

// TestMain builds the real binary once; the tests run it as users do, so
// exit codes, stdout and stderr are checked end to end.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "picket-cli-test")
	if err != nil {
		panic(err)
	}
	picketBin = filepath.Join(dir, "picket")
	out, err := exec.Command("go", "build", "-o", picketBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func runPicket(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(picketBin, args...)
	cmd.Env = append(append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir()), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{o.String(), e.String(), code}
}

func alpine(t *testing.T) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "images", "alpine-3.10-docker-save.tar.gz")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test data not available: %v", err)
	}
	return p
}

// unsafeImage writes a docker save archive whose layer carries a "../"
// entry, which the scanner reports as a MEDIUM finding.
func unsafeImage(t *testing.T) string {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	tw.WriteHeader(&tar.Header{Name: "../escape", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("x"))
	tw.Close()
	sum := sha256.Sum256(layer.Bytes())
	cfg := fmt.Sprintf(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}`, hex.EncodeToString(sum[:]))
	var img bytes.Buffer
	tw = tar.NewWriter(&img)
	add := func(name string, b []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
		tw.Write(b)
	}
	add("l/layer.tar", layer.Bytes())
	add("c.json", []byte(cfg))
	add("manifest.json", []byte(`[{"Config":"c.json","Layers":["l/layer.tar"]}]`))
	tw.Close()
	p := filepath.Join(t.TempDir(), "unsafe.tar")
	os.WriteFile(p, img.Bytes(), 0o644)
	return p
}

func TestCLI(t *testing.T) {
	img := alpine(t)
	bad := unsafeImage(t)
	cfgDir := t.TempDir()
	cfgFile := filepath.Join(cfgDir, "config.yaml")
	os.WriteFile(cfgFile, []byte("scan:\n  image:\n    format: json\n"), 0o644)
	tests := []struct {
		name   string
		env    []string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{"version", nil, []string{"version"}, 0, "picket ", ""},
		{"table", nil, []string{"scan", "image", img}, 0, "musl", ""},
		{"json", nil, []string{"scan", "image", "-f", "json", "docker-archive:" + img}, 0, `"schemaVersion": 1`, ""},
		{"sarif", nil, []string{"scan", "image", "--format=sarif", img}, 0, `"version": "2.1.0"`, ""},
		{"cyclonedx", nil, []string{"scan", "image", "-f", "cyclonedx", img}, 0, `"specVersion": "1.6"`, ""},
		{"spdx", nil, []string{"scan", "image", "-f", "spdx", img}, 0, `"spdxVersion": "SPDX-2.3"`, ""},
		{"config file", nil, []string{"--config", cfgFile, "scan", "image", img}, 0, `"schemaVersion"`, ""},
		{"env beats config", []string{"PICKET_FORMAT=sarif"}, []string{"--config", cfgFile, "scan", "image", img}, 0, `"2.1.0"`, ""},
		{"flag beats env", []string{"PICKET_FORMAT=sarif"}, []string{"scan", "image", "-f", "spdx", img}, 0, `SPDX-2.3`, ""},
		{"missing explicit config", nil, []string{"--config", "/nonexistent.yaml", "version"}, 2, "", "no such file"},
		{"bad format", nil, []string{"scan", "image", "-f", "xml", img}, 2, "", "unknown format"},
		{"bad env value", []string{"PICKET_NO_CACHE=maybe"}, []string{"scan", "image", img}, 2, "", "PICKET_NO_CACHE"},
		{"missing image", nil, []string{"scan", "image", "docker-archive:/nonexistent.tar"}, 2, "", "no such file"},
		{"bad severity", nil, []string{"scan", "image", "--fail-on", "urgent", img}, 2, "", "unknown severity"},
		{"fail-on passes", nil, []string{"scan", "image", "--skip-vuln", "--fail-on", "high", img}, 0, "PKT-IMG-ROOT-USER", ""},
		{"fail-on medium fails on root user", nil, []string{"scan", "image", "--skip-vuln", "--fail-on", "medium", img}, 1, "", "policy failed"},
		{"check switched off", nil, []string{"scan", "image", "--skip-vuln", "--fail-on", "medium", "--disable-checks", "PKT-IMG-ROOT-USER", img}, 0, "", ""},
		{"check severity lowered", nil, []string{"scan", "image", "--skip-vuln", "--fail-on", "medium", "--check-severity", "PKT-IMG-ROOT-USER=low", img}, 0, "", ""},
		{"bad check severity", nil, []string{"scan", "image", "--check-severity", "PKT-IMG-ROOT-USER", img}, 2, "", "ID=LEVEL"},
		{"fail-on fails", nil, []string{"scan", "image", "--skip-vuln", "--fail-on", "medium", bad}, 1, "PKT-SCAN-UNSAFE-ENTRY", "policy failed"},
		{"fail-on without database fails closed", nil, []string{"scan", "image", "--fail-on", "high", img}, 2, "", "needs the vulnerability database"},
		{"no database warns", nil, []string{"scan", "image", img}, 0, "musl", "no vulnerability database"},
		{"unknown analyzer", nil, []string{"scan", "image", "--analyzers", "nope", img}, 2, "", "unknown analyzer"},
		{"no args", nil, []string{"scan", "image"}, 2, "", "accepts 1 arg"},
		{"completion", nil, []string{"completion", "bash"}, 0, "__picket", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runPicket(t, tt.env, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("exit %d (want %d)\nstdout: %.500s\nstderr: %.500s", r.code, tt.code, r.stdout, r.stderr)
			}
			if tt.code == 0 && strings.Contains(r.stdout, "\x1b[") {
				t.Error("colour escape codes written to a non-terminal")
			}
		})
	}
}

func TestOutputFileAndCache(t *testing.T) {
	img := alpine(t)
	out := filepath.Join(t.TempDir(), "sbom.json")
	cacheDir := t.TempDir()
	for i := 0; i < 2; i++ {
		r := runPicket(t, nil, "scan", "image", "--cache-dir", cacheDir, "-f", "json", "-o", out, img)
		if r.code != 0 || r.stdout != "" {
			t.Fatalf("exit %d stdout %q stderr %s", r.code, r.stdout, r.stderr)
		}
	}
	var rep struct {
		Packages []struct{ Name string }
		Stats    struct{ LayersCached int }
	}
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Packages) != 14 {
		t.Errorf("%d packages", len(rep.Packages))
	}
	if _, err := os.Stat(filepath.Join(cacheDir, "layers.db")); err != nil {
		t.Errorf("cache not written: %v", err)
	}
}

// TestCLIVulnerabilities runs `picket db import` and the scan gate end to
// end: findings fail the gate, an ignore file and a VEX statement suppress
// them with their reasons shown.
func TestCLIVulnerabilities(t *testing.T) {
	pypi := filepath.Join("..", "..", "..", "shared", "data", "osv", "PyPI")
	if _, err := os.Stat(pypi); err != nil {
		t.Skipf("shared OSV data not available: %v", err)
	}
	dbDir := t.TempDir()
	if r := runPicket(t, nil, "db", "import", "--db-dir", dbDir, pypi); r.code != 0 || !strings.Contains(r.stdout, "2661") {
		t.Fatalf("db import: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := runPicket(t, nil, "db", "status", "--db-dir", dbDir); r.code != 0 || !strings.Contains(r.stdout, "2661") {
		t.Fatalf("db status: %d %s %s", r.code, r.stdout, r.stderr)
	}
	root := t.TempDir()
	meta := filepath.Join(root, "usr/lib/python3.11/site-packages/requests-2.19.0.dist-info")
	os.MkdirAll(meta, 0o755)
	os.WriteFile(filepath.Join(meta, "METADATA"), []byte("Metadata-Version: 2.1\nName: requests\nVersion: 2.19.0\n"), 0o644)
	ref := "rootfs:" + root
	scan := func(extra ...string) result {
		return runPicket(t, nil, append([]string{"scan", "image", "--db-dir", dbDir, "-f", "json"}, append(extra, ref)...)...)
	}
	type out struct {
		Findings []struct {
			RuleID string
		}
		Suppressed []struct {
			Reason string
			Status string
		}
	}
	parse := func(r result) out {
		var o out
		if err := json.Unmarshal([]byte(r.stdout), &o); err != nil {
			t.Fatalf("json: %v\n%s\n%s", err, r.stdout, r.stderr)
		}
		return o
	}
	r := scan("--fail-on", "unknown")
	if r.code != 1 || len(parse(r).Findings) != 2 {
		t.Fatalf("gate: exit %d, %+v", r.code, parse(r))
	}
	ignore := filepath.Join(t.TempDir(), "ignore.yaml")
	os.WriteFile(ignore, []byte("ignore:\n  - id: CVE-2018-18074\n    reason: header stripping not used\n    expires: 2999-01-01\n  - id: PYSEC-2023-74\n    reason: expired\n    expires: 2020-01-01\n"), 0o644)
	vex := filepath.Join(t.TempDir(), "app.openvex.json")
	os.WriteFile(vex, []byte(`{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","author":"t","timestamp":"2026-01-01T00:00:00Z","version":1,
 "statements":[{"vulnerability":{"name":"CVE-2023-32681"},"products":[{"@id":"pkg:pypi/requests@2.19.0"}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}`), 0o644)
	r = scan("--fail-on", "unknown", "--ignorefile", ignore)
	o := parse(r)
	if r.code != 1 || len(o.Findings) != 1 || len(o.Suppressed) != 1 || !strings.Contains(o.Suppressed[0].Reason, "header stripping") {
		t.Fatalf("ignore file: exit %d %+v", r.code, o)
	}
	r = scan("--fail-on", "unknown", "--ignorefile", ignore, "--vex", vex)
	o = parse(r)
	if r.code != 0 || len(o.Findings) != 0 || len(o.Suppressed) != 2 {
		t.Fatalf("ignore file + VEX: exit %d %+v %s", r.code, o, r.stderr)
	}
	if r := scan("--vex", ignore); r.code != 2 {
		t.Errorf("bad VEX accepted: %d", r.code)
	}
	if r := scan("--severity", "CRITICAL"); r.code != 0 || len(parse(r).Findings) != 0 {
		t.Errorf("--severity CRITICAL: %d %+v", r.code, parse(r))
	}
}
