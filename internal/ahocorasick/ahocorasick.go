// Package ahocorasick finds many ASCII patterns in one pass over a buffer or
// a stream, ignoring ASCII case (patterns marked exact are checked against
// the original bytes when they match). Every occurrence of every pattern is
// reported, overlapping ones included, in the order of their end offsets.
//
// It is an Aho-Corasick automaton with a dense transition table whose rows
// already fold upper-case bytes onto lower-case ones. Bytes are mapped to
// classes first (every byte no pattern uses shares one class), so a state's
// row is a few dozen entries and the table stays in the CPU's caches. States
// are stored premultiplied by the number of classes and numbered so that
// every state where a pattern ends comes after all the others: the hot loop
// costs two loads and one compare per byte. Long inputs are scanned as two
// interleaved halves (two independent chains of loads run nearly twice as
// fast on one core as one chain); matches are still reported in order.
//
// The secret, web-shell and ELF analyzers search file contents with it.
package ahocorasick

import "slices"

// Matcher is a compiled pattern set. It is safe for concurrent use; each
// goroutine scanning a stream needs its own Scanner.
type Matcher struct {
	class    [256]uint16 // byte -> class (case folded)
	nclass   int
	next     []int32   // state*nclass + class -> next state*nclass
	out      [][]int32 // state -> ids of the patterns that end here
	firstOut int32     // premultiplied states >= firstOut have outputs
	pats     []string  // patterns as given
	exact    []bool    // case-sensitive patterns
	anyExact bool
	maxLen   int
	nstates  int
}

// lower maps ASCII upper-case bytes to lower case and every other byte to
// itself.
var lower = func() (t [256]byte) {
	for i := range t {
		b := byte(i)
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		t[i] = b
	}
	return t
}()

// New builds the automaton for pats; a pattern's id is its index. exact[i]
// makes pattern i case-sensitive (exact may be nil or shorter than pats:
// missing entries are false). Empty patterns never match.
func New(pats []string, exact []bool) *Matcher {
	ex := make([]bool, len(pats))
	copy(ex, exact)
	m := &Matcher{pats: pats, exact: ex, anyExact: slices.Contains(ex, true)}
	// Classes: one per byte value (lower-cased) that some pattern uses,
	// class 0 for all others. The automaton is built over classes.
	used := [256]bool{}
	for _, p := range pats {
		for i := 0; i < len(p); i++ {
			used[lower[p[i]]] = true
		}
	}
	var classOf [256]uint16
	nclass := 1
	for c := 0; c < 256; c++ {
		if used[c] {
			classOf[c] = uint16(nclass)
			nclass++
		}
	}
	for c := 0; c < 256; c++ {
		m.class[c] = classOf[lower[c]]
	}
	m.nclass = nclass
	// Trie: goto[state*nclass+class], 0 meaning none (the root is never a
	// child).
	gotoT := make([]int32, nclass, 64*nclass)
	var own [][]int32 // state -> patterns ending exactly there
	own = append(own, nil)
	for id, p := range pats {
		if p == "" {
			continue
		}
		m.maxLen = max(m.maxLen, len(p))
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := int(m.class[p[i]])
			n := gotoT[int(s)*nclass+c]
			if n == 0 {
				n = int32(len(own))
				own = append(own, nil)
				gotoT = append(gotoT, make([]int32, nclass)...)
				gotoT[int(s)*nclass+c] = n
			}
			s = n
		}
		own[s] = append(own[s], int32(id))
	}
	n := len(own)
	// Breadth-first: a missing transition is the failure state's; the
	// root's missing transitions loop to the root.
	next := gotoT // completed in place
	out := make([][]int32, n)
	fail := make([]int32, n)
	queue := make([]int32, 0, n)
	for c := 0; c < nclass; c++ {
		if k := next[c]; k != 0 {
			queue = append(queue, k)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		out[s] = append(append([]int32(nil), own[s]...), out[fail[s]]...)
		row, frow := next[int(s)*nclass:int(s+1)*nclass], next[int(fail[s])*nclass:int(fail[s]+1)*nclass]
		for c := 0; c < nclass; c++ {
			if k := row[c]; k != 0 {
				fail[k] = frow[c]
				if s == 0 {
					fail[k] = 0
				}
				queue = append(queue, k)
			} else {
				row[c] = frow[c]
			}
		}
	}
	// Renumber: states without output first (the root stays 0: no pattern
	// is empty), then the ones with output; store them premultiplied.
	order := make([]int32, 0, n) // new -> old
	for s := 0; s < n; s++ {
		if len(out[s]) == 0 {
			order = append(order, int32(s))
		}
	}
	m.firstOut = int32(len(order))
	for s := 0; s < n; s++ {
		if len(out[s]) > 0 {
			order = append(order, int32(s))
		}
	}
	renum := make([]int32, n) // old -> new
	for ns, os := range order {
		renum[os] = int32(ns)
	}
	m.next = make([]int32, n*nclass)
	m.out = make([][]int32, n)
	for ns, os := range order {
		m.out[ns] = out[os]
		row := next[int(os)*nclass : int(os+1)*nclass]
		for k := 0; k < nclass; k++ {
			m.next[ns*nclass+k] = renum[row[k]] * int32(nclass)
		}
	}
	m.firstOut *= int32(nclass)
	m.nstates = n
	return m
}

// Len is the number of patterns.
func (m *Matcher) Len() int { return len(m.pats) }

