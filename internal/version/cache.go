package version

// Memoized returns a Comparer that remembers every version it has parsed,
// for callers that compare the same versions many times (matching one
// package against hundreds of advisories). It is not safe for concurrent
// use; make one per goroutine. Comparers that are not Picket's own are
// returned as they are.
func Memoized(c Comparer) Comparer {
	if m, ok := c.(memoizer); ok {
		return m.memoized()
	}
	return c
}

type memoizer interface{ memoized() Comparer }

type parsed[T any] struct {
	v   T
	err error
}

type memo[T any] struct {
	c     *comparer[T]
	cache map[string]parsed[T]
	pairs map[[2]string]int // results of Compare, both orders
}

func (c *comparer[T]) memoized() Comparer {
	return &memo[T]{c: c, cache: make(map[string]parsed[T]), pairs: make(map[[2]string]int)}
}

// maxMemo bounds the cache; past it the cache starts over.
const maxMemo = 1 << 16

func (m *memo[T]) parse(v string) (T, error) {
	if p, ok := m.cache[v]; ok {
		return p.v, p.err
	}
	if len(m.cache) >= maxMemo {
		clear(m.cache)
	}
	p, err := m.c.parseVersion(v)
	m.cache[v] = parsed[T]{p, err}
	return p, err
}

func (m *memo[T]) Valid(v string) bool {
	_, err := m.parse(v)
	return err == nil
}

func (m *memo[T]) Compare(a, b string) (int, error) {
	if n, ok := m.pairs[[2]string{a, b}]; ok {
		return n, nil
	}
	pa, err := m.parse(a)
	if err != nil {
		return 0, err
	}
	pb, err := m.parse(b)
	if err != nil {
		return 0, err
	}
	n, err := m.c.compareParsed(a, b, pa, pb)
	if err == nil {
		if len(m.pairs) >= maxMemo {
			clear(m.pairs)
		}
		m.pairs[[2]string{a, b}] = n
		m.pairs[[2]string{b, a}] = -n
	}
	return n, err
}
