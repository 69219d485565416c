package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/inventory"
)

var update = flag.Bool("update", false, "update golden files")

// decodeJSON decodes JSON data into a T and fails the test on error.
func decodeJSON[T any](t *testing.T, data []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decode %T: %v", v, err)
	}
	return v
}

// render writes r in format and fails the test on error.
func render(t *testing.T, format string, r *Report, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, format, r, opts); err != nil {
		t.Fatalf("Write(%q): %v", format, err)
	}
	return buf.Bytes()
}

func TestWriteGolden(t *testing.T) {
	tests := []struct {
		name   string
		format string
		opts   Options
	}{
		{"table", FormatTable, Options{}},
		{"table_color", FormatTable, Options{Color: true}},
		{"json", FormatJSON, Options{}},
		{"sarif", FormatSARIF, Options{}},
		{"cyclonedx", FormatCycloneDX, Options{}},
		{"spdx", FormatSPDX, Options{}},
		{"spdx_tool_version", FormatSPDX, Options{ToolVersion: "9.9.9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(t, tt.format, fixture(), tt.opts)
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run go test -update after checking the change):\n%s", golden, lineDiff(string(want), string(got)))
			}
		})
	}
}

// lineDiff reports the first differing line, enough to locate a change.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g
		}
	}
	return "(no line differs)"
}

func TestFormats(t *testing.T) {
	want := []string{"table", "json", "sarif", "cyclonedx", "spdx"}
	if got := Formats(); !slices.Equal(got, want) {
		t.Fatalf("Formats() = %v, want %v", got, want)
	}
	Formats()[0] = "mutated"
	if Formats()[0] != "table" {
		t.Fatal("Formats returned the internal slice")
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	for _, format := range []string{"x", "", "xml", "cyclonedx-xml"} {
		var buf bytes.Buffer
		err := Write(&buf, format, fixture(), Options{})
		if !errors.Is(err, ErrUnknownFormat) {
			t.Fatalf("Write(%q) error = %v, want ErrUnknownFormat", format, err)
		}
		want := `report: unknown format "` + format + `" (want one of table, json, sarif, cyclonedx, spdx)`
		if err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
		if buf.Len() != 0 {
			t.Errorf("Write(%q) wrote %d bytes on error", format, buf.Len())
		}
	}
}

func TestWriteFormatNameCaseInsensitive(t *testing.T) {
	a := render(t, "SARIF", fixture(), Options{})
	b := render(t, " sarif ", fixture(), Options{})
	if !bytes.Equal(a, b) {
		t.Fatal("format names should match case-insensitively")
	}
}

func TestWriteNilReport(t *testing.T) {
	err := Write(&bytes.Buffer{}, FormatJSON, nil, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "report: ") {
		t.Fatalf("Write(nil) error = %v, want a report: error", err)
	}
}

var errBoom = errors.New("boom")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errBoom }

func TestWriteErrorWrapped(t *testing.T) {
	for _, format := range Formats() {
		err := Write(failingWriter{}, format, fixture(), Options{})
		if !errors.Is(err, errBoom) {
			t.Errorf("%s: error = %v, want it to wrap the writer's error", format, err)
			continue
		}
		if want := "report: write " + format + ": "; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: error = %q, want prefix %q", format, err, want)
		}
	}
}

// TestWriteDeterministic checks that input order does not change output.
func TestWriteDeterministic(t *testing.T) {
	shuffled := fixture()
	slices.Reverse(shuffled.Packages)
	slices.Reverse(shuffled.Findings)
	shuffled.Packages = append(shuffled.Packages[:2], append([]*inventory.Package{nil}, shuffled.Packages[2:]...)...)
	shuffled.Findings = append(shuffled.Findings, nil)
	slices.Reverse(shuffled.Suppressed)
	shuffled.Suppressed = append(shuffled.Suppressed, nil, &Suppressed{Source: "vex:x", Reason: "no finding"})
	for _, format := range Formats() {
		for _, color := range []bool{false, true} {
			a := render(t, format, fixture(), Options{Color: color})
			b := render(t, format, shuffled, Options{Color: color})
			if !bytes.Equal(a, b) {
				t.Errorf("%s (color %v): output depends on input order:\n%s", format, color, lineDiff(string(a), string(b)))
			}
		}
	}
}

