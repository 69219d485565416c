package report

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
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
// target, a packages table, a vulnerabilities table and a table of
// suppressed findings when there are any, a table of the other findings
// when there are any, and summary counts.
func writeTable(w io.Writer, r *Report, opts Options) error {
	var buf bytes.Buffer
	pkgs := sortedPackages(r)
	fs := sortedFindings(r)
	var vulns, others []*finding.Finding
	for _, f := range fs {
		if isVulnerability(f) {
			vulns = append(vulns, f)
		} else {
			others = append(others, f)
		}
	}
	slices.SortStableFunc(vulns, compareVulnRows)
	sup := sortedSuppressed(r)

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

	if len(vulns) > 0 {
		buf.WriteString("\n")
		fmt.Fprintf(&buf, "Vulnerabilities (%d)\n", len(vulns))
		if err := writeVulnerabilitiesTable(&buf, vulns, opts); err != nil {
			return err
		}
	}

	if len(sup) > 0 {
		buf.WriteString("\n")
		fmt.Fprintf(&buf, "Suppressed (%d)\n", len(sup))
		if err := writeSuppressedTable(&buf, sup); err != nil {
			return err
		}
	}

	if len(others) > 0 {
		buf.WriteString("\n")
		fmt.Fprintf(&buf, "Findings (%d)\n", len(others))
		if err := writeFindingsTable(&buf, others, opts); err != nil {
			return err
		}
	}

	buf.WriteString("\n")
	writeTableSummary(&buf, r, pkgs, fs, vulns, sup, opts)
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

// writeFindingsTable writes the findings table.
func writeFindingsTable(buf *bytes.Buffer, fs []*finding.Finding, opts Options) error {
	var tbl bytes.Buffer
	tw := newTabWriter(&tbl)
	fmt.Fprintln(tw, "SEVERITY\tRULE\tTITLE\tLOCATION")
	sevs := make([]finding.Severity, 0, len(fs))
	for _, f := range fs {
		loc := f.Location.String()
		if loc == "" {
			loc = f.Target
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n",
			f.Severity, cell(f.RuleID), cell(truncate(f.Title, maxTitle)), cell(loc))
		sevs = append(sevs, f.Severity)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	writeSeverityColumn(buf, tbl.String(), "SEVERITY", sevs, opts)
	return nil
}

// maxVulnTitle bounds the TITLE column of the vulnerabilities table, whose
// other columns already take much of a terminal's width.
const maxVulnTitle = 64

// writeVulnerabilitiesTable writes the vulnerabilities table, one row per
// vulnerability finding, in the order given.
func writeVulnerabilitiesTable(buf *bytes.Buffer, vulns []*finding.Finding, opts Options) error {
	var tbl bytes.Buffer
	tw := newTabWriter(&tbl)
	fmt.Fprintln(tw, "PACKAGE\tINSTALLED\tFIXED\tID\tSEVERITY\tKEV\tTITLE")
	sevs := make([]finding.Severity, 0, len(vulns))
	for _, f := range vulns {
		kev := ""
		if isKEV(f) {
			kev = "KEV"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			cell(f.Attributes[attrPackage]), cell(f.Attributes[attrInstalled]), cell(f.Attributes[attrFixed]),
			cell(f.RuleID), f.Severity, cell(kev), cell(truncate(f.Title, maxVulnTitle)))
		sevs = append(sevs, f.Severity)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	writeSeverityColumn(buf, tbl.String(), "SEVERITY", sevs, opts)
	return nil
}

// compareVulnRows orders the vulnerabilities table: by descending
// severity, then package, id and installed version, then as findings.
func compareVulnRows(a, b *finding.Finding) int {
	return cmp.Or(
		cmp.Compare(b.Severity, a.Severity),
		cmp.Compare(a.Attributes[attrPackage], b.Attributes[attrPackage]),
		cmp.Compare(a.RuleID, b.RuleID),
		cmp.Compare(a.Attributes[attrInstalled], b.Attributes[attrInstalled]),
		compareFindings(a, b),
	)
}

// maxReason bounds the REASON column of the suppressed table.
const maxReason = 72

// writeSuppressedTable writes the findings an ignore file or VEX statement
// set aside, with why and on whose word.
func writeSuppressedTable(buf *bytes.Buffer, sup []*Suppressed) error {
	tw := newTabWriter(buf)
	fmt.Fprintln(tw, "ID\tPACKAGE\tSTATUS\tREASON\tSOURCE")
	for _, s := range sup {
		f := s.Finding
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n",
			cell(f.RuleID), cell(f.Attributes[attrPackage]), cell(s.Status),
			cell(truncate(s.Reason, maxReason)), cell(s.Source))
	}
	return tw.Flush()
}

// writeSeverityColumn copies the aligned table tbl to buf, colouring the
// severity cell of each row when colour is enabled; sevs holds the rows'
// severities in order. Colour is applied after tabwriter has aligned the
// columns, so escape sequences never disturb the alignment. tabwriter
// aligns by rune count, so the column named header starts at the same rune
// offset on every line.
func writeSeverityColumn(buf *bytes.Buffer, tbl, header string, sevs []finding.Severity, opts Options) {
	if !opts.Color {
		buf.WriteString(tbl)
		return
	}
	lines := strings.SplitAfter(tbl, "\n")
	col := utf8.RuneCountInString(lines[0][:max(strings.Index(lines[0], header), 0)])
	for i, line := range lines {
		if i == 0 || i > len(sevs) {
			buf.WriteString(line) // header row, trailing empty piece
			continue
		}
		sev := sevs[i-1]
		name := sev.String()
		off := runeOffset(line, col)
		if !strings.HasPrefix(line[off:], name) {
			buf.WriteString(line) // cannot happen: cells before it are escaped
			continue
		}
		buf.WriteString(line[:off])
		buf.WriteString(colorize(sev, name, opts))
		buf.WriteString(line[off+len(name):])
	}
}

// runeOffset is the byte offset of the n-th rune of s (len(s) past its end).
func runeOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

// writeTableSummary writes the closing counts and the vulnerability
// database's state.
func writeTableSummary(buf *bytes.Buffer, r *Report, pkgs []*inventory.Package, fs, vulns []*finding.Finding, sup []*Suppressed, opts Options) {
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

	fmt.Fprintf(buf, "Findings: %d%s\n", len(fs), severityCounts(fs, opts))

	db := r.VulnDB
	missing := db != nil && db.Status == vulnDBMissing
	if len(vulns) > 0 || (db != nil && !missing) {
		fixable := 0
		for _, f := range vulns {
			if f.Attributes[attrFixed] != "" {
				fixable++
			}
		}
		fmt.Fprintf(buf, "Vulnerabilities: %d%s, fixable %d\n", len(vulns), severityCounts(vulns, opts), fixable)
	}
	if missing {
		buf.WriteString("Vulnerabilities: not checked — no vulnerability database (run `picket db update`)\n")
	}
	if len(sup) > 0 {
		fmt.Fprintf(buf, "Suppressed: %d (%s)\n", len(sup), suppressionCounts(sup))
	}

	if st := r.Stats; st != (Stats{}) {
		fmt.Fprintf(buf, "Files: %d in image, %d analyzed, %d skipped as too large, %d skipped as unsafe; %d analyzer errors; %d of %d layers cached\n",
			st.Files, st.FilesAnalyzed, st.SkippedTooLarge, st.SkippedUnsafe, st.AnalyzerErrors, st.LayersCached, len(r.Target.Layers))
	}

	if db != nil && !missing {
		writeVulnDBSummary(buf, r, db)
	}
}

// severityCounts is " (CRITICAL 1, HIGH 2, ...)" for the severities fs
// has, or "" when fs is empty.
func severityCounts(fs []*finding.Finding, opts Options) string {
	bySev := map[finding.Severity]int{}
	for _, f := range fs {
		bySev[f.Severity]++
	}
	var parts []string
	for _, s := range severityOrder {
		if n := bySev[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", colorize(s, s.String(), opts), n))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// writeVulnDBSummary describes the vulnerability data a scan used, warning
// when it is stale or when versions could not be compared.
func writeVulnDBSummary(buf *bytes.Buffer, r *Report, db *VulnDB) {
	fmt.Fprintf(buf, "Vulnerability database: %s", cell(db.Status))
	if !db.UpdatedAt.IsZero() {
		fmt.Fprintf(buf, ", updated %s", db.UpdatedAt.UTC().Format(time.RFC3339))
	}
	if len(db.Sources) > 0 {
		srcs := make([]string, len(db.Sources))
		for i, s := range db.Sources {
			srcs[i] = cell(s)
		}
		fmt.Fprintf(buf, " (%s)", strings.Join(srcs, ", "))
	}
	fmt.Fprintf(buf, "; %d packages checked, %d not covered", db.Packages, db.Unsupported)
	if db.OwnedByOS > 0 {
		fmt.Fprintf(buf, ", %d covered by their OS package", db.OwnedByOS)
	}
	buf.WriteString("\n")

	if db.Status == vulnDBStale {
		buf.WriteString("Warning: the vulnerability database is stale")
		if !db.UpdatedAt.IsZero() {
			now := r.CreatedAt
			if now.IsZero() {
				now = time.Now()
			}
			fmt.Fprintf(buf, ": last updated %s (%s before the scan)",
				db.UpdatedAt.UTC().Format(time.RFC3339), humanAge(now.Sub(db.UpdatedAt)))
		}
		buf.WriteString("; run `picket db update`\n")
	}
	if db.Errors > 0 {
		fmt.Fprintf(buf, "Warning: %s while matching vulnerabilities; some may be missing",
			plural(db.Errors, "version comparison failed", "version comparisons failed"))
		if len(db.ErrorSample) > 0 {
			fmt.Fprintf(buf, " (first: %s)", cell(truncate(db.ErrorSample[0], maxTitle)))
		}
		buf.WriteString("\n")
	}
}

// suppressionCounts is "ignore file 1, VEX 2": how many findings each
// kind of source suppressed.
func suppressionCounts(sup []*Suppressed) string {
	var ignored, vex, other int
	for _, s := range sup {
		switch {
		case strings.HasPrefix(s.Source, "ignore-file:"):
			ignored++
		case strings.HasPrefix(s.Source, "vex:"):
			vex++
		default:
			other++
		}
	}
	var parts []string
	for _, p := range []struct {
		name string
		n    int
	}{{"ignore file", ignored}, {"VEX", vex}, {"other", other}} {
		if p.n > 0 {
			parts = append(parts, p.name+" "+strconv.Itoa(p.n))
		}
	}
	return strings.Join(parts, ", ")
}

// plural is "1 thing" or "N things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// humanAge renders a duration in whole days, or in hours (at least one)
// below two days.
func humanAge(d time.Duration) string {
	switch {
	case d < 48*time.Hour:
		return plural(max(int(d/time.Hour), 1), "hour", "hours")
	}
	return plural(int(d/(24*time.Hour)), "day", "days")
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
