package ahocorasick

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

type occ struct {
	id    int
	start int64
}

// naive finds every occurrence by brute force, ASCII case folded unless
// exact, ordered by end offset and then by the automaton's output order
// (longest pattern first, as New lists a state's own pattern before its
// suffixes'), which is checked separately: here only the set and the end
// order matter.
func naive(data []byte, pats []string, exact []bool) []occ {
	folded := make([]byte, len(data)) // ASCII only: bytes.ToLower would rewrite invalid UTF-8
	for i, b := range data {
		folded[i] = lower[b]
	}
	var out []occ
	for id, p := range pats {
		if p == "" {
			continue
		}
		hay, needle := folded, []byte(strings.ToLower(p))
		if id < len(exact) && exact[id] {
			hay, needle = data, []byte(p)
		}
		for i := 0; i+len(needle) <= len(hay); i++ {
			if bytes.Equal(hay[i:i+len(needle)], needle) {
				out = append(out, occ{id, int64(i)})
			}
		}
	}
	sortOcc(out, pats)
	return out
}

func sortOcc(o []occ, pats []string) {
	slices.SortStableFunc(o, func(a, b occ) int {
		ea, eb := a.start+int64(len(pats[a.id])), b.start+int64(len(pats[b.id]))
		if ea != eb {
			return int(ea - eb)
		}
		return a.id - b.id
	})
}

var (
	testPats  = []string{"xmrig", "stratum+tcp://", "ab", "abab", "b", "LD_PRELOAD", "/etc/ld.so.preload", "babab", "", "Ab"}
	testExact = []bool{false, false, false, false, false, true, false, false, false, true}
	alphabet  = []byte("abAB xmrigXMRIG/etc.ld_so:PRELOADpreloadstratum+tcp\x00\xff")
)

func randomData(rng *rand.Rand, n int) []byte {
	data := make([]byte, n)
	for i := range data {
		data[i] = alphabet[rng.IntN(len(alphabet))]
	}
	for k := rng.IntN(4); k > 0 && n > 20; k-- {
		p := testPats[rng.IntN(len(testPats))]
		copy(data[rng.IntN(n-len(p)):], p)
	}
	return data
}

// The scanner, fed in chunks of any size (keeping what it needs of earlier
// chunks itself) and scanning long chunks as two interleaved halves, finds exactly what brute
// force finds, each match once, in the order of their end offsets.
func TestScannerAgainstBruteForce(t *testing.T) {
	m := New(testPats, testExact)
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 2000; iter++ {
		n := rng.IntN(3000)
		if iter%100 == 0 {
			n = 3*block + rng.IntN(block) // several interleaved blocks
		}
		data := randomData(rng, n)
		chunkSize := 1 + rng.IntN(700)
		if iter%3 == 0 {
			chunkSize = n + 1
		}
		sc := m.NewScanner()
		var got []occ
		lastEnd := int64(-1)
		for off := 0; off < n; off += chunkSize {
			chunk := slices.Clone(data[off:min(n, off+chunkSize)]) // the stream's earlier bytes are gone
			sc.Feed(chunk, int64(off), func(id int, start int64) bool {
				end := start + int64(len(testPats[id]))
				if end < lastEnd {
					t.Fatalf("iter %d: %q at %d reported after a match ending at %d", iter, testPats[id], start, lastEnd)
				}
				lastEnd = end
				got = append(got, occ{id, start})
				return true
			})
		}
		sortOcc(got, testPats)
		want := naive(data, testPats, testExact)
		if !slices.Equal(got, want) {
			t.Fatalf("iter %d (n %d, chunk %d): got %d matches, want %d", iter, n, chunkSize, len(got), len(want))
		}
	}
}

// Find stops when its callback says so.
func TestFindStops(t *testing.T) {
	m := New([]string{"a"}, nil)
	data := bytes.Repeat([]byte("a"), 3*block)
	calls := 0
	done := m.Find(data, func(id, start int) bool {
		calls++
		return calls < 5
	})
	if done || calls != 5 {
		t.Fatalf("Find returned %v after %d calls, want false after 5", done, calls)
	}
	calls = 0
	if !m.Find(data, func(int, int) bool { calls++; return true }) || calls != len(data) {
		t.Fatalf("Find reported %d matches, want %d", calls, len(data))
	}
}

func TestEmpty(t *testing.T) {
	m := New(nil, nil)
	if !m.Find([]byte("anything at all"), func(int, int) bool { t.Fatal("match without patterns"); return true }) {
		t.Fatal("Find returned false")
	}
	m = New([]string{"", "x"}, nil)
	var got []int
	m.Find([]byte("axbx"), func(id, start int) bool { got = append(got, id, start); return true })
	if !slices.Equal(got, []int{1, 1, 1, 3}) {
		t.Fatalf("got %v", got)
	}
}

func FuzzFind(f *testing.F) {
	f.Add([]byte("xmrig stratum+tcp://pool LD_PRELOAD ld_preload ababab"))
	f.Add([]byte{0, 0xff, 'A', 'b'})
	m := New(testPats, testExact)
	f.Fuzz(func(t *testing.T, data []byte) {
		var got []occ
		m.Find(data, func(id, start int) bool { got = append(got, occ{id, int64(start)}); return true })
		sortOcc(got, testPats)
		if want := naive(data, testPats, testExact); !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
}

// BenchmarkFind scans random bytes for a few dozen patterns (the ELF
// analyzer's workload).
func BenchmarkFind(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	var pats []string
	for i := 0; i < 60; i++ {
		p := make([]byte, 5+rng.IntN(12))
		for j := range p {
			p[j] = 'a' + byte(rng.IntN(26))
		}
		pats = append(pats, string(p))
	}
	m := New(pats, nil)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		m.Find(data, func(int, int) bool { return true })
	}
}
