package version

import (
	"math/big"
	"math/rand"
	"os"
	"strings"
	"testing"
)

type gemSeg struct {
	num *big.Int
	str string
}

func rubyCanon(v string) []gemSeg {
	v = strings.ReplaceAll(strings.TrimSpace(v), "-", ".pre.")
	var segs []gemSeg
	for _, s := range gemSegment.FindAllString(v, -1) {
		if isDigit(s[0]) {
			n, _ := new(big.Int).SetString(s, 10)
			segs = append(segs, gemSeg{num: n})
		} else {
			segs = append(segs, gemSeg{str: s})
		}
	}
	k := len(segs)
	for i, s := range segs {
		if s.num == nil {
			k = i
			break
		}
	}
	drop := func(x []gemSeg) []gemSeg {
		for len(x) > 0 && x[len(x)-1].num != nil && x[len(x)-1].num.Sign() == 0 {
			x = x[:len(x)-1]
		}
		return x
	}
	num := drop(append([]gemSeg(nil), segs[:k]...))
	str := drop(append([]gemSeg(nil), segs[k:]...))
	return append(num, str...)
}

func rubyCmp(a, b string) int {
	l, r := rubyCanon(a), rubyCanon(b)
	zero := gemSeg{num: big.NewInt(0)}
	for i := 0; i < max(len(l), len(r)); i++ {
		x, y := zero, zero
		if i < len(l) {
			x = l[i]
		}
		if i < len(r) {
			y = r[i]
		}
		switch {
		case x.num != nil && y.num != nil:
			if c := x.num.Cmp(y.num); c != 0 {
				return c
			}
		case x.num == nil && y.num == nil:
			if c := strings.Compare(x.str, y.str); c != 0 {
				return c
			}
		case x.num == nil:
			return -1
		default:
			return 1
		}
	}
	return 0
}

func TestOracleGem(t *testing.T) {
	if os.Getenv("ORACLE") == "" {
		t.Skip()
	}
	r := rand.New(rand.NewSource(5))
	vs := genVersions("RubyGems", "0123456789.-abeprvwABR", 100000, r)
	c, _ := For("RubyGems")
	bad := 0
	for i := 0; i+1 < len(vs); i += 2 {
		a, b := vs[i], vs[i+1]
		got, _ := c.Compare(a, b)
		if want := rubyCmp(a, b); got != want {
			bad++
			if bad < 20 {
				t.Errorf("%q vs %q: got %d ruby %d", a, b, got, want)
			}
		}
	}
	t.Logf("%d disagreements of %d", bad, len(vs)/2)
}
