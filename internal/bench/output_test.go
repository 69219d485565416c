package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var update = flag.Bool("update", false, "rewrite golden files")

// sampleReport is a fixed report with every result kind.
func sampleReport() *Report {
	rs := []CheckResult{
		{ID: "1.1.1", Section: 1, Title: "Ensure a separate partition for containers has been created", Level: 1, Scored: true, Result: Warn,
			Details: "/var/lib/docker is not a mount point", Items: []Item{{Target: "/var/lib/docker", Detail: "not a mount point"}}, Remediation: "Mount it."},
		{ID: "2.2", Section: 2, Title: "Ensure network traffic is restricted between containers on the default bridge", Level: 1, Scored: true, Result: Pass, Details: "icc=false"},
		{ID: "2.8", Section: 2, Title: "Ensure the default ulimit is configured appropriately", Level: 2, Result: Info, Details: "default-ulimits not set"},
		{ID: "5.5", Section: 5, Title: "Ensure that privileged containers are not used", Level: 1, Scored: true, Result: Warn, Details: "2 of 3 running containers",
			Items: []Item{{Target: "web & <db>", Detail: "privileged"}, {Target: "cache", Detail: "privileged"}}, Remediation: "Drop --privileged."},
		{ID: "5.28", Section: 5, Title: "Ensure that Docker commands always make use of the latest version of their image", Level: 1, Result: Note, Details: "manual"},
		{ID: "7.1", Section: 7, Title: "Ensure that the minimum number of manager nodes have been created in a swarm", Level: 1, Scored: true, Result: Skip, Details: "swarm mode is not enabled"},
	}
	return &Report{Tool: "picket", Version: "test", Benchmark: BenchmarkName,
		Host:      HostInfo{Hostname: "host1", DockerVersion: "27.0.0", Root: "/"},
		StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Duration: Duration(1500 * time.Millisecond),
		Summary: Summarize(rs), Results: rs}
}

func TestSummarize(t *testing.T) {
	s := sampleReport().Summary
	if s.Checks != 6 || s.Pass != 1 || s.Warn != 2 || s.Info != 1 || s.Note != 1 || s.Skip != 1 {
		t.Errorf("counts %+v", s)
	}
	// Scored: one PASS (2.2), two WARN (1.1.1, 5.5).
	if s.Score != -1 || s.Percent != 33.3 {
		t.Errorf("score %d, percent %v; want -1 and 33.3", s.Score, s.Percent)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, got)
	}
}

func TestWriteFormats(t *testing.T) {
	for _, tt := range []struct {
		format string
		opts   WriteOptions
		file   string
	}{
		{FormatText, WriteOptions{}, "report.txt.golden"},
		{FormatText, WriteOptions{Color: true}, "report_color.txt.golden"},
		{FormatJSON, WriteOptions{}, "report.json.golden"},
		{FormatJUnit, WriteOptions{}, "report.junit.golden"},
		{FormatSARIF, WriteOptions{}, "report.sarif.golden"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, tt.format, sampleReport(), tt.opts); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.file, b.Bytes())
			if !tt.opts.Color && bytes.Contains(b.Bytes(), []byte("\x1b[")) {
				t.Error("escape codes without Color")
			}
		})
	}
	if err := Write(&bytes.Buffer{}, "yaml", sampleReport(), WriteOptions{}); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, FormatJSON, sampleReport(), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Summary != sampleReport().Summary || len(back.Results) != 6 || back.Results[3].Items[0].Target != "web & <db>" {
		t.Errorf("round trip lost data: %+v", back.Summary)
	}
}

func TestJUnitCounts(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, FormatJUnit, sampleReport(), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	s := sampleReport().Summary
	if doc.Tests != s.Checks || doc.Failures != s.Warn || doc.Skipped != s.Skip || len(doc.Suites) != 4 {
		t.Errorf("junit tests=%d failures=%d skipped=%d suites=%d; summary %+v", doc.Tests, doc.Failures, doc.Skipped, len(doc.Suites), s)
	}
}

