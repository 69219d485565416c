package version

import "testing"

func TestMemoizedAgrees(t *testing.T) {
	vs := map[string][]string{
		"PyPI":   {"1.0", "1.0.post1", "1.0a1", "2.0.dev3", "bogus version", "1.0"},
		"Debian": {"1:1.0-1", "1.0-1", "1.0~rc1-1", "2.36-9+deb12u3", "2.36-9+deb12u14", "a1"},
		"Go":     {"0.3.5", "0.3.8", "1.21.3", "0.0.0-20210101000000-abcdef123456", "x"},
	}
	for eco, list := range vs {
		c, err := For(eco)
		if err != nil {
			t.Fatal(err)
		}
		m := Memoized(c)
		for round := 0; round < 2; round++ { // second round hits the caches
			for _, a := range list {
				if m.Valid(a) != c.Valid(a) {
					t.Errorf("%s: Valid(%q) differs", eco, a)
				}
				for _, b := range list {
					n1, e1 := c.Compare(a, b)
					n2, e2 := m.Compare(a, b)
					if n1 != n2 || (e1 == nil) != (e2 == nil) {
						t.Errorf("%s: Compare(%q, %q) = %d,%v; memoized %d,%v", eco, a, b, n1, e1, n2, e2)
					}
				}
			}
		}
	}
}
