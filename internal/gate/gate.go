// Package gate applies a user's policy to a finished report: which
// severities to show, whether unfixed vulnerabilities count, which findings
// an ignore file or VEX statement accepts, and whether what remains fails
// the --fail-on threshold. Suppressed findings move to the report's
// Suppressed list with their reason; nothing is dropped silently.
package gate

import (
	"strings"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/report"
	"github.com/picket-cdr/picket/internal/suppress"
)

// Options is the policy.
type Options struct {
	// Disabled rule ids are dropped (checks the user switched off).
	Disabled []string
	// SeverityOf overrides the severity of rule ids.
	SeverityOf map[string]finding.Severity
	// Severities, when set, keeps only findings of these severities.
	Severities []finding.Severity
	// IgnoreUnfixed drops vulnerabilities with no fixed version.
	IgnoreUnfixed bool
	// Suppress holds ignore-file rules and VEX statements.
	Suppress *suppress.Set
	// Gate enables the threshold: findings at or above FailOn fail it.
	// FailOn UNKNOWN makes every finding count.
	Gate   bool
	FailOn finding.Severity
}

// Apply filters rep in place and returns how many remaining findings are at
// or above FailOn.
func Apply(rep *report.Report, o Options) int {
	keep := rep.Findings[:0]
	for _, f := range rep.Findings {
		if hasString(o.Disabled, f.RuleID) {
			continue
		}
		if s, ok := o.SeverityOf[f.RuleID]; ok {
			f.Severity = s
		}
		if len(o.Severities) > 0 && !hasSeverity(o.Severities, f.Severity) {
			continue
		}
		if o.IgnoreUnfixed && f.Kind == finding.KindVulnerability && f.Attributes["fixedVersion"] == "" {
			continue
		}
		keep = append(keep, f)
	}
	rep.Findings = keep
	if o.Suppress != nil {
		kept, sup := o.Suppress.Apply(rep.Findings, IDs)
		rep.Findings = kept
		for _, s := range sup {
			rep.Suppressed = append(rep.Suppressed, &report.Suppressed{Finding: s.Finding, Source: s.Source, Status: s.Status, Reason: s.Reason, Justification: s.Justification})
		}
	}
	if rep.Findings == nil {
		rep.Findings = []*finding.Finding{}
	}
	if !o.Gate {
		return 0
	}
	n := 0
	for _, f := range rep.Findings {
		if f.Severity >= o.FailOn {
			n++
		}
	}
	return n
}

// IDs lists every id a finding is known by: its rule id and, for
// vulnerabilities, all merged ids and aliases.
func IDs(f *finding.Finding) []string {
	ids := []string{f.RuleID}
	if all := f.Attributes["ids"]; all != "" {
		ids = append(ids, strings.Split(all, ",")...)
	}
	return ids
}

func hasSeverity(list []finding.Severity, s finding.Severity) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
