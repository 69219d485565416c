package suppress

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/finding"
)

func vuln(id, ids, pkg, purl, path string) *finding.Finding {
	return &finding.Finding{Kind: finding.KindVulnerability, RuleID: id, Location: finding.Location{Path: path},
		Attributes: map[string]string{"ids": ids, "package": pkg, "purl": purl}}
}

func ids(f *finding.Finding) []string {
	return append([]string{f.RuleID}, strings.Split(f.Attributes["ids"], ",")...)
}

func write(t *testing.T, name, body string) string {
	p := filepath.Join(t.TempDir(), name)
	os.WriteFile(p, []byte(body), 0o644)
	return p
}

func TestIgnoreFile(t *testing.T) {
	fs := []*finding.Finding{
		vuln("CVE-1", "CVE-1,GO-1", "a", "pkg:golang/a@v1.0.0", "/bin/a"),
		vuln("CVE-2", "CVE-2", "b", "pkg:pypi/b@1.0", "/usr/lib/b"),
		vuln("CVE-3", "CVE-3", "c", "pkg:npm/c@1.0", "/app/node_modules/c/package.json"),
		vuln("CVE-4", "CVE-4", "d", "pkg:npm/d@1.0", "/x"),
		vuln("CVE-5", "CVE-5,GHSA-x", "e", "", "/y"),
	}
	s := New()
	s.now = func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) }
	err := s.LoadIgnoreFile(write(t, "ignore.yaml", `ignore:
  - id: GO-1
    reason: alias works
  - id: CVE-2
    reason: other package only
    packages: [zzz]
  - id: CVE-3
    reason: app path only
    paths: ["/app/*"]
  - id: CVE-4
    reason: expired
    expires: 2026-05-31
  - id: ghsa-x
    reason: case-insensitive, expires today
    expires: 2026-06-01
`))
	if err != nil {
		t.Fatal(err)
	}
	kept, sup := s.Apply(fs, ids)
	var k, sp []string
	for _, f := range kept {
		k = append(k, f.RuleID)
	}
	for _, x := range sup {
		sp = append(sp, x.Finding.RuleID)
	}
	if strings.Join(k, ",") != "CVE-2,CVE-4" || strings.Join(sp, ",") != "CVE-1,CVE-3,CVE-5" {
		t.Errorf("kept %v suppressed %v", k, sp)
	}
	if sup[2].Reason != "case-insensitive, expires today (until 2026-06-01)" {
		t.Errorf("reason %q", sup[2].Reason)
	}
}

func TestIgnoreFilePlainAndErrors(t *testing.T) {
	s := New()
	if err := s.LoadIgnoreFile(write(t, ".picketignore", "# accepted\nCVE-1  # not reachable\n\nGO-2\n")); err != nil {
		t.Fatal(err)
	}
	if len(s.rules) != 2 || s.rules[0].Reason != "not reachable" || s.rules[1].Reason != "listed in the ignore file" {
		t.Errorf("rules %+v", s.rules)
	}
	bad := map[string]string{
		"no id":      "ignore:\n  - reason: x\n",
		"bad expiry": "ignore:\n  - id: CVE-1\n    expires: next week\n",
		"bad yaml":   "ignore: [\n",
		"two ids":    "CVE-1 CVE-2\n",
		"bad glob":   "ignore:\n  - id: CVE-1\n    paths: ['[']\n",
	}
	for name, body := range bad {
		if err := New().LoadIgnoreFile(write(t, "f", body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := New().LoadIgnoreFile("/nonexistent"); err == nil {
		t.Error("missing file accepted")
	}
}

func TestVEX(t *testing.T) {
	doc := `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","author":"a","timestamp":"2026-01-01T00:00:00Z","version":1,
"statements":[
 {"vulnerability":{"name":"CVE-1","aliases":["GHSA-1"]},"products":[{"@id":"pkg:golang/a"}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path","impact_statement":"never called"},
 {"vulnerability":{"@id":"https://nvd/CVE-2","name":"CVE-2"},"products":[{"@id":"pkg:oci/app","subcomponents":[{"@id":"pkg:pypi/b@1.0"}]}],"status":"fixed"},
 {"vulnerability":{"name":"CVE-3"},"products":[{"@id":"pkg:oci/app"}],"status":"affected"},
 {"vulnerability":{"name":"CVE-4"},"products":[{"@id":"pkg:npm/d@2.0"}],"status":"not_affected","justification":"component_not_present"},
 {"vulnerability":{"name":"CVE-5"},"products":[{"@id":"pkg:oci/app"}],"status":"not_affected","justification":"inline_mitigations_already_exist"}
]}`
	s := New()
	if err := s.LoadVEX(write(t, "a.openvex.json", doc)); err != nil {
		t.Fatal(err)
	}
	fs := []*finding.Finding{
		vuln("CVE-1", "CVE-1", "a", "pkg:golang/a@v1.2.0", ""),
		vuln("CVE-2", "CVE-2", "b", "pkg:pypi/b@1.0", ""),
		vuln("CVE-3", "CVE-3", "c", "pkg:npm/c@1.0", ""),
		vuln("CVE-4", "CVE-4", "d", "pkg:npm/d@1.0", ""),
		vuln("CVE-5", "CVE-5", "e", "pkg:npm/e@1.0", ""),
		vuln("GO-9", "GO-9,GHSA-1", "a", "pkg:golang/a@v1.2.0", ""),
	}
	kept, sup := s.Apply(fs, ids)
	var k []string
	for _, f := range kept {
		k = append(k, f.RuleID)
	}
	if strings.Join(k, ",") != "CVE-3,CVE-4" || len(sup) != 4 {
		t.Fatalf("kept %v, %d suppressed", k, len(sup))
	}
	if sup[0].Status != "not_affected" || sup[0].Justification != "vulnerable_code_not_in_execute_path" || !strings.Contains(sup[0].Reason, "never called") {
		t.Errorf("suppression %+v", sup[0])
	}
	if sup[1].Status != "fixed" {
		t.Errorf("fixed statement: %+v", sup[1])
	}
	// v0.0.1 shapes: vulnerability and products as strings.
	old := `{"@context":"https://openvex.dev/ns","statements":[{"vulnerability":"CVE-3","products":["pkg:npm/c@1.0"],"status":"not_affected","justification":"component_not_present"}]}`
	s2 := New()
	if err := s2.LoadVEX(write(t, "old.json", old)); err != nil {
		t.Fatal(err)
	}
	if _, sup := s2.Apply(fs[2:3], ids); len(sup) != 1 {
		t.Error("v0.0.1 statement did not apply")
	}
	for name, body := range map[string]string{
		"not json":     "{",
		"not openvex":  `{"@context":"https://cyclonedx.org","statements":[]}`,
		"bad status":   `{"@context":"https://openvex.dev/ns","statements":[{"vulnerability":"CVE-1","status":"maybe"}]}`,
		"no vuln name": `{"@context":"https://openvex.dev/ns","statements":[{"vulnerability":{},"status":"fixed"}]}`,
		"bad product":  `{"@context":"https://openvex.dev/ns","statements":[{"vulnerability":"CVE-1","products":[42],"status":"fixed"}]}`,
	} {
		if err := New().LoadVEX(write(t, "v.json", body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
