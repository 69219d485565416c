// Package finding defines the one model every part of Picket reports: a
// Finding with a kind, a severity, the rule that raised it, where it was
// seen and the evidence. Scanners, guards, the agent and the server all
// produce and consume this type, so reports and gates treat them alike.
package finding

import (
	"fmt"
	"strings"
)

// Severity orders findings. The zero value is Unknown.
type Severity int

// Severities from least to most severe.
const (
	Unknown Severity = iota
	Info
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"UNKNOWN", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

// String returns the upper-case name (e.g. "HIGH").
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "UNKNOWN"
	}
	return severityNames[s]
}

// ParseSeverity parses a severity name, case-insensitively.
func ParseSeverity(s string) (Severity, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	for i, n := range severityNames {
		if n == u {
			return Severity(i), nil
		}
	}
	return Unknown, fmt.Errorf("finding: unknown severity %q (want one of %s)", s, strings.Join(severityNames[:], ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Kind is the family a finding belongs to.
type Kind string

// Kinds of findings. Later analyzers add their own.
const (
	KindVulnerability Kind = "vulnerability"
	KindSecret        Kind = "secret"
	KindMalware       Kind = "malware"
	KindMisconfig     Kind = "misconfiguration"
	KindCompliance    Kind = "compliance"
	KindRuntime       Kind = "runtime"
	KindScan          Kind = "scan" // problems met while scanning (skipped files, corrupt databases)
)

// Location says where a finding was seen. Image findings fill the image
// fields; host and runtime findings fill the host fields.
type Location struct {
	Image       string `json:"image,omitempty"`
	ImageID     string `json:"imageId,omitempty"`
	LayerIndex  *int   `json:"layerIndex,omitempty"`
	LayerDiffID string `json:"layerDiffId,omitempty"`
	Path        string `json:"path,omitempty"`
	Line        int    `json:"line,omitempty"`

	Host      string `json:"host,omitempty"`
	Container string `json:"container,omitempty"`
	PID       int    `json:"pid,omitempty"`
}

// String renders the location compactly for tables and logs.
func (l Location) String() string {
	var parts []string
	if l.Container != "" {
		parts = append(parts, "container "+l.Container)
	}
	if l.PID != 0 {
		parts = append(parts, fmt.Sprintf("pid %d", l.PID))
	}
	if l.Path != "" {
		p := l.Path
		if l.Line > 0 {
			p = fmt.Sprintf("%s:%d", p, l.Line)
		}
		parts = append(parts, p)
	}
	if l.LayerIndex != nil {
		parts = append(parts, fmt.Sprintf("layer %d", *l.LayerIndex))
	}
	if len(parts) == 0 {
		if l.Host != "" {
			return l.Host
		}
		return l.Image
	}
	return strings.Join(parts, " ")
}

// Finding is one thing Picket wants a human or a gate to look at.
type Finding struct {
	Kind        Kind              `json:"kind"`
	Severity    Severity          `json:"severity"`
	RuleID      string            `json:"ruleId"`
	Title       string            `json:"title"`
	Description string            `json:"description,omitempty"`
	Target      string            `json:"target"`
	Location    Location          `json:"location"`
	Evidence    string            `json:"evidence,omitempty"`
	Remediation string            `json:"remediation,omitempty"`
	References  []string          `json:"references,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Attributes  map[string]string `json:"attributes,omitempty"`
}

// Less orders findings by descending severity, then rule id and location,
// so reports are stable.
func Less(a, b *Finding) bool {
	if a.Severity != b.Severity {
		return a.Severity > b.Severity
	}
	if a.RuleID != b.RuleID {
		return a.RuleID < b.RuleID
	}
	return a.Location.Path < b.Location.Path
}
