package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"github.com/picket-cdr/picket/internal/report/sarif"
	"io"
	"strconv"
	"strings"
)

// Output formats.
const (
	FormatText  = "text"
	FormatJSON  = "json"
	FormatJUnit = "junit"
	FormatSARIF = "sarif"
)

// Formats lists the output formats.
func Formats() []string { return []string{FormatText, FormatJSON, FormatJUnit, FormatSARIF} }

// WriteOptions tune Write.
type WriteOptions struct {
	Color   bool // ANSI colours in the text format (the caller decides: only on a terminal)
	Verbose bool // text: show details of PASS results too
}

// Write renders the report. The document is rendered in memory first, so w
// receives all of it or nothing.
func Write(w io.Writer, format string, r *Report, opts WriteOptions) error {
	var buf bytes.Buffer
	var err error
	switch strings.ToLower(format) {
	case FormatText, "table":
		writeText(&buf, r, opts)
	case FormatJSON:
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		err = enc.Encode(r)
	case FormatJUnit:
		err = writeJUnit(&buf, r)
	case FormatSARIF:
		err = writeSARIF(&buf, r)
	default:
		return fmt.Errorf("bench: unknown format %q (want one of %s)", format, strings.Join(Formats(), ", "))
	}
	if err != nil {
		return fmt.Errorf("bench: %s: %w", format, err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

var colors = map[Result]string{Pass: "\x1b[32m", Warn: "\x1b[31m", Info: "\x1b[34m", Note: "\x1b[33m", Skip: "\x1b[90m"}

func writeText(w *bytes.Buffer, r *Report, opts WriteOptions) {
	tag := func(res Result) string {
		t := "[" + string(res) + "]"
		if opts.Color {
			return colors[res] + t + "\x1b[0m"
		}
		return t
	}
	fmt.Fprintf(w, "# %s — picket bench docker\n", r.Benchmark)
	if r.Host.Hostname != "" || r.Host.DockerVersion != "" {
		fmt.Fprintf(w, "# host %s, Docker %s, root %s\n", orDash(r.Host.Hostname), orDash(r.Host.DockerVersion), r.Host.Root)
	}
	if r.Host.DaemonError != "" {
		fmt.Fprintf(w, "# daemon: %s\n", r.Host.DaemonError)
	}
	for _, c := range r.Host.ConfigConflicts {
		fmt.Fprintf(w, "# daemon configuration conflict: %s\n", c)
	}
	section := -1
	for _, c := range r.Results {
		if c.Section != section {
			section = c.Section
			fmt.Fprintf(w, "\n%s %d - %s\n", tag(Info), section, Sections[section])
		}
		fmt.Fprintf(w, "%s %s - %s\n", tag(c.Result), c.ID, c.Title)
		if c.Result == Pass && !opts.Verbose {
			continue
		}
		if c.Details != "" {
			for _, line := range strings.Split(c.Details, "\n") {
				fmt.Fprintf(w, "       %s\n", line)
			}
		}
		for _, it := range c.Items {
			fmt.Fprintf(w, "       * %s: %s\n", it.Target, it.Detail)
		}
	}
	s := r.Summary
	fmt.Fprintf(w, "\nSummary: %d checks: %d PASS, %d WARN, %d INFO, %d NOTE, %d SKIP\n", s.Checks, s.Pass, s.Warn, s.Info, s.Note, s.Skip)
	fmt.Fprintf(w, "Score: %d (scored checks passed: %.1f%%)\n", s.Score, s.Percent)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// JUnit XML: one suite per section, one test case per check; WARN is a
// failure, SKIP a skip, INFO and NOTE pass with their details as output.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name     string      `xml:"name,attr"`
		Tests    int         `xml:"tests,attr"`
		Failures int         `xml:"failures,attr"`
		Skipped  int         `xml:"skipped,attr"`
		Time     string      `xml:"time,attr"`
		Cases    []junitCase `xml:"testcase"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitMessage `xml:"failure,omitempty"`
		Skipped   *junitMessage `xml:"skipped,omitempty"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitMessage struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr,omitempty"`
		Text    string `xml:",chardata"`
	}
)

func seconds(d Duration) string {
	return strconv.FormatFloat(float64(d)/1e9, 'f', 3, 64)
}

func writeJUnit(w *bytes.Buffer, r *Report) error {
	doc := junitSuites{Name: "picket bench docker (" + r.Benchmark + ")", Time: seconds(r.Duration)}
	idx := map[int]int{}
	suiteTime := map[int]Duration{}
	for _, c := range r.Results {
		suiteTime[c.Section] += c.Duration
		i, ok := idx[c.Section]
		if !ok {
			i = len(doc.Suites)
			idx[c.Section] = i
			doc.Suites = append(doc.Suites, junitSuite{Name: fmt.Sprintf("%d %s", c.Section, Sections[c.Section])})
		}
		s := &doc.Suites[i]
		tc := junitCase{Name: c.ID + " " + c.Title, Classname: fmt.Sprintf("cis.docker.section%d", c.Section), Time: seconds(c.Duration)}
		body := detailsText(c)
		switch c.Result {
		case Warn:
			tc.Failure = &junitMessage{Message: c.Details, Type: "WARN", Text: body + "\nRemediation: " + c.Remediation}
			s.Failures++
			doc.Failures++
		case Skip:
			tc.Skipped = &junitMessage{Message: c.Details}
			s.Skipped++
			doc.Skipped++
		default:
			tc.SystemOut = "[" + string(c.Result) + "] " + body
		}
		s.Tests++
		doc.Tests++
		s.Cases = append(s.Cases, tc)
	}
	for sec, i := range idx {
		doc.Suites[i].Time = seconds(suiteTime[sec])
	}
	w.WriteString(xml.Header)
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	w.WriteString("\n")
	return nil
}

func detailsText(c CheckResult) string {
	var b strings.Builder
	b.WriteString(c.Details)
	for _, it := range c.Items {
		b.WriteString("\n* " + it.Target + ": " + it.Detail)
	}
	return b.String()
}

// SARIF 2.1.0, following the scanner's conventions (internal/report): one
// rule per check that ran, one result per offending item of each WARN (so a
// dashboard tracks each container or file separately), partial fingerprints
// from the rule and the item.
type (
	sarifLog             = sarif.Log
	sarifRun             = sarif.Run
	sarifTool            = sarif.Tool
	sarifDriver          = sarif.Driver
	sarifRule            = sarif.Rule
	sarifConfig          = sarif.Configuration
	sarifMessage         = sarif.Message
	sarifResult          = sarif.Result
	sarifLocation        = sarif.Location
	sarifPhysical        = sarif.PhysicalLocation
	sarifArtifact        = sarif.ArtifactLocation
	sarifLogicalLocation = sarif.LogicalLocation
)

// SARIFRuleID is the SARIF rule id of a check.
func SARIFRuleID(id string) string { return "CIS-DOCKER-" + id }

func sarifLevel(c CheckResult) string {
	if c.Level == 1 && c.Scored {
		return "error"
	}
	return "warning"
}

func writeSARIF(w *bytes.Buffer, r *Report) error {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "picket", Version: r.Version, InformationURI: "https://www.cisecurity.org/benchmark/docker"}}}
	run.Results = []sarifResult{}
	for i, c := range r.Results {
		sev := "5.0"
		if c.Level == 1 && c.Scored {
			sev = "7.0"
		}
		rule := sarifRule{
			ID: SARIFRuleID(c.ID), Name: "CIS Docker " + c.ID, ShortDescription: &sarifMessage{Text: c.Title},
			DefaultConfiguration: &sarifConfig{Level: sarifLevel(c)},
			Properties: map[string]any{
				"tags":              []string{"security", "compliance", "CIS-" + c.ID, fmt.Sprintf("level%d", c.Level)},
				"security-severity": sev,
				"result":            string(c.Result),
			},
		}
		if c.Remediation != "" {
			rule.Help = &sarifMessage{Text: c.Remediation}
		}
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, rule)
		if c.Result != Warn {
			continue
		}
		items := c.Items
		if len(items) == 0 {
			items = []Item{{Target: "host", Detail: c.Details}}
		}
		for _, it := range items {
			uri, kind := sarifURI(it.Target)
			sum := sha256.Sum256([]byte(c.ID + "\x00" + it.Target + "\x00" + it.Detail))
			run.Results = append(run.Results, sarifResult{
				RuleID: rule.ID, RuleIndex: i, Level: sarifLevel(c),
				Message: sarifMessage{Text: c.ID + " " + c.Title + ": " + it.Target + ": " + it.Detail},
				Locations: []sarifLocation{{
					PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri}},
					LogicalLocations: []sarifLogicalLocation{{Name: it.Target, Kind: kind}},
				}},
				PartialFingerprints: map[string]string{"picketFindingHash/v1": hex.EncodeToString(sum[:])},
				Properties:          map[string]any{"host": r.Host.Hostname, "section": c.Section},
			})
		}
	}
	run.Properties = map[string]any{"benchmark": r.Benchmark, "summary": r.Summary}
	if r.Host.Hostname != "" {
		run.Properties["host"] = r.Host.Hostname
	}
	log := sarifLog{Schema: sarif.Schema, Version: sarif.Version, Runs: []sarifRun{run}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
}

// sarifURI places an item: host files as file URIs, anything else
// (containers, images, settings) under a picket-bench: scheme naming it.
func sarifURI(target string) (string, string) {
	if strings.HasPrefix(target, "/") {
		return "file://" + escapePath(target), "file"
	}
	return "picket-bench:" + escapePath(target), "object"
}

func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		ch := p[i]
		if ch == '/' || ch == '-' || ch == '.' || ch == '_' || ch == '~' || ch == ':' ||
			(ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') {
			b.WriteByte(ch)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", ch)
	}
	return b.String()
}