func TestWriteDoesNotModifyReport(t *testing.T) {
	r := fixture()
	for _, format := range Formats() {
		render(t, format, r, Options{Color: true, ToolVersion: "other"})
	}
	if !reflect.DeepEqual(r, fixture()) {
		t.Fatal("Write modified the report")
	}
}

// TestWriteEmptyReport checks every format copes with a report that has
// nothing in it.
func TestWriteEmptyReport(t *testing.T) {
	for _, format := range Formats() {
		out := render(t, format, &Report{}, Options{})
		if len(out) == 0 {
			t.Errorf("%s: empty output", format)
		}
	}
}

func TestTableColor(t *testing.T) {
	plain := render(t, FormatTable, fixture(), Options{})
	if bytes.IndexByte(plain, 0x1b) >= 0 {
		t.Fatal("table without Color contains ESC bytes")
	}
	colored := render(t, FormatTable, fixture(), Options{Color: true})
	for _, want := range []string{"\x1b[1;31mCRITICAL\x1b[0m", "\x1b[31mHIGH\x1b[0m", "\x1b[33mMEDIUM\x1b[0m", "\x1b[36mINFO\x1b[0m"} {
		if !bytes.Contains(colored, []byte(want)) {
			t.Errorf("coloured table lacks %q", want)
		}
	}
	// Stripping the colour must give back the plain table exactly: colour
	// never changes alignment.
	stripped := colored
	for _, c := range severityColors {
		stripped = bytes.ReplaceAll(stripped, []byte(c), nil)
	}
	stripped = bytes.ReplaceAll(stripped, []byte(ansiReset), nil)
	if !bytes.Equal(stripped, plain) {
		t.Errorf("coloured table differs from plain beyond colour:\n%s", lineDiff(string(plain), string(stripped)))
	}
	// No colour is used when there is nothing to colour.
	if out := render(t, FormatTable, &Report{}, Options{Color: true}); bytes.IndexByte(out, 0x1b) >= 0 {
		t.Error("empty report table contains ESC bytes")
	}
}

func TestTableSanitizesControlCharacters(t *testing.T) {
	r := fixture()
	r.Target.Name = "evil\x1b]0;owned\x07image"
	r.Packages[0].Name = "pkg\x1b[2Jname"
	r.Packages[1].Path = "/tmp/a\tb\nc"
	r.Packages[2].Version = "1.0\u202e0.1" // right-to-left override
	r.Findings[0].Title = "line one\nline two\r\x00"
	r.Findings[1].RuleID = "rule\xffid" // invalid UTF-8
	r.Findings[4].Attributes = map[string]string{attrPackage: "vpkg\x1b[5m", attrInstalled: "1\t2", attrFixed: "3\n4", attrKEV: "x"}
	r.Suppressed[0].Reason = "because\x1b]8;;http://evil\x07"
	r.Suppressed[1].Source = "vex:\u202eevil"
	for _, color := range []bool{false, true} {
		out := render(t, FormatTable, r, Options{Color: color})
		text := string(out)
		if !color && strings.ContainsRune(text, 0x1b) {
			t.Errorf("ESC from scanned content reached the terminal")
		}
		for _, bad := range []string{"\x07", "\t", "\r", "\x00", "\u202e", "\xff", "\x1b]", "\x1b[2J"} {
			if strings.Contains(text, bad) {
				t.Errorf("color %v: output contains %q", color, bad)
			}
		}
		for _, want := range []string{`evil\x1b]0;owned\aimage`, `pkg\x1b[2Jname`, `/tmp/a\tb\nc`, `1.0\u202e0.1`, `line one\nline two\r\x00`, `rule\xffid`,
			`vpkg\x1b[5m`, `1\t2`, `3\n4`, `because\x1b]8;;http://evil\a`, `vex:\u202eevil`} {
			if !strings.Contains(text, want) {
				t.Errorf("color %v: output lacks escaped %q", color, want)
			}
		}
	}
}

