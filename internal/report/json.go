package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"slices"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/inventory"
)

// writeJSON renders the Report itself as indented JSON: packages and
// findings in their canonical order, layers by index, and empty lists as []
// rather than null so consumers need no null checks. The optional parts
// are left out rather than empty: "suppressed" when nothing was suppressed
// (sorted like findings otherwise) and "vulnerabilityDatabase" when
// vulnerabilities were not part of the scan.
func writeJSON(w io.Writer, r *Report, opts Options) error {
	out := *r
	if out.SchemaVersion == 0 {
		out.SchemaVersion = SchemaVersion
	}
	out.Tool = Tool{Name: toolName(r), Version: toolVersion(r, opts)}
	out.Packages = sortedPackages(r)
	out.Findings = sortedFindings(r)
	out.Suppressed = sortedSuppressed(r)
	if len(out.Suppressed) == 0 {
		out.Suppressed = nil
	}
	out.Target.Layers = slices.Clone(r.Target.Layers)
	if out.Target.Layers == nil {
		out.Target.Layers = []Layer{}
	}
	slices.SortStableFunc(out.Target.Layers, func(a, b Layer) int { return cmp.Compare(a.Index, b.Index) })
	if out.Packages == nil {
		out.Packages = []*inventory.Package{}
	}
	if out.Findings == nil {
		out.Findings = []*finding.Finding{}
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&out); err != nil {
		return err
	}
	return writeBuffered(w, &buf)
}
