package scan

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer"
)

// litAnalyzer is an analyzer that only declares ELF literals.
type litAnalyzer struct {
	name  string
	lits  []analyzer.Literal
	limit int64
}

func (a litAnalyzer) Name() string                             { return a.name }
func (a litAnalyzer) Version() int                             { return 1 }
func (a litAnalyzer) Required(string, fs.FileInfo) bool        { return true }
func (a litAnalyzer) ELFLiterals() ([]analyzer.Literal, int64) { return a.lits, a.limit }
func (litAnalyzer) Analyze(context.Context, *analyzer.Input) (*analyzer.Result, error) {
	return nil, nil
}

type plainAnalyzer struct{ litAnalyzer }

func (plainAnalyzer) ELFLiterals() {} // not an ELFLiteralSearcher

// One search serves every analyzer's literals, shared ones included, in
// memory and streamed from a spooled file (matches straddling chunks),
// each analyzer only up to its own limit; non-ELF files and analyzers
// without literals take no part.
func TestSearchLiterals(t *testing.T) {
	body := strings.Repeat("\x00", literalChunk-3) + "xmRIG" + strings.Repeat("\x90", 100) + "stratum+tcp://" +
		strings.Repeat("\x00", 2*literalChunk) + "LD_PRELOAD ld_preload XMRIG"
	content := []byte("\x7fELF" + body)
	elfA := litAnalyzer{"elf", []analyzer.Literal{{Text: "xmrig"}, {Text: "LD_PRELOAD", Exact: true}, {Text: "absent"}}, 1 << 30}
	yaraA := litAnalyzer{"yara", []analyzer.Literal{{Text: "STRATUM+TCP://"}, {Text: "xmrig"}}, int64(literalChunk + 200)}
	none := litAnalyzer{"none", nil, 1 << 30}
	other := plainAnalyzer{litAnalyzer{"other", nil, 0}}
	as := []analyzer.Analyzer{elfA, none, other, yaraA}

	at := func(s string, n int) int64 { // offset of the n-th occurrence of s (case folded unless exact)
		low := bytes.Clone(content) // ASCII only: content is not UTF-8
		for i, b := range low {
			if 'A' <= b && b <= 'Z' {
				low[i] = b + 'a' - 'A'
			}
		}
		hay := string(low)
		needle := strings.ToLower(s)
		if s == "LD_PRELOAD" {
			hay, needle = string(content), s
		}
		off := -1
		for range n {
			off += 1 + strings.Index(hay[off+1:], needle)
		}
		return int64(off)
	}
	want := map[string][]analyzer.LiteralHit{
		"elf":  {{First: at("xmrig", 1), Last: at("xmrig", 2), Count: 2}, {First: at("LD_PRELOAD", 1), Last: at("LD_PRELOAD", 1), Count: 1}, {}},
		"yara": {{First: at("stratum+tcp://", 1), Last: at("stratum+tcp://", 1), Count: 1}, {First: at("xmrig", 1), Last: at("xmrig", 1), Count: 1}},
	}
	spool := filepath.Join(t.TempDir(), "spool")
	if err := os.WriteFile(spool, content, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(spool)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := New()
	for name, c := range map[string]analyzer.Content{
		"memory":  memContent{Reader: bytes.NewReader(content), b: content},
		"spooled": spooledFile{File: f, size: int64(len(content))},
	} {
		got := s.searchLiterals(context.Background(), as, c)
		if len(got) != len(as) || got[1] != nil || got[2] != nil {
			t.Fatalf("%s: hits %v", name, got)
		}
		for i, a := range map[int]litAnalyzer{0: elfA, 3: yaraA} {
			if !slices.Equal(got[i], want[a.name]) {
				t.Errorf("%s: %s: got %+v, want %+v", name, a.name, got[i], want[a.name])
			}
		}
	}
	text := []byte("#!/bin/sh\nxmrig\n")
	if got := s.searchLiterals(context.Background(), as, memContent{Reader: bytes.NewReader(text), b: text}); got != nil {
		t.Errorf("a script was searched: %v", got)
	}
	if got := s.searchLiterals(context.Background(), []analyzer.Analyzer{none, other}, memContent{Reader: bytes.NewReader(content), b: content}); got != nil {
		t.Errorf("searched without literals: %v", got)
	}
}