func TestTableContents(t *testing.T) {
	out := string(render(t, FormatTable, fixture(), Options{}))
	for _, want := range []string{
		"Target:    registry.example.com/shop/api:1.4.2",
		"Image ID:  sha256:9b1e0a3c",
		"Distro:    Debian GNU/Linux 12 (bookworm)",
		"Layers:    3",
		"NAME", "VERSION", "TYPE", "LAYER", "PATH",
		"SEVERITY", "RULE", "TITLE", "LOCATION",
		"/app/config/settings.yaml:12 layer 2",
		"Packages: 6 (Alpine 1, Debian 2, Go 1, PyPI 1, npm 1)",
		"Findings: 7 (CRITICAL 2, HIGH 1, MEDIUM 2, INFO 1, UNKNOWN 1)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	// Findings are ordered by descending severity.
	others := section(t, out, "Findings (3)")
	crit, med, info := strings.Index(others, "CRITICAL  "), strings.Index(others, "MEDIUM  "), strings.Index(others, "INFO  ")
	if crit < 0 || !(crit < med && med < info) {
		t.Errorf("findings not ordered by severity (CRITICAL@%d MEDIUM@%d INFO@%d)", crit, med, info)
	}

	none := string(render(t, FormatTable, &Report{Packages: fixture().Packages}, Options{}))
	if strings.Contains(none, "SEVERITY") {
		t.Error("findings table printed although there are no findings")
	}
	if !strings.Contains(none, "Findings: 0") {
		t.Error("summary lacks the zero findings count")
	}
}

func TestJSON(t *testing.T) {
	got := decodeJSON[Report](t, render(t, FormatJSON, fixture(), Options{}))
	want := fixture()
	want.Packages = sortedPackages(want)
	want.Findings = sortedFindings(want)
	want.Suppressed = sortedSuppressed(want)
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("JSON round trip differs:\ngot  %+v\nwant %+v", got, *want)
	}
	if got.Findings[0].Severity != finding.Critical || got.Packages[0].Ecosystem != inventory.Alpine {
		t.Error("JSON lists are not in canonical order")
	}

	empty := string(render(t, FormatJSON, &Report{}, Options{ToolVersion: "0.1.0"}))
	for _, want := range []string{`"packages": []`, `"findings": []`, `"layers": []`, `"schemaVersion": 1`, `"name": "picket"`, `"version": "0.1.0"`} {
		if !strings.Contains(empty, want) {
			t.Errorf("empty JSON report lacks %s:\n%s", want, empty)
		}
	}
	if strings.Contains(empty, "null") {
		t.Errorf("empty JSON report contains null:\n%s", empty)
	}
	for _, unwanted := range []string{`"suppressed"`, `"vulnerabilityDatabase"`} {
		if strings.Contains(empty, unwanted) {
			t.Errorf("empty JSON report has %s:\n%s", unwanted, empty)
		}
	}
}

// TestJSONVulnerabilityParts checks the optional parts: suppressed is
// absent whether the list is nil or empty (or holds nothing usable), and
// a missing database has no update time rather than the zero time.
func TestJSONVulnerabilityParts(t *testing.T) {
	for _, sup := range [][]*Suppressed{nil, {}, {nil, {Source: "vex:x"}}} {
		out := string(render(t, FormatJSON, &Report{Suppressed: sup}, Options{}))
		if strings.Contains(out, `"suppressed"`) {
			t.Errorf("Suppressed %v: JSON has a suppressed list:\n%s", sup, out)
		}
	}

	out := string(render(t, FormatJSON, &Report{VulnDB: &VulnDB{Status: "missing"}}, Options{}))
	if !strings.Contains(out, `"vulnerabilityDatabase": {
    "status": "missing",
    "packages": 0,`) {
		t.Errorf("missing database not rendered as expected:\n%s", out)
	}
	if strings.Contains(out, "updatedAt") {
		t.Errorf("missing database has an update time:\n%s", out)
	}

	full := string(render(t, FormatJSON, fixture(), Options{}))
	for _, want := range []string{
		`"suppressed": [`,
		`"source": "ignore-file:.picketignore"`,
		`"status": "not_affected"`,
		`"vulnerabilityDatabase": {
    "status": "ok",
    "updatedAt": "2025-03-13T22:00:00Z",
    "sources": [`,
	} {
		if !strings.Contains(full, want) {
			t.Errorf("JSON report lacks %s", want)
		}
	}
	// Suppressed entries are sorted like findings: the HIGH one first.
	if i, j := strings.Index(full, `"CVE-2022-3715"`), strings.Index(full, `"CVE-2023-5678"`); i < 0 || j < i {
		t.Errorf("suppressed entries not in canonical order (%d, %d)", i, j)
	}
}

