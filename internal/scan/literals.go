package scan

import (
	"context"
	"io"
	"slices"
	"strings"

	"github.com/picket-cdr/picket/internal/ahocorasick"
	"github.com/picket-cdr/picket/internal/analyzer"
)

// literalSet is one automaton over the literals of a group of analyzers
// (analyzer.ELFLiteralSearcher) that want the same files: the ELF and YARA
// analyzers, say, read an ELF file's bytes once between them.
type literalSet struct {
	m      *ahocorasick.Matcher
	owners [][]litOwner // pattern id -> the analyzers' literals it is
	sizes  []int        // analyzer slot -> number of its literals
	limits []int64      // analyzer slot -> bytes searched for it
	limit  int64        // the largest of limits
}

type litOwner struct {
	slot int // index among the group's analyzers
	id   int // the literal's index in that analyzer's list
}

func newLiteralSet(as []analyzer.ELFLiteralSearcher) *literalSet {
	ls := &literalSet{sizes: make([]int, len(as)), limits: make([]int64, len(as))}
	var pats []string
	var exact []bool
	index := map[analyzer.Literal]int{}
	for slot, a := range as {
		lits, limit := a.ELFLiterals()
		ls.sizes[slot], ls.limits[slot] = len(lits), limit
		ls.limit = max(ls.limit, limit)
		for id, l := range lits {
			if !l.Exact {
				l.Text = strings.ToLower(l.Text) // one pattern for "ABC" and "abc" unless exact
			}
			p, ok := index[l]
			if !ok {
				p = len(pats)
				index[l] = p
				pats = append(pats, l.Text)
				exact = append(exact, l.Exact)
				ls.owners = append(ls.owners, nil)
			}
			ls.owners[p] = append(ls.owners[p], litOwner{slot, id})
		}
	}
	ls.m = ahocorasick.New(pats, exact)
	return ls
}

// searchLiterals searches an ELF file once for the literals of every
// analyzer in as that implements analyzer.ELFLiteralSearcher and returns
// each one's hits at its index in as (nil for the others); nil when no
// analyzer takes part, the file is not ELF, or it cannot be read (the
// analyzers then search for themselves).
func (s *Scanner) searchLiterals(ctx context.Context, as []analyzer.Analyzer, c analyzer.Content) [][]analyzer.LiteralHit {
	if !slices.ContainsFunc(as, func(a analyzer.Analyzer) bool { _, ok := a.(analyzer.ELFLiteralSearcher); return ok }) {
		return nil
	}
	var magic [4]byte
	if n, _ := c.ReadAt(magic[:], 0); n < 4 || string(magic[:]) != "\x7fELF" {
		return nil
	}
	var group []analyzer.ELFLiteralSearcher
	var names []string
	var index []int // group slot -> index in as
	for i, a := range as {
		if ls, ok := a.(analyzer.ELFLiteralSearcher); ok {
			if lits, _ := ls.ELFLiterals(); len(lits) > 0 {
				group = append(group, ls)
				names = append(names, a.Name())
				index = append(index, i)
			}
		}
	}
	if len(group) == 0 {
		return nil
	}
	key := strings.Join(names, "\x00")
	v, ok := s.literalSets.Load(key)
	if !ok {
		v, _ = s.literalSets.LoadOrStore(key, newLiteralSet(group))
	}
	ls := v.(*literalSet)

	hits := make([][]analyzer.LiteralHit, len(group))
	for slot := range group {
		hits[slot] = make([]analyzer.LiteralHit, ls.sizes[slot])
	}
	record := func(p int, start int64) bool {
		end := start + int64(len(ls.m.Pattern(p)))
		for _, o := range ls.owners[p] {
			if end > ls.limits[o.slot] {
				continue
			}
			h := &hits[o.slot][o.id]
			if h.Count == 0 {
				h.First = start
			}
			h.Last = start // matches come in order
			h.Count++
		}
		return true
	}
	size := min(c.Size(), ls.limit)
	if data, ok := analyzer.Bytes(c); ok && int64(len(data)) >= size {
		ls.m.Find(data[:size], func(p, start int) bool { return record(p, int64(start)) })
	} else if !streamLiterals(ctx, ls.m, c, size, record) {
		return nil
	}
	out := make([][]analyzer.LiteralHit, len(as))
	for slot := range group {
		out[index[slot]] = hits[slot]
	}
	return out
}

// literalChunk is the read size of a spooled file's literal search.
const literalChunk = 256 << 10

// streamLiterals feeds the first size bytes of c to m in chunks; false
// when reading fails or ctx ends.
func streamLiterals(ctx context.Context, m *ahocorasick.Matcher, c io.ReaderAt, size int64, record func(int, int64) bool) bool {
	sc := m.NewScanner()
	buf := make([]byte, literalChunk)
	for off := int64(0); off < size; {
		if ctx.Err() != nil {
			return false
		}
		n, err := c.ReadAt(buf[:min(literalChunk, size-off)], off)
		if n == 0 {
			return err == io.EOF
		}
		sc.Feed(buf[:n], off, record)
		off += int64(n)
	}
	return true
}
