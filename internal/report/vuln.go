package report

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/picket-cdr/picket/internal/finding"
)

// Finding.Attributes keys of vulnerability findings, as the matcher
// (internal/match) sets them. They are repeated here rather than imported
// so that rendering does not depend on matching. The purl key is
// FindingAttrPURL.
const (
	attrPackage   = "package"          // package name
	attrInstalled = "installedVersion" // installed version
	attrFixed     = "fixedVersion"     // lowest fixed version; absent when none is known
	attrEcosystem = "ecosystem"        // e.g. "Alpine:v3.19", "Go"
	attrIDs       = "ids"              // every id and alias, comma-separated
	attrCVSS      = "cvssVector"       // the CVSS vector the severity came from
	attrScore     = "cvssScore"        // its base score, e.g. "7.5"
	attrKEV       = "kev"              // CISA KEV entries, e.g. "CVE-2021-44228 (added 2021-12-10)"
	attrSource    = "dataSource"       // the feeds the records came from, comma-separated
)

// Suppressed.Status values of VEX statements (the ignore file's is
// "ignored").
const (
	suppressedNotAffected = "not_affected"
	suppressedFixed       = "fixed"
)

// VulnDB.Status values.
const (
	vulnDBStale   = "stale"
	vulnDBMissing = "missing"
)

// isVulnerability reports whether f is a vulnerability finding.
func isVulnerability(f *finding.Finding) bool {
	return f.Kind == finding.KindVulnerability
}

// cvssScore is the finding's CVSS base score, if it has a valid one.
func cvssScore(f *finding.Finding) (float64, bool) {
	s := f.Attributes[attrScore]
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < 0 || v > 10 {
		return 0, false
	}
	return v, true
}

// vulnAliases lists the finding's other ids (the "ids" attribute without
// its rule id), sorted and de-duplicated.
func vulnAliases(f *finding.Finding) []string {
	var out []string
	for id := range strings.SplitSeq(f.Attributes[attrIDs], ",") {
		if id = strings.TrimSpace(id); id != "" && id != f.RuleID {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// isKEV reports whether the finding is listed in CISA's Known Exploited
// Vulnerabilities catalog.
func isKEV(f *finding.Finding) bool {
	return f.Attributes[attrKEV] != ""
}

// sortedSuppressed returns the suppressed findings of r (entries without a
// finding are skipped) ordered like findings, then by source, status and
// reason.
func sortedSuppressed(r *Report) []*Suppressed {
	out := make([]*Suppressed, 0, len(r.Suppressed))
	for _, s := range r.Suppressed {
		if s != nil && s.Finding != nil {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b *Suppressed) int {
		return cmp.Or(
			compareFindings(a.Finding, b.Finding),
			cmp.Compare(a.Source, b.Source),
			cmp.Compare(a.Status, b.Status),
			cmp.Compare(a.Reason, b.Reason),
		)
	})
	return out
}

// openVEXJustifications are the justification labels of OpenVEX 0.2.0.
var openVEXJustifications = []string{
	"component_not_present",
	"vulnerable_code_not_present",
	"vulnerable_code_not_in_execute_path",
	"vulnerable_code_cannot_be_controlled_by_adversary",
	"inline_mitigations_already_exist",
}

// vexJustification returns the OpenVEX justification of a VEX
// suppression: the structured field when set, else recovered from a reason
// reading "STATUS[: JUSTIFICATION][ — IMPACT]". Only a known OpenVEX label
// counts, so free text is never mistaken for one. "" when there is none.
func vexJustification(s *Suppressed) string {
	if slices.Contains(openVEXJustifications, s.Justification) {
		return s.Justification
	}
	rest, ok := strings.CutPrefix(s.Reason, s.Status+": ")
	if !ok || s.Status == "" {
		return ""
	}
	label, _, _ := strings.Cut(rest, " — ")
	label = strings.TrimSpace(label)
	if slices.Contains(openVEXJustifications, label) {
		return label
	}
	return ""
}
