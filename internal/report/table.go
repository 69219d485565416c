package report

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/inventory"
)

// ANSI SGR sequences for severities. Only used when Options.Color is set.
var severityColors = map[finding.Severity]string{
	finding.Critical: "\x1b[1;31m", // bold red
	finding.High:     "\x1b[31m",   // red
	finding.Medium:   "\x1b[33m",   // yellow
	finding.Low:      "\x1b[34m",   // blue
	finding.Info:     "\x1b[36m",   // cyan
	finding.Unknown:  "\x1b[2m",    // dim
}

const ansiReset = "\x1b[0m"

// maxTitle bounds the TITLE column so rows stay readable in a terminal.
const maxTitle = 96

// writeTable renders the human-readable report: a header describing the
// target, a packages table, a findings table when there are findings, and
// summary counts.
func writeTable(w io.Writer, r *Report, opts Options) error {
	var buf bytes.Buffer
	pkgs := sortedPackages(r)
	fs := sortedFindings(r)

	writeTableHeader(&buf, r)

	buf.WriteString("\n")
	if len(pkgs) == 0 {
		buf.WriteString("Packages: none found\n")
	} else {
		fmt.Fprintf(&buf, "Packages (%d)\n", len(pkgs))
		tw := newTabWriter(&buf)
		fmt.Fprintln(tw, "NAME\tVERSION\tTYPE\tLAYER\tPATH")
		for _, p := range pkgs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n",
				cell(p.Name), cell(p.Version), cell(string(p.Ecosystem)), p.Layer, cell(p.Path))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	if len(fs) > 0 {
		buf.WriteString("\n")
		fmt.Fprintf(&buf, "Findings (%d)\n", len(fs))
		if err := writeFindingsTable(&buf, fs, opts); err != nil {
			return err
		}
	}

	buf.WriteString("\n")
	writeTableSummary(&buf, r, pkgs, fs, opts)
	return writeBuffered(w, &buf)
}

// newTabWriter returns the tabwriter all tables share.
func newTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
}

// writeTableHeader writes the "Key: value" lines describing the target.
func writeTableHeader(buf *bytes.Buffer, r *Report) {
	t := r.Target
	tw := newTabWriter(buf)
	fmt.Fprintf(tw, "Target:\t%s\n", cell(t.Name))
	if t.Kind != "" || t.Source != "" {
		kind := cell(t.Kind)
		if t.Source != "" {
			kind += " (" + cell(t.Source) + ")"
		}
		fmt.Fprintf(tw, "Type:\t%s\n", kind)
	}
	fmt.Fprintf(tw, "Image ID:\t%s\n", cell(t.ImageID))
	if t.Digest != "" {
		fmt.Fprintf(tw, "Digest:\t%s\n", cell(t.Digest))
	}
	if t.OS != "" || t.Architecture != "" {
		fmt.Fprintf(tw, "Platform:\t%s\n", cell(strings.Trim(t.OS+"/"+t.Architecture, "/")))
	}
	fmt.Fprintf(tw, "Distro:\t%s\n", cell(distroName(t.Distro)))
	fmt.Fprintf(tw, "Layers:\t%d\n", len(t.Layers))
	if !r.CreatedAt.IsZero() {
		fmt.Fprintf(tw, "Scanned:\t%s\n", r.CreatedAt.UTC().Format(time.RFC3339))
	}
	_ = tw.Flush() // writes to a bytes.Buffer cannot fail
}

// writeFindingsTable writes the findings table. Colour is applied after
// tabwriter has aligned the columns, so escape sequences never disturb the
// alignment.
func writeFindingsTable(buf *bytes.Buffer, fs []*finding.Finding, opts Options) error {
	var tbl bytes.Buffer
	tw := newTabWriter(&tbl)
	fmt.Fprintln(tw, "SEVERITY\tRULE\tTITLE\tLOCATION")
	for _, f := range fs {
		loc := f.Location.String()
		if loc == "" {
			loc = f.Target
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n",
			f.Severity, cell(f.RuleID), cell(truncate(f.Title, maxTitle)), cell(loc))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !opts.Color {
		buf.Write(tbl.Bytes())
		return nil
	}
	lines := strings.SplitAfter(tbl.String(), "\n")
	for i, line := range lines {
		if i == 0 || i > len(fs) {
			buf.WriteString(line) // header row, trailing empty piece
			continue
		}
		sev := fs[i-1].Severity.String()
		buf.WriteString(colorize(fs[i-1].Severity, sev, opts))
		buf.WriteString(strings.TrimPrefix(line, sev))
	}
	return nil
}

// writeTableSummary writes the closing counts.
func writeTableSummary(buf *bytes.Buffer, r *Report, pkgs []*inventory.Package, fs []*finding.Finding, opts Options) {
	byEco := map[inventory.Ecosystem]int{}
	var ecos []inventory.Ecosystem
	for _, p := range pkgs {
		if byEco[p.Ecosystem] == 0 {
			ecos = append(ecos, p.Ecosystem) // pkgs are sorted by ecosystem
		}
		byEco[p.Ecosystem]++
	}
	parts := make([]string, 0, len(ecos))
	for _, e := range ecos {
		parts = append(parts, fmt.Sprintf("%s %d", cell(string(e)), byEco[e]))
	}
	fmt.Fprintf(buf, "Packages: %d", len(pkgs))
	if len(parts) > 0 {
		fmt.Fprintf(buf, " (%s)", strings.Join(parts, ", "))
	}
	buf.WriteString("\n")

	bySev := map[finding.Severity]int{}
	for _, f := range fs {
		bySev[f.Severity]++
	}
	parts = parts[:0]
	for _, s := range severityOrder {
		if n := bySev[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", colorize(s, s.String(), opts), n))
		}
	}
	fmt.Fprintf(buf, "Findings: %d", len(fs))
	if len(parts) > 0 {
		fmt.Fprintf(buf, " (%s)", strings.Join(parts, ", "))
	}
	buf.WriteString("\n")

	if st := r.Stats; st != (Stats{}) {
		fmt.Fprintf(buf, "Files: %d in image, %d analyzed, %d skipped as too large, %d skipped as unsafe; %d analyzer errors; %d of %d layers cached\n",
			st.Files, st.FilesAnalyzed, st.SkippedTooLarge, st.SkippedUnsafe, st.AnalyzerErrors, st.LayersCached, len(r.Target.Layers))
	}
}

// colorize wraps s in the colour for sev when colour is enabled.
func colorize(sev finding.Severity, s string, opts Options) string {
	if !opts.Color {
		return s
	}
	c, ok := severityColors[sev]
	if !ok {
		c = severityColors[finding.Unknown]
	}
	return c + s + ansiReset
}

// distroName is the human name of the distro, or "" when unknown.
func distroName(d inventory.Distro) string {
	if d.PrettyName != "" {
		return d.PrettyName
	}
	return strings.TrimSpace(d.ID + " " + d.VersionID)
}

// cell makes s safe for one table cell: "-" when empty, and control or
// otherwise non-printable characters (tabs, newlines, terminal escape
// sequences, bidi overrides) escaped Go-style, so scanned content can
// neither break the table nor drive the terminal.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	clean := true
	for _, r := range s {
		if !safeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case safeRune(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
		s = s[n:]
	}
	return b.String()
}

// safeRune reports whether r may be written to a terminal verbatim.
func safeRune(r rune) bool {
	return r != utf8.RuneError && (r == ' ' || unicode.IsPrint(r))
}

// truncate shortens s to at most n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