// Pattern returns pattern id as given to New.
func (m *Matcher) Pattern(id int) string { return m.pats[id] }

// MaxLen is the length of the longest pattern.
func (m *Matcher) MaxLen() int { return m.maxLen }

// States is the number of automaton states.
func (m *Matcher) States() int { return m.nstates }

// Find reports every match in buf to fn, in the order of their end
// offsets, with the pattern's id and its start offset; it stops when fn
// returns false and then returns false.
func (m *Matcher) Find(buf []byte, fn func(id, start int) bool) bool {
	s := Scanner{m: m}
	return s.Feed(buf, 0, func(id int, start int64) bool { return fn(id, int(start)) })
}

// Scanner runs a Matcher over consecutive chunks of a stream.
type Scanner struct {
	m     *Matcher
	state int32
	pend  []match // the second half's matches, reported after the first's
	tail  []byte  // the stream's last MaxLen-1 bytes before the chunk, to check exact patterns that straddle chunks
}

type match struct {
	i  int32 // offset in buf of the match's last byte
	st int32 // its output state
}

// NewScanner starts a stream at its beginning.
func (m *Matcher) NewScanner() *Scanner { return &Scanner{m: m} }

// block is how much of a buffer is scanned as two interleaved halves at a
// time: it bounds the matches held back to keep them in order.
const block = 64 << 10

// Feed scans the stream's next chunk; base is the stream offset of
// chunk[0]. It reports the matches that end in the chunk to fn in order,
// with the stream offset of their start (a match may start in earlier
// chunks), and returns false as soon as fn does (the scanner must not be
// fed again then).
func (s *Scanner) Feed(chunk []byte, base int64, fn func(id int, start int64) bool) bool {
	for from := 0; from < len(chunk); {
		end := min(len(chunk), from+block)
		if !s.feed(chunk[:end], from, base, fn) {
			return false
		}
		from = end
	}
	if s.m.anyExact {
		// Keep the last bytes for exact patterns that straddle chunks.
		keep := s.m.maxLen - 1
		if len(chunk) >= keep {
			s.tail = append(s.tail[:0], chunk[len(chunk)-keep:]...)
		} else {
			s.tail = append(s.tail, chunk...)
			if len(s.tail) > keep {
				s.tail = append(s.tail[:0], s.tail[len(s.tail)-keep:]...)
			}
		}
	}
	return true
}

// feed scans buf[from:] as two interleaved halves. The second half starts
// from the root MaxLen bytes early, which is enough to reach the state the
// first half would have been in; it only reports patterns that end in its
// own half, after the first half's.
func (s *Scanner) feed(buf []byte, from int, base int64, fn func(int, int64) bool) bool {
	m := s.m
	end := len(buf)
	mid := from + (end-from)/2
	warm := mid - m.maxLen
	if end-from < 4*m.maxLen+64 || warm < from {
		st, ok := s.run(buf, from, end, s.state, base, from, fn)
		s.state = st
		return ok
	}
	next := m.next
	firstOut := m.firstOut
	class := &m.class
	a, b := s.state, int32(0)
	i, j := from, warm
	n := mid - from // the first half's length; the second is at least as long
	s.pend = s.pend[:0]
	for k := 0; k < n; k++ {
		a = next[int(a)+int(class[buf[i]])]
		b = next[int(b)+int(class[buf[j]])]
		if a >= firstOut {
			if !s.report(buf, i, a, base, fn) {
				return false
			}
		}
		if b >= firstOut && j >= mid {
			s.pend = append(s.pend, match{int32(j), b})
		}
		i++
		j++
	}
	for _, p := range s.pend {
		if !s.report(buf, int(p.i), p.st, base, fn) {
			return false
		}
	}
	// The second half's remaining bytes (its warm-up made it longer).
	st, ok := s.run(buf, j, end, b, base, mid, fn)
	s.state = st
	return ok
}

// run steps the automaton from state st over buf[i:end], reporting patterns
// that end at or after minEnd.
func (s *Scanner) run(buf []byte, i, end int, st int32, base int64, minEnd int, fn func(int, int64) bool) (int32, bool) {
	next := s.m.next
	firstOut := s.m.firstOut
	class := &s.m.class
	for ; i < end; i++ {
		st = next[int(st)+int(class[buf[i]])]
		if st >= firstOut && i >= minEnd {
			if !s.report(buf, i, st, base, fn) {
				return st, false
			}
		}
	}
	return st, true
}

// report hands fn the patterns of output state st ending at buf[i].
func (s *Scanner) report(buf []byte, i int, st int32, base int64, fn func(int, int64) bool) bool {
	m := s.m
	for _, id := range m.out[st/int32(m.nclass)] {
		p := m.pats[id]
		start := i - len(p) + 1
		if m.exact[id] && !s.exactAt(buf, start, i, p) {
			continue
		}
		if !fn(int(id), base+int64(start)) {
			return false
		}
	}
	return true
}

// exactAt reports whether the bytes from start to i of the stream (start
// may be before buf, in the previous chunks' tail) are p, case included.
func (s *Scanner) exactAt(buf []byte, start, i int, p string) bool {
	if start >= 0 {
		return string(buf[start:i+1]) == p
	}
	need := -start
	if need > len(s.tail) {
		return false // before the stream's first byte
	}
	return p[:need] == string(s.tail[len(s.tail)-need:]) && p[need:] == string(buf[:i+1])
}
