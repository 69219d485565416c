package yara_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/ahocorasick"
	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
)

// withLiterals analyses s the way the scanner does an ELF file: the
// analyzer's ELFLiterals searched for first, the hits handed over.
func withLiterals(t *testing.T, a analyzer.ELFLiteralSearcher, s sample, strip bool) []string {
	t.Helper()
	lits, limit := a.ELFLiterals()
	pats := make([]string, len(lits))
	for i, l := range lits {
		pats[i] = l.Text
	}
	hits := make([]analyzer.LiteralHit, len(lits))
	content := []byte(s.content)
	if !strip {
		ahocorasick.New(pats, nil).Find(content[:min(int64(len(content)), limit)], func(id, start int) bool {
			hits[id].Count++
			return true
		})
	}
	in := analyzertest.Input(s.path, content, 0o755)
	in.Literals = hits
	res, err := a.Analyze(context.Background(), in)
	if err != nil {
		t.Fatalf("%s: %v", s.path, err)
	}
	return ruleIDs(res.Findings)
}

// The scanner's shared search gives the YARA analyzer the atoms of the
// default native rules found in an ELF file; when no rule can match it
// skips libyara for them. Every rule case of an ELF file gets the same
// matches that way as when libyara scans it, and told that none of the
// atoms is present (all-zero hits) the analyzer skips libyara: no match,
// not even for the positives.
func TestNativePrefilter(t *testing.T) {
	a := defaults(t)
	lits, _ := a.ELFLiterals()
	if len(lits) == 0 {
		t.Fatal("the default native rules give no atoms: the prefilter is off and every ELF file goes through libyara")
	}
	n := 0
	for _, c := range ruleCases {
		for _, s := range slices.Concat(c.positives, c.negatives) {
			if !strings.HasPrefix(s.content, "\x7fELF") {
				continue
			}
			n++
			want := ruleIDs(scan(t, a, s))
			if got := withLiterals(t, a, s, false); !slices.Equal(got, want) {
				t.Errorf("%s (%s): with the prefilter %v, libyara alone %v", c.rule, s.path, got, want)
			}
			// Told that no atom is present, libyara is skipped: nothing,
			// even for the positives.
			if got := withLiterals(t, a, s, true); len(got) != 0 {
				t.Errorf("%s (%s): %v reported although none of the atoms is present", c.rule, s.path, got)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d ELF samples among the rule cases", n)
	}
}