// TestSARIFSchema validates the SARIF output against the official SARIF
// 2.1.0 schema kept by the report package's tests.
func TestSARIFSchema(t *testing.T) {
	schemaPath := filepath.Join("..", "report", "testdata", "schema", "sarif-schema-2.1.0.json")
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Skipf("SARIF schema not available: %v", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	const id = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, FormatSARIF, sampleReport(), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("SARIF output invalid: %v", err)
	}
	var log sarifLog
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	// One result per offending item of each WARN.
	if n := len(log.Runs[0].Results); n != 3 {
		t.Errorf("%d results, want 3 (1 for 1.1.1, 2 for 5.5)", n)
	}
	if !strings.HasPrefix(log.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI, "file:///var/lib/docker") {
		t.Errorf("file item location %q", log.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI)
	}
}

func TestFailOn(t *testing.T) {
	rep := sampleReport() // 2 WARN (level 1, scored), 1 SKIP, 33.3%
	tests := []struct {
		spec    string
		fail    bool
		wantErr bool
	}{
		{"", false, false},
		{"warn", true, false},
		{"WARN>1", true, false},
		{"warn>2", false, false},
		{"level1", true, false},
		{"scored", true, false},
		{"skip", true, false},
		{"score<30", false, false},
		{"score<50%", true, false},
		{"warn>2, score<10", false, false},
		{"warn>x", false, true},
		{"score<101", false, true},
		{"bogus", false, true},
	}
	for _, tt := range tests {
		g, err := ParseFailOn(tt.spec)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: error %v, want error %v", tt.spec, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if got, why := g.Evaluate(rep); got != tt.fail {
			t.Errorf("%q: fail=%v (%s), want %v", tt.spec, got, why, tt.fail)
		}
	}
	ok := sampleReport()
	ok.Results = ok.Results[1:3]
	ok.Summary = Summarize(ok.Results)
	if g, _ := ParseFailOn("warn,level1,scored,skip,score<100"); func() bool { f, _ := g.Evaluate(ok); return f }() {
		t.Error("a clean report fails the gate")
	}
}

func TestSelection(t *testing.T) {
	all := Checks()
	if len(all) < 110 {
		t.Fatalf("only %d checks registered", len(all))
	}
	for i := 1; i < len(all); i++ {
		if CompareIDs(all[i-1].ID, all[i].ID) >= 0 {
			t.Fatalf("checks out of order: %s before %s", all[i-1].ID, all[i].ID)
		}
	}
	count := func(s Selection) int {
		n := 0
		for _, c := range all {
			if s.Selected(c) {
				n++
			}
		}
		return n
	}
	if n := count(Selection{Checks: []string{"5.4", "5.10"}}); n != 2 {
		t.Errorf("--check 5.4,5.10 selects %d checks", n)
	}
	if n := count(Selection{Checks: []string{"1.1"}}); n != 18 {
		t.Errorf("--check 1.1 selects %d checks, want 18", n)
	}
	if n := count(Selection{SkipSections: []int{1}}); n != len(all)-20 {
		t.Errorf("--skip-section 1 selects %d of %d", n, len(all))
	}
	if n := count(Selection{Sections: []int{3}, SkipChecks: []string{"3.1"}}); n != 23 {
		t.Errorf("section 3 minus 3.1 selects %d", n)
	}
	for _, c := range all {
		if (Selection{Level: 1}).Selected(c) && c.Level != 1 {
			t.Errorf("--level 1 selects level-%d check %s", c.Level, c.ID)
		}
		if c.Title == "" || c.Remediation == "" || c.Run == nil {
			t.Errorf("check %s lacks a title, remediation or function", c.ID)
		}
	}
	for _, bad := range []Selection{{Checks: []string{"9.9"}}, {SkipChecks: []string{"5.99"}}, {Sections: []int{8}}, {Level: 3}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
