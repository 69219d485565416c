package report

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/inventory"
)

// Format names accepted by Write.
const (
	FormatTable     = "table"     // human-readable table for terminals
	FormatJSON      = "json"      // Picket's own JSON report
	FormatSARIF     = "sarif"     // SARIF 2.1.0, for code-scanning dashboards
	FormatCycloneDX = "cyclonedx" // CycloneDX 1.6 JSON SBOM
	FormatSPDX      = "spdx"      // SPDX 2.3 JSON SBOM
)

// ErrUnknownFormat is returned (wrapped) by Write for a format name it does
// not know.
var ErrUnknownFormat = errors.New("report: unknown format")

// Options tune how a report is written. The zero value writes plain output
// and takes the tool version from the Report.
type Options struct {
	// Color enables ANSI colours for severities in the table format. The
	// caller decides, typically when writing to a terminal; no other format
	// is ever coloured.
	Color bool
	// ToolVersion, when set, overrides Report.Tool.Version as the producer
	// version recorded in JSON, SARIF, CycloneDX and SPDX output.
	ToolVersion string
}

// writeFunc renders one format.
type writeFunc func(w io.Writer, r *Report, opts Options) error

// formatWriter names one writer.
type formatWriter struct {
	name  string
	write writeFunc
}

// formats lists the writers in the order Formats reports them.
var formats = []formatWriter{
	{FormatTable, writeTable},
	{FormatJSON, writeJSON},
	{FormatSARIF, writeSARIF},
	{FormatCycloneDX, writeCycloneDX},
	{FormatSPDX, writeSPDX},
}

// Formats returns the format names Write accepts, in a fixed order.
func Formats() []string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = f.name
	}
	return names
}

// Write renders r to w in the named format (see Formats; names are matched
// case-insensitively). Write does not modify r: writers sort copies of the
// package and finding lists, so output is deterministic for a given Report.
// SBOM formats need a creation time; a zero CreatedAt is replaced by the
// current time there.
//
// Output is rendered in memory first, so w receives either the whole
// document in one Write call or, on a rendering error, nothing.
func Write(w io.Writer, format string, r *Report, opts Options) error {
	name := strings.ToLower(strings.TrimSpace(format))
	i := slices.IndexFunc(formats, func(f formatWriter) bool { return f.name == name })
	if i < 0 {
		return fmt.Errorf("%w %q (want one of %s)", ErrUnknownFormat, format, strings.Join(Formats(), ", "))
	}
	if r == nil {
		return errors.New("report: nil report")
	}
	if err := formats[i].write(w, r, opts); err != nil {
		return fmt.Errorf("report: write %s: %w", name, err)
	}
	return nil
}

// writeBuffered writes buf to w in one call.
func writeBuffered(w io.Writer, buf *bytes.Buffer) error {
	_, err := w.Write(buf.Bytes())
	return err
}

// toolName is the producer name for Picket's own JSON report: "picket"
// unless the Report says otherwise. SARIF and the SBOMs always name the
// producer "picket".
func toolName(r *Report) string {
	if r.Tool.Name != "" {
		return r.Tool.Name
	}
	return "picket"
}

// toolVersion is the producer version: Options.ToolVersion, else the
// Report's.
func toolVersion(r *Report, opts Options) string {
	if opts.ToolVersion != "" {
		return opts.ToolVersion
	}
	return r.Tool.Version
}

// createdAt is the report time in UTC, truncated to whole seconds as SPDX
// requires. A zero CreatedAt falls back to the current time.
func createdAt(r *Report) time.Time {
	t := r.CreatedAt
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Truncate(time.Second)
}

// sortedPackages returns the non-nil packages of r in inventory order
// (ecosystem, name, version, path; as inventory.Sort), then by layer and
// analyzer.
func sortedPackages(r *Report) []*inventory.Package {
	pkgs := make([]*inventory.Package, 0, len(r.Packages))
	for _, p := range r.Packages {
		if p != nil {
			pkgs = append(pkgs, p)
		}
	}
	slices.SortStableFunc(pkgs, comparePackages)
	return pkgs
}

// comparePackages extends inventory.Sort's order to a total one.
func comparePackages(a, b *inventory.Package) int {
	return cmp.Or(
		cmp.Compare(a.Ecosystem, b.Ecosystem),
		cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Version, b.Version),
		cmp.Compare(a.Path, b.Path),
		cmp.Compare(a.Layer, b.Layer),
		cmp.Compare(a.LayerDiffID, b.LayerDiffID),
		cmp.Compare(a.Analyzer, b.Analyzer),
		cmp.Compare(a.PURL, b.PURL),
	)
}

// sortedFindings returns the non-nil findings of r ordered by finding.Less,
// with further tie-breakers so the order is total for distinct findings.
func sortedFindings(r *Report) []*finding.Finding {
	fs := make([]*finding.Finding, 0, len(r.Findings))
	for _, f := range r.Findings {
		if f != nil {
			fs = append(fs, f)
		}
	}
	slices.SortStableFunc(fs, compareFindings)
	return fs
}

// compareFindings orders findings like finding.Less, then by line, layer,
// kind, title, target and evidence.
func compareFindings(a, b *finding.Finding) int {
	switch {
	case finding.Less(a, b):
		return -1
	case finding.Less(b, a):
		return 1
	}
	return cmp.Or(
		cmp.Compare(a.Location.Line, b.Location.Line),
		cmp.Compare(layerOrder(a.Location.LayerIndex), layerOrder(b.Location.LayerIndex)),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Title, b.Title),
		cmp.Compare(a.Target, b.Target),
		cmp.Compare(a.Evidence, b.Evidence),
	)
}

// layerOrder sorts findings without a layer before layer 0.
func layerOrder(i *int) int {
	if i == nil {
		return -1
	}
	return *i
}

// severityOrder lists severities from most to least severe.
var severityOrder = []finding.Severity{
	finding.Critical, finding.High, finding.Medium, finding.Low, finding.Info, finding.Unknown,
}

// findingLocationPath is the path a finding points at, without the leading
// slash, or "" when it has none.
func findingLocationPath(f *finding.Finding) string {
	return strings.TrimLeft(f.Location.Path, "/")
}
