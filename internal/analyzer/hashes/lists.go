package hashes

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// ErrFuzzyUnavailable is returned for fuzzy hashing in a build without
// libfuzzy.
var ErrFuzzyUnavailable = errors.New("ssdeep fuzzy hashing unavailable: picket was built without cgo/libfuzzy " +
	"(build with CGO_ENABLED=1 and Debian's libfuzzy-dev installed, without the picket_nossdeep tag)")

// Limits on list files.
const (
	maxLineLength = 64 << 10
	maxNameLength = 256
)

// Entry is one known-bad SHA-256.
type Entry struct {
	SHA256 string // lower-case hex
	Size   int64  // the file's size in bytes; -1 when the list does not say
	Name   string // what the list calls it ("EICAR test file"), may be empty
	Source string // the list it came from
	Line   int
}

// Blocklist is a set of known-bad SHA-256 digests.
type Blocklist struct {
	m       map[[32]byte]Entry
	sizes   map[int64]int // size -> entries of that size
	unsized int           // entries without a size
}

// NewBlocklist returns an empty blocklist.
func NewBlocklist() *Blocklist { return &Blocklist{m: map[[32]byte]Entry{}, sizes: map[int64]int{}} }

// MayList reports whether a file of this size can be on the list: every
// entry with a size rules out all other sizes (as ClamAV's size-keyed hash
// signatures do), so files of other sizes need no digest.
func (b *Blocklist) MayList(size int64) bool { return b.unsized > 0 || b.sizes[size] > 0 }

func (b *Blocklist) add(sum [32]byte, e Entry) {
	if _, dup := b.m[sum]; dup {
		return
	}
	b.m[sum] = e
	if e.Size < 0 {
		b.unsized++
	} else {
		b.sizes[e.Size]++
	}
}

// Len returns the number of digests.
func (b *Blocklist) Len() int { return len(b.m) }

// Lookup finds sum.
func (b *Blocklist) Lookup(sum [32]byte) (Entry, bool) {
	e, ok := b.m[sum]
	return e, ok
}

// Merge adds o's entries that b does not have.
func (b *Blocklist) Merge(o *Blocklist) {
	for k, e := range o.m {
		b.add(k, e)
	}
}