// section returns the table section of out that starts with the title
// line, up to the next blank line.
func section(t *testing.T, out, title string) string {
	t.Helper()
	i := strings.Index(out, "\n"+title+"\n")
	if i < 0 {
		t.Fatalf("table has no %q section:\n%s", title, out)
	}
	s := out[i+1:]
	if j := strings.Index(s, "\n\n"); j >= 0 {
		s = s[:j+1]
	}
	return s
}

func TestTableVulnerabilities(t *testing.T) {
	out := string(render(t, FormatTable, fixture(), Options{}))

	vulns := section(t, out, "Vulnerabilities (4)")
	lines := strings.Split(strings.TrimSuffix(vulns, "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("vulnerabilities section has %d lines, want title, header and 4 rows:\n%s", len(lines), vulns)
	}
	if got := strings.Fields(lines[1]); !slices.Equal(got, []string{"PACKAGE", "INSTALLED", "FIXED", "ID", "SEVERITY", "KEV", "TITLE"}) {
		t.Errorf("header = %q", got)
	}
	// Ordered by severity, then package, then id; "-" for no fix or KEV.
	wantRows := [][]string{
		{"golang.org/x/crypto", "v0.21.0", "v0.31.0", "CVE-2024-45337", "CRITICAL", "KEV", "Misuse"},
		{"libssl3", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", "CVE-2024-0727", "HIGH", "-", "openssl:"},
		{"golang.org/x/crypto", "v0.21.0", "v0.35.0", "GO-2025-3487", "MEDIUM", "-", "Potential"},
		{"musl", "1.2.4-r2", "-", "CVE-2025-26519", "UNKNOWN", "-", "CVE-2025-26519"},
	}
	for i, want := range wantRows {
		if got := strings.Fields(lines[i+2]); len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
			t.Errorf("row %d = %q, want prefix %q", i, got, want)
		}
	}
	if !strings.Contains(vulns, "authorizatio…") {
		t.Error("long vulnerability title not truncated")
	}

	sup := section(t, out, "Suppressed (2)")
	for _, want := range []string{
		"ID             PACKAGE  STATUS        REASON",
		"CVE-2022-3715  bash     ignored       bash never sees untrusted input in this image (until 2025-06-30)",
		"ignore-file:.picketignore",
		"CVE-2023-5678  libssl3  not_affected  not_affected: vulnerable_code_not_in_execute_path",
		"vex:security/api.openvex.json",
	} {
		if !strings.Contains(sup, want) {
			t.Errorf("suppressed section lacks %q:\n%s", want, sup)
		}
	}

	// Sections come in order, and vulnerabilities stay out of Findings.
	iv, is, iF := strings.Index(out, "Vulnerabilities (4)"), strings.Index(out, "Suppressed (2)"), strings.Index(out, "Findings (3)")
	if !(iv < is && is < iF) {
		t.Errorf("sections out of order: vulnerabilities@%d suppressed@%d findings@%d", iv, is, iF)
	}
	others := section(t, out, "Findings (3)")
	for _, id := range []string{"CVE-", "GO-"} {
		if strings.Contains(others, id) {
			t.Errorf("findings table lists a vulnerability (%s):\n%s", id, others)
		}
	}

	for _, want := range []string{
		"\nVulnerabilities: 4 (CRITICAL 1, HIGH 1, MEDIUM 1, UNKNOWN 1), fixable 3\n",
		"\nSuppressed: 2 (ignore file 1, VEX 1)\n",
		"\nVulnerability database: ok, updated 2025-03-13T22:00:00Z (alpine, debian, osv); 5 packages checked, 0 not covered, 1 covered by their OS package\n",
		"\nWarning: 1 version comparison failed while matching vulnerabilities; some may be missing (first: DLA-3000-1 ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", strings.TrimSpace(want))
		}
	}

	// Without vulnerabilities and without a database, none of this shows.
	r := fixture()
	r.Findings = slices.DeleteFunc(r.Findings, isVulnerability)
	r.Suppressed, r.VulnDB = nil, nil
	plain := string(render(t, FormatTable, r, Options{}))
	for _, unwanted := range []string{"Vulnerabilities", "Suppressed", "Vulnerability database", "Warning"} {
		if strings.Contains(plain, unwanted) {
			t.Errorf("table without vulnerability data mentions %q:\n%s", unwanted, plain)
		}
	}
}

