package elf

// matcher finds many ASCII patterns in one pass over a byte stream, ignoring
// ASCII case (an Aho-Corasick automaton with a dense transition table over
// lower-cased bytes). Patterns marked case-sensitive are checked against the
// original bytes when they match.
type matcher struct {
	next    []int32   // state*256 + byte -> state
	out     [][]int32 // state -> ids of the patterns that end here
	pats    []string  // patterns as given
	exact   []bool    // case-sensitive patterns
	maxLen  int
	nstates int
}

var lower [256]byte

func init() {
	for i := range lower {
		b := byte(i)
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		lower[i] = b
	}
}

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
	m.nstates = len(nodes)
	m.next = make([]int32, len(nodes)*256)
	m.out = make([][]int32, len(nodes))
	fail := make([]int32, len(nodes))
	// Breadth-first: the root's missing transitions loop to the root.
	queue := make([]int32, 0, len(nodes))
	for c := 0; c < 256; c++ {
		if n, ok := nodes[0].kids[byte(c)]; ok {
			m.next[c] = n
			queue = append(queue, n)
		}
	}
	m.out[0] = nodes[0].out
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		m.out[s] = append(append([]int32(nil), nodes[s].out...), m.out[fail[s]]...)
		for c := 0; c < 256; c++ {
			if n, ok := nodes[s].kids[byte(c)]; ok {
				fail[n] = m.next[int(fail[s])*256+c]
				m.next[int(s)*256+c] = n
				queue = append(queue, n)
			} else {
				m.next[int(s)*256+c] = m.next[int(fail[s])*256+c]
			}
		}
	}
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
func (s *scanner) feed(buf []byte, from int, base int64) {
	m := s.m
	st := s.state
	next := m.next
	for i := from; i < len(buf); i++ {
		st = next[int(st)<<8|int(lower[buf[i]])]
		if outs := m.out[st]; len(outs) > 0 {
			for _, id := range outs {
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
				h.last = off
				h.count++
			}
		}
	}
	s.state = st
}
