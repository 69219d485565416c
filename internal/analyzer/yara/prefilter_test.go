package yara_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/ahocorasick"
	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
	"github.com/picket-cdr/picket/internal/analyzer/yara"
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

// The default rule sets are prefiltered: the scanner's shared search
// gives the analyzer the atoms of the default native rules found in an ELF
// file, and the analyzer searches other files in memory for the text
// rules' atoms; when no rule of a set can match, libyara is not run with
// it. Every rule case gets the same matches that way as from libyara alone
// (NoPrefilter), and an ELF file said to hold none of the native atoms
// (all-zero hits) gets none: libyara was skipped, even for the positives.
func TestPrefilter(t *testing.T) {
	a := defaults(t)
	plain, err := yara.New(yara.Options{NoPrefilter: true})
	if err != nil {
		t.Fatal(err)
	}
	lits, _ := a.ELFLiterals()
	if len(lits) == 0 {
		t.Fatal("the default native rules give no atoms: the prefilter is off and every ELF file goes through libyara")
	}
	if l, _ := plain.ELFLiterals(); len(l) != 0 {
		t.Fatal("NoPrefilter still asks for the scanner's search")
	}
	native, text := 0, 0
	for _, c := range ruleCases {
		for _, s := range slices.Concat(c.positives, c.negatives) {
			want := ruleIDs(scan(t, plain, s))
			if got := ruleIDs(scan(t, a, s)); !slices.Equal(got, want) {
				t.Errorf("%s (%s): with the prefilter %v, libyara alone %v", c.rule, s.path, got, want)
			}
			if !strings.HasPrefix(s.content, "\x7fELF") {
				text++
				continue
			}
			native++
			if got := withLiterals(t, a, s, false); !slices.Equal(got, want) {
				t.Errorf("%s (%s): with the scanner's atoms %v, libyara alone %v", c.rule, s.path, got, want)
			}
			if got := withLiterals(t, a, s, true); len(got) != 0 {
				t.Errorf("%s (%s): %v reported although none of the atoms is present", c.rule, s.path, got)
			}
		}
	}
	if native < 10 || text < 10 {
		t.Fatalf("only %d ELF and %d other samples among the rule cases", native, text)
	}
}