func TestTableVulnerabilityDatabase(t *testing.T) {
	scanned := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	tests := []struct {
		name          string
		db            *VulnDB
		want, notWant []string
	}{
		{
			name: "missing",
			db:   &VulnDB{Status: "missing"},
			want: []string{"\nVulnerabilities: not checked — no vulnerability database (run `picket db update`)\n"},
			notWant: []string{"Vulnerabilities: 0", "Vulnerability database:", "Warning",
				"Vulnerabilities (", "Suppressed"},
		},
		{
			name: "checked, nothing found",
			db:   &VulnDB{Status: "ok", UpdatedAt: scanned.Add(-3 * time.Hour), Sources: []string{"osv"}, Packages: 6},
			want: []string{
				"\nVulnerabilities: 0, fixable 0\n",
				"\nVulnerability database: ok, updated 2025-03-14T06:26:53Z (osv); 6 packages checked, 0 not covered\n",
			},
			notWant: []string{"not checked", "Warning", "Vulnerabilities ("},
		},
		{
			name:    "stale",
			db:      &VulnDB{Status: "stale", UpdatedAt: scanned.Add(-41*24*time.Hour - time.Hour)},
			want:    []string{"\nWarning: the vulnerability database is stale: last updated 2025-02-01T08:26:53Z (41 days before the scan); run `picket db update`\n"},
			notWant: []string{"not checked"},
		},
		{
			name: "stale by hours, update time unknown",
			db:   &VulnDB{Status: "stale"},
			want: []string{"\nWarning: the vulnerability database is stale; run `picket db update`\n"},
		},
		{
			name: "errors",
			db:   &VulnDB{Status: "ok", Errors: 3, ErrorSample: []string{"GHSA-x \x1b[31mpkg@1: bad version"}},
			want: []string{"\nWarning: 3 version comparisons failed while matching vulnerabilities; some may be missing (first: GHSA-x \\x1b[31mpkg@1: bad version)\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{CreatedAt: scanned, Packages: fixture().Packages, VulnDB: tt.db}
			out := string(render(t, FormatTable, r, Options{}))
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("table lacks %q:\n%s", strings.TrimSpace(want), out)
				}
			}
			for _, unwanted := range tt.notWant {
				if strings.Contains(out, unwanted) {
					t.Errorf("table has %q:\n%s", unwanted, out)
				}
			}
		})
	}
}

func TestHumanAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Minute:                  "1 hour",
		30 * time.Minute:              "1 hour",
		5 * time.Hour:                 "5 hours",
		47 * time.Hour:                "47 hours",
		48 * time.Hour:                "2 days",
		30*24*time.Hour + 5*time.Hour: "30 days",
	} {
		if got := humanAge(d); got != want {
			t.Errorf("humanAge(%v) = %q, want %q", d, got, want)
		}
	}
}
