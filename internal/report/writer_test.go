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

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/inventory"
)

var update = flag.Bool("update", false, "update golden files")

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
		for _, want := range []string{`evil\x1b]0;owned\aimage`, `pkg\x1b[2Jname`, `/tmp/a\tb\nc`, `1.0\u202e0.1`, `line one\nline two\r\x00`, `rule\xffid`} {
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
		"Findings: 4 (CRITICAL 1, HIGH 1, MEDIUM 1, INFO 1)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	// Findings are ordered by descending severity.
	crit, high, med := strings.Index(out, "CRITICAL  "), strings.Index(out, "HIGH  "), strings.Index(out, "MEDIUM  ")
	if crit < 0 || !(crit < high && high < med) {
		t.Errorf("findings not ordered by severity (CRITICAL@%d HIGH@%d MEDIUM@%d)", crit, high, med)
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
	out := render(t, FormatJSON, fixture(), Options{})
	var got Report
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := fixture()
	want.Packages = sortedPackages(want)
	want.Findings = sortedFindings(want)
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
}
