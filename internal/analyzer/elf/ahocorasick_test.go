package elf

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// naiveHits finds every pattern by brute force, ASCII case folded unless
// exact.
func naiveHits(data []byte, pats []string, exact []bool) map[int32]hit {
	out := map[int32]hit{}
	folded := make([]byte, len(data)) // ASCII only: bytes.ToLower would rewrite invalid UTF-8
	for i, b := range data {
		folded[i] = lower[b]
	}
	for id, p := range pats {
		hay, needle := folded, []byte(strings.ToLower(p))
		if exact[id] {
			hay, needle = data, []byte(p)
		}
		for i := 0; i+len(needle) <= len(hay); i++ {
			if !bytes.Equal(hay[i:i+len(needle)], needle) {
				continue
			}
			h, ok := out[int32(id)]
			if !ok {
				h = hit{first: int64(i)}
			}
			h.last = int64(i)
			h.count++
			out[int32(id)] = h
		}
	}
	return out
}

// The matcher, fed in chunks of any size with the stream's carry-over (as
// stream does) and scanning long chunks as two interleaved halves, finds
// exactly what brute force finds.
func TestMatcherAgainstBruteForce(t *testing.T) {
	pats := []string{"xmrig", "stratum+tcp://", "ab", "abab", "b", "LD_PRELOAD", "/etc/ld.so.preload", "babab"}
	exact := []bool{false, false, false, false, false, true, false, false}
	m := newMatcher(pats, exact)
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("abAB xmrigXMRIG/etc.ld_so:PRELOADpreloadstratum+tcp\x00\xff")
	for iter := 0; iter < 2000; iter++ {
		n := rng.IntN(3000)
		data := make([]byte, n)
		for i := range data {
			data[i] = alphabet[rng.IntN(len(alphabet))]
		}
		for k := rng.IntN(4); k > 0 && n > 20; k-- {
			p := pats[rng.IntN(len(pats))]
			copy(data[rng.IntN(n-len(p)):], p)
		}
		chunkSize := 1 + rng.IntN(700)
		sc := m.scanner()
		keep := m.maxLen - 1
		buf := make([]byte, keep+chunkSize)
		have := 0
		for off := 0; off < n; {
			c := copy(buf[have:have+min(chunkSize, n-off)], data[off:])
			sc.feed(buf[:have+c], have, int64(off-have))
			off += c
			k := min(keep, have+c)
			copy(buf, buf[have+c-k:have+c])
			have = k
		}
		want := naiveHits(data, pats, exact)
		if len(sc.hits) != len(want) {
			t.Fatalf("iter %d (chunk %d): %d patterns found, want %d", iter, chunkSize, len(sc.hits), len(want))
		}
		for id, w := range want {
			g := sc.hits[id]
			if g == nil || *g != w {
				t.Fatalf("iter %d (chunk %d): %q: got %+v, want %+v", iter, chunkSize, pats[id], g, w)
			}
		}
	}
}
