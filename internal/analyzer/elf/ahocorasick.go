package elf

// matcher finds many ASCII patterns in one pass over a byte stream, ignoring
// ASCII case (an Aho-Corasick automaton with a dense transition table whose
// rows already fold upper-case bytes onto lower-case ones). Patterns marked
// case-sensitive are checked against the original bytes when they match.
//
// Bytes are mapped to classes first (every byte no pattern uses shares one
// class), so a state's row is a few dozen entries and the whole table stays
// in the CPU's caches. States are stored premultiplied by the number of
// classes and numbered so that every state where a pattern ends comes after
// all the others: the hot loop costs two loads and one compare per byte.
type matcher struct {
	class    [256]uint16 // byte -> class (case folded)
	nclass   int
	next     []int32   // state*nclass + class -> next state*nclass
	out      [][]int32 // state -> ids of the patterns that end here
	firstOut int32     // premultiplied states >= firstOut have outputs
	pats     []string  // patterns as given
	exact    []bool    // case-sensitive patterns
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

// newMatcher builds the automaton. exact[i] makes pattern i case-sensitive.
func newMatcher(pats []string, exact []bool) *matcher {
	m := &matcher{pats: pats, exact: exact}
	// Trie with a growable sparse representation first.
	type node struct {
		kids map[byte]int32
		out  []int32
	}
	nodes := []node{{kids: map[byte]int32{}}}
	for id, p := range pats {
		m.maxLen = max(m.maxLen, len(p))
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := lower[p[i]]
			n, ok := nodes[s].kids[c]
			if !ok {
				n = int32(len(nodes))
				nodes = append(nodes, node{kids: map[byte]int32{}})
				nodes[s].kids[c] = n
			}
			s = n
		}
		nodes[s].out = append(nodes[s].out, int32(id))
	}
	n := len(nodes)
	next := make([]int32, n*256)
	out := make([][]int32, n)
	fail := make([]int32, n)
	// Breadth-first over lower-cased bytes: the root's missing transitions
	// loop to the root.
	queue := make([]int32, 0, n)
	for c := 0; c < 256; c++ {
		if k, ok := nodes[0].kids[byte(c)]; ok {
			next[c] = k
			queue = append(queue, k)
		}
	}
	out[0] = nodes[0].out
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		out[s] = append(append([]int32(nil), nodes[s].out...), out[fail[s]]...)
		for c := 0; c < 256; c++ {
			if k, ok := nodes[s].kids[byte(c)]; ok {
				fail[k] = next[int(fail[s])*256+c]
				next[int(s)*256+c] = k
				queue = append(queue, k)
			} else {
				next[int(s)*256+c] = next[int(fail[s])*256+c]
			}
		}
	}
	// Renumber: states without output first (the root stays 0 when it has
	// none, and no pattern is empty), then the ones with output.
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
	// Classes: one per byte value (lower-cased) that some pattern uses,
	// class 0 for all others.
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
	// Any byte of class 0 behaves like every other: use one of them.
	rep := make([]int, nclass)
	for c := 255; c >= 0; c-- {
		rep[m.class[c]] = int(lower[c])
	}
	m.next = make([]int32, n*nclass)
	m.out = make([][]int32, n)
	for ns, os := range order {
		m.out[ns] = out[os]
		row := next[int(os)*256 : int(os)*256+256]
		for k := 0; k < nclass; k++ {
			m.next[ns*nclass+k] = renum[row[rep[k]]] * int32(nclass)
		}
	}
	m.firstOut *= int32(nclass)
	m.nstates = n
	return m
}

// hit is where a pattern was seen: the first and the last start offsets and
// how often.
type hit struct {
	first, last int64
	count       int
}

// scanner runs a matcher over consecutive chunks of a stream.
type scanner struct {
	m     *matcher
	state int32
	hits  map[int32]*hit
}

func (m *matcher) scanner() *scanner { return &scanner{m: m, hits: map[int32]*hit{}} }

// feed scans buf[from:], where buf[:from] holds the bytes just before (at
// least maxLen-1 of them unless the stream is shorter) for case checks, and
// base is the stream offset of buf[0].
//
// A long buffer is scanned as two interleaved halves: the automaton's
// transitions form one long chain of dependent loads, and two independent
// chains run nearly twice as fast on the same core. The second half starts
// from the root maxLen bytes early, which is enough to reach the state the
// first half would have been in; it only reports patterns that end in its
// own half.
func (s *scanner) feed(buf []byte, from int, base int64) {
	m := s.m
	end := len(buf)
	mid := from + (end-from)/2
	warm := mid - m.maxLen
	if end-from < 4*m.maxLen+64 || warm < from {
		s.state = s.run(buf, from, end, s.state, base, from)
		return
	}
	next := m.next
	firstOut := m.firstOut
	class := &m.class
	a, b := s.state, int32(0)
	i, j := from, warm
	n := mid - from // the first half's length; the second is at least as long
	for k := 0; k < n; k++ {
		a = next[int(a)+int(class[buf[i]])]
		b = next[int(b)+int(class[buf[j]])]
		if a >= firstOut {
			s.report(buf, i, a, base)
		}
		if b >= firstOut && j >= mid {
			s.report(buf, j, b, base)
		}
		i++
		j++
	}
	// The second half's remaining bytes (its warm-up made it longer).
	s.state = s.run(buf, j, end, b, base, mid)
}

// run steps the automaton from state st over buf[i:end], reporting patterns
// that end at or after minEnd.
func (s *scanner) run(buf []byte, i, end int, st int32, base int64, minEnd int) int32 {
	next := s.m.next
	firstOut := s.m.firstOut
	class := &s.m.class
	for ; i < end; i++ {
		st = next[int(st)+int(class[buf[i]])]
		if st >= firstOut && i >= minEnd {
			s.report(buf, i, st, base)
		}
	}
	return st
}

// report records the patterns of output state st ending at buf[i].
func (s *scanner) report(buf []byte, i int, st int32, base int64) {
	m := s.m
	for _, id := range m.out[st/int32(m.nclass)] {
		p := m.pats[id]
		start := i - len(p) + 1
		if m.exact[id] && (start < 0 || string(buf[start:i+1]) != p) {
			continue
		}
		off := base + int64(start)
		h := s.hits[id]
		if h == nil {
			s.hits[id] = &hit{first: off, last: off, count: 1}
			continue
		}
		h.first = min(h.first, off)
		h.last = max(h.last, off)
		h.count++
	}
}
