package webshell

import (
	"bytes"
	"strings"
	"sync"

	"github.com/picket-cdr/picket/internal/ahocorasick"
)

// literalIndex finds, in one Aho-Corasick pass over a lower-cased file,
// every literal a language's rules anchor on: sink and source literals,
// the strings sinks need, decoder literals and family markers. Without it
// each literal cost one pass over the file.
type literalIndex struct {
	ac   *ahocorasick.Matcher
	lits []string
	ids  map[string]int
}

// extraLiterals are looked up by the scoring code itself.
var extraLiterals = []string{"$_", "preg_replace", "preg_filter", "mb_ereg", "chr", "@eval", "@assert"}

// indexes holds each language's literal index by name: per-file copies of a
// language (ASP with the lexer its page declares) share their original's
// rules, so they share its index too.
var indexes sync.Map // lang name -> *literalIndex

// index returns the language's literal index, built on first use.
func (lg *lang) index() *literalIndex {
	if x, ok := indexes.Load(lg.name); ok {
		return x.(*literalIndex)
	}
	ix := &literalIndex{ids: map[string]int{}}
	add := func(ls ...string) {
		for _, s := range ls {
			if _, dup := ix.ids[s]; s != "" && !dup {
				ix.ids[s] = len(ix.lits)
				ix.lits = append(ix.lits, s)
			}
		}
	}
	for _, s := range lg.sinks {
		add(s.lits...)
		add(s.needs)
	}
	add(lg.sourceLits...)
	add(lg.decoderLits...)
	add(markers...)
	add(revConnectLits...)
	add(revSpawnLits...)
	add(revShellLits...)
	add(extraLiterals...)
	// The file is searched lower-cased: a literal with an upper-case
	// letter must match as written (that is, never), as with bytes.Index.
	exact := make([]bool, len(ix.lits))
	for i, s := range ix.lits {
		exact[i] = strings.ToLower(s) != s
	}
	ix.ac = ahocorasick.New(ix.lits, exact)
	x, _ := indexes.LoadOrStore(lg.name, ix)
	return x.(*literalIndex)
}

// occurrences returns the offsets of lit in the lower-cased file, in order,
// at most maxCandidates of them. The first call indexes every literal of
// the language at once; a literal outside the index is searched alone.
func (f *file) occurrences(lit string) []int {
	if f.occ == nil {
		ix := f.l.index()
		f.occ = make(map[string][]int, 16)
		full := map[int]bool{}
		ix.ac.Find(f.low, func(id, start int) bool {
			if full[id] {
				return true
			}
			s := ix.lits[id]
			if len(f.occ[s]) >= maxCandidates {
				full[id] = true
				return true
			}
			f.occ[s] = append(f.occ[s], start)
			return true
		})
		for _, s := range ix.lits {
			if _, ok := f.occ[s]; !ok {
				f.occ[s] = nil // known absent
			}
		}
	}
	if pos, ok := f.occ[lit]; ok {
		return pos
	}
	var pos []int
	for k := 0; len(pos) < maxCandidates; {
		i := bytes.Index(f.low[k:], []byte(lit))
		if i < 0 {
			break
		}
		pos = append(pos, k+i)
		k += i + 1
	}
	f.occ[lit] = pos
	return pos
}

// first returns the first offset of lit in the lower-cased file, or -1.
func (f *file) first(lit string) int {
	if occ := f.occurrences(lit); len(occ) > 0 {
		return occ[0]
	}
	return -1
}