// ParseBlocklist reads a SHA-256 blocklist: one digest per line (64 hex
// digits, optionally prefixed "sha256:"), optionally followed by a name
// after whitespace, a comma or a semicolon; "#" starts a comment line and
// blank lines are skipped. sha256sum output ("<digest>  <file>" or
// "<digest> *<file>") is accepted as is, and so are ClamAV hash signatures
// ("<digest>:<size>:<name>", size "*" when unknown): a listed size lets the
// analyzer skip hashing files of any other size. A malformed line is an
// error that names it. source names the list in findings and errors.
func ParseBlocklist(r io.Reader, source string) (*Blocklist, error) {
	b := NewBlocklist()
	err := eachLine(r, source, func(n int, line string) error {
		size := int64(-1)
		field, rest := splitField(line)
		field = strings.TrimPrefix(strings.ToLower(field), "sha256:")
		if strings.Contains(field, ":") {
			// ClamAV "<digest>:<size>:<name>": the name runs to the end
			// of the line, spaces included.
			sig := line
			if len(sig) >= 7 && strings.EqualFold(sig[:7], "sha256:") {
				sig = sig[7:]
			}
			parts := strings.SplitN(sig, ":", 3)
			field = strings.ToLower(parts[0])
			if parts[1] != "*" {
				v, err := strconv.ParseInt(parts[1], 10, 64)
				if err != nil || v < 0 {
					return fmt.Errorf("%s:%d: not a file size: %q", source, n, clip(parts[1], 40))
				}
				size = v
			}
			rest = ""
			if len(parts) == 3 {
				rest = parts[2]
			}
		}
		var sum [32]byte
		if len(field) != 64 {
			return fmt.Errorf("%s:%d: not a SHA-256 digest: %q", source, n, clip(field, 80))
		}
		if _, err := hex.Decode(sum[:], []byte(field)); err != nil {
			return fmt.Errorf("%s:%d: not a SHA-256 digest: %q", source, n, clip(field, 80))
		}
		b.add(sum, Entry{SHA256: field, Size: size, Name: cleanName(strings.TrimPrefix(rest, "*")), Source: source, Line: n})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// FuzzyEntry is one known-bad ssdeep hash.
type FuzzyEntry struct {
	Hash   string // "blocksize:hash:hash"
	Name   string
	Source string
	Line   int
}

// FuzzyList is a set of known-bad ssdeep hashes, indexed by block size
// (ssdeep only compares hashes whose block sizes are equal or a factor of
// two apart).
type FuzzyList struct {
	byBlock map[uint64][]FuzzyEntry
	n       int
}

// NewFuzzyList returns an empty list.
func NewFuzzyList() *FuzzyList { return &FuzzyList{byBlock: map[uint64][]FuzzyEntry{}} }

// Len returns the number of hashes.
func (l *FuzzyList) Len() int { return l.n }

// Merge adds o's entries.
func (l *FuzzyList) Merge(o *FuzzyList) {
	for bs, es := range o.byBlock {
		l.byBlock[bs] = append(l.byBlock[bs], es...)
		l.n += len(es)
	}
}

// ssdeepRE is a valid ssdeep hash: a block size and two base64 signatures.
var ssdeepRE = regexp.MustCompile(`^([0-9]{1,12}):([A-Za-z0-9+/]{1,64}):([A-Za-z0-9+/]{0,64})$`)

// ParseFuzzyHash checks an ssdeep hash and returns its block size.
func ParseFuzzyHash(h string) (uint64, error) {
	m := ssdeepRE.FindStringSubmatch(h)
	if m == nil {
		return 0, fmt.Errorf("not an ssdeep hash: %q", clip(h, 80))
	}
	bs, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil || bs < 3 || bs%3 != 0 || (bs/3)&(bs/3-1) != 0 {
		return 0, fmt.Errorf("ssdeep hash with an invalid block size: %q", clip(h, 80))
	}
	return bs, nil
}

// ParseFuzzyList reads known-bad ssdeep hashes: the output of `ssdeep -r`
// (a "ssdeep,1.1--blocksize:hash:hash,filename" header, then
// `hash,"file"` lines) or one hash per line optionally followed by a name
// after whitespace; "#" comment lines and blank lines are skipped.
func ParseFuzzyList(r io.Reader, source string) (*FuzzyList, error) {
	l := NewFuzzyList()
	err := eachLine(r, source, func(n int, line string) error {
		if strings.HasPrefix(line, "ssdeep,") {
			return nil // ssdeep's header line
		}
		field, rest := splitField(line)
		bs, err := ParseFuzzyHash(field)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", source, n, err)
		}
		l.byBlock[bs] = append(l.byBlock[bs], FuzzyEntry{Hash: field, Name: cleanName(rest), Source: source, Line: n})
		l.n++
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// Best returns the list entry most similar to hash, with its score (0 when
// nothing compares).
func (l *FuzzyList) Best(hash string) (FuzzyEntry, int, error) {
	bs, err := ParseFuzzyHash(hash)
	if err != nil {
		return FuzzyEntry{}, 0, err
	}
	var best FuzzyEntry
	score := 0
	for _, b := range []uint64{bs, bs * 2, bs / 2} {
		for _, e := range l.byBlock[b] {
			s, err := FuzzyCompare(hash, e.Hash)
			if err != nil {
				return FuzzyEntry{}, 0, err
			}
			if s > score {
				best, score = e, s
			}
		}
	}
	return best, score, nil
}

// eachLine calls fn with every non-blank, non-comment line, trimmed.
func eachLine(r io.Reader, source string, fn func(n int, line string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLineLength)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(n, line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s:%d: line longer than %d bytes", source, n+1, maxLineLength)
		}
		return fmt.Errorf("%s: %w", source, err)
	}
	return nil
}

// splitField splits a line at the first whitespace, comma or semicolon.
func splitField(line string) (field, rest string) {
	i := strings.IndexAny(line, " \t,;")
	if i < 0 {
		return line, ""
	}
	return line[:i], strings.TrimLeft(line[i:], " \t,;")
}

func cleanName(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	return clip(s, maxNameLength)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !isRuneStart(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return strings.ToValidUTF8(s, "")
}

func isRuneStart(b byte) bool { return b&0xc0 != 0x80 }
