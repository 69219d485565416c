package version

import (
	"math/rand"
	"os"
	"strings"
	"testing"
)

func isAlnum(b byte) bool { return isDigit(b) || (b|0x20 >= 'a' && b|0x20 <= 'z') }
func isAlpha(b byte) bool { return b|0x20 >= 'a' && b|0x20 <= 'z' }

// cRpmvercmp is a direct port of rpm's rpmvercmp.c.
func cRpmvercmp(a, b string) int {
	if a == b {
		return 0
	}
	one, two := a, b
	for len(one) > 0 || len(two) > 0 {
		for len(one) > 0 && !isAlnum(one[0]) && one[0] != '~' && one[0] != '^' {
			one = one[1:]
		}
		for len(two) > 0 && !isAlnum(two[0]) && two[0] != '~' && two[0] != '^' {
			two = two[1:]
		}
		at := func(s string) byte {
			if s == "" {
				return 0
			}
			return s[0]
		}
		if at(one) == '~' || at(two) == '~' {
			if at(one) != '~' {
				return 1
			}
			if at(two) != '~' {
				return -1
			}
			one, two = one[1:], two[1:]
			continue
		}
		if at(one) == '^' || at(two) == '^' {
			if one == "" {
				return -1
			}
			if two == "" {
				return 1
			}
			if at(one) != '^' {
				return 1
			}
			if at(two) != '^' {
				return -1
			}
			one, two = one[1:], two[1:]
			continue
		}
		if one == "" || two == "" {
			break
		}
		var i, j int
		isnum := isDigit(one[0])
		if isnum {
			for i < len(one) && isDigit(one[i]) {
				i++
			}
			for j < len(two) && isDigit(two[j]) {
				j++
			}
		} else {
			for i < len(one) && isAlpha(one[i]) {
				i++
			}
			for j < len(two) && isAlpha(two[j]) {
				j++
			}
		}
		if j == 0 {
			if isnum {
				return 1
			}
			return -1
		}
		s1, s2 := one[:i], two[:j]
		if isnum {
			s1, s2 = strings.TrimLeft(s1, "0"), strings.TrimLeft(s2, "0")
			if len(s1) > len(s2) {
				return 1
			}
			if len(s2) > len(s1) {
				return -1
			}
		}
		if c := strings.Compare(s1, s2); c != 0 {
			return c
		}
		one, two = one[i:], two[j:]
	}
	if one == "" && two == "" {
		return 0
	}
	if one == "" {
		return -1
	}
	return 1
}

func cEVR(a, b string) int {
	split := func(v string) (e, ver, rel string) {
		m := rpmEVR.FindStringSubmatch(v)
		e = m[1]
		if e == "" {
			e = "0"
		}
		return strings.TrimLeft(e, "0"), m[2], m[3]
	}
	ea, va, ra := split(a)
	eb, vb, rb := split(b)
	if len(ea) != len(eb) {
		if len(ea) < len(eb) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(ea, eb); c != 0 {
		return c
	}
	if c := cRpmvercmp(va, vb); c != 0 {
		return c
	}
	return cRpmvercmp(ra, rb)
}

func TestOracleRPM(t *testing.T) {
	if os.Getenv("ORACLE") == "" {
		t.Skip()
	}
	r := rand.New(rand.NewSource(4))
	vs := genVersions("Red Hat", "0123456789.~^_+-:abzAZ", 100000, r)
	c, _ := For("Red Hat")
	bad := 0
	for i := 0; i+1 < len(vs); i += 2 {
		a, b := vs[i], vs[i+1]
		got, _ := c.Compare(a, b)
		if want := cEVR(a, b); got != want {
			bad++
			if bad < 20 {
				t.Errorf("%q vs %q: got %d C %d", a, b, got, want)
			}
		}
	}
	t.Logf("%d disagreements of %d", bad, len(vs)/2)
}
