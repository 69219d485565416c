package gate

import (
	"testing"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/report"
)

func rep() *report.Report {
	mk := func(id string, s finding.Severity, fixed string) *finding.Finding {
		return &finding.Finding{Kind: finding.KindVulnerability, RuleID: id, Severity: s, Attributes: map[string]string{"fixedVersion": fixed}}
	}
	return &report.Report{Findings: []*finding.Finding{
		mk("C", finding.Critical, "1.1"), mk("H", finding.High, ""), mk("M", finding.Medium, "2"),
		mk("U", finding.Unknown, "3"),
		{Kind: finding.KindMisconfig, RuleID: "X", Severity: finding.Low},
	}}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name   string
		o      Options
		kept   int
		failed int
	}{
		{"no policy", Options{}, 5, 0},
		{"fail on high", Options{Gate: true, FailOn: finding.High}, 5, 2},
		{"fail on unknown counts all", Options{Gate: true, FailOn: finding.Unknown}, 5, 5},
		{"ignore unfixed", Options{IgnoreUnfixed: true, Gate: true, FailOn: finding.High}, 4, 1},
		{"severity filter", Options{Severities: []finding.Severity{finding.Medium, finding.Low}, Gate: true, FailOn: finding.Low}, 2, 2},
	}
	for _, tt := range tests {
		r := rep()
		failed := Apply(r, tt.o)
		if len(r.Findings) != tt.kept || failed != tt.failed {
			t.Errorf("%s: kept %d failed %d, want %d %d", tt.name, len(r.Findings), failed, tt.kept, tt.failed)
		}
	}
}
