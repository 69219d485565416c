// Package hashes registers the analyzer that recognises known-bad files by
// hash: their SHA-256 against a blocklist (exact), and their ssdeep fuzzy
// hash against a list of known-bad fuzzy hashes, reporting files at least
// Threshold percent similar (ssdeep's 0-100 score; default 80). Both lists
// have embedded defaults (lists/blocklist.txt: the EICAR test files;
// lists/fuzzy.txt: empty) and take user files (see ParseBlocklist and
// ParseFuzzyList for the formats).
//
// Files are chosen like the YARA analyzer's (package
// internal/analyzer/yara/candidates: executables, scripts, libraries and
// files in temporary, hidden, home, web-root and persistence locations) up
// to Options.MaxFileSize, and read once for both digests; ssdeep is only
// computed for files of at least MinFuzzySize bytes, below which its
// scores mean little.
//
// SHA-256 works in every build. ssdeep needs libfuzzy through cgo: a build
// without it (CGO_ENABLED=0 or the picket_nossdeep tag) still registers
// the analyzer for SHA-256, rejects user fuzzy lists with
// ErrFuzzyUnavailable, and FuzzyUnavailable says why.
package hashes

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/yara/candidates"
	"github.com/picket-cdr/picket/internal/finding"
)

// Name of the analyzer.
const Name = "hashes"

// Defaults for Options.
const (
	DefaultThreshold   = 80
	DefaultMaxFileSize = 64 << 20
	// MinFuzzySize is the smallest file given an ssdeep hash.
	MinFuzzySize = 4096
)

// Rule ids of the findings.
const (
	RuleBlocklist = "PKT-HASH-BLOCKLIST"
	RuleFuzzy     = "PKT-HASH-FUZZY"
)

const baseVersion = 1

//go:embed lists/blocklist.txt lists/fuzzy.txt
var defaultLists embed.FS

// FuzzyUnavailable returns nil when ssdeep is available and otherwise an
// error that says why, for the command line to print.
func FuzzyUnavailable() error {
	if FuzzyAvailable {
		return nil
	}
	return ErrFuzzyUnavailable
}

// FuzzyHash returns the ssdeep hash of r's size bytes (size < 0: unknown).
func FuzzyHash(r io.Reader, size int64) (string, error) {
	fz, err := newFuzzy(size)
	if err != nil {
		return "", err
	}
	defer fz.free()
	if _, err := io.Copy(fz, r); err != nil {
		return "", err
	}
	return fz.Sum()
}

// Options configure the analyzer.
type Options struct {
	// BlocklistFiles are SHA-256 lists (ParseBlocklist's format).
	BlocklistFiles []string
	// FuzzyFiles are ssdeep lists (ParseFuzzyList's format); they need a
	// build with libfuzzy.
	FuzzyFiles []string
	// NoDefaultLists leaves the embedded lists out.
	NoDefaultLists bool
	// Threshold is the least ssdeep similarity (1-100) reported; default 80.
	Threshold int
	// MaxFileSize is the largest file hashed (default 64 MiB).
	MaxFileSize int64
}

// Analyzer hashes files and looks the hashes up. It is safe for
// concurrent use.
type Analyzer struct {
	st       atomic.Pointer[state]
	lazyOnce sync.Once
}

type state struct {
	block     *Blocklist
	fuzzy     *FuzzyList
	threshold int
	maxSize   int64
	version   int
	err       error
}

var registered = &Analyzer{}

func init() { analyzer.Register(registered) }

// Default returns the registered analyzer.
func Default() *Analyzer { return registered }

// Configure replaces the registered analyzer's lists and limits. Call it
// before creating the scanner: the analyzer's Version, which keys the
// layer cache, changes with the lists.
func Configure(opts Options) error {
	st, err := newState(opts)
	if err != nil {
		return err
	}
	registered.st.Store(st)
	return nil
}

// New returns an analyzer with its own configuration.
func New(opts Options) (*Analyzer, error) {
	st, err := newState(opts)
	if err != nil {
		return nil, err
	}
	a := &Analyzer{}
	a.st.Store(st)
	return a, nil
}

func (a *Analyzer) state() *state {
	if st := a.st.Load(); st != nil {
		return st
	}
	a.lazyOnce.Do(func() {
		st, err := newState(Options{})
		if err != nil {
			st = &state{err: err, block: NewBlocklist(), fuzzy: NewFuzzyList(), maxSize: DefaultMaxFileSize}
		}
		a.st.CompareAndSwap(nil, st)
	})
	return a.st.Load()
}

func newState(opts Options) (*state, error) {
	st := &state{block: NewBlocklist(), fuzzy: NewFuzzyList(), threshold: opts.Threshold, maxSize: opts.MaxFileSize}
	if st.threshold == 0 {
		st.threshold = DefaultThreshold
	}
	if st.threshold < 1 || st.threshold > 100 {
		return nil, fmt.Errorf("hashes: fuzzy threshold %d is not in 1..100", opts.Threshold)
	}
	if st.maxSize <= 0 {
		st.maxSize = DefaultMaxFileSize
	}
	if len(opts.FuzzyFiles) > 0 && !FuzzyAvailable {
		return nil, ErrFuzzyUnavailable
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "v%d|t=%d|max=%d|fuzzy=%t\n", baseVersion, st.threshold, st.maxSize, FuzzyAvailable)
	load := func(name string, open func() ([]byte, error), fuzzy bool) error {
		b, err := open()
		if err != nil {
			return fmt.Errorf("hashes: %w", err)
		}
		fmt.Fprintf(h, "%s|%t|%d\n", name, fuzzy, len(b))
		h.Write(b)
		if fuzzy {
			l, err := ParseFuzzyList(bytes.NewReader(b), name)
			if err != nil {
				return fmt.Errorf("hashes: %w", err)
			}
			st.fuzzy.Merge(l)
			return nil
		}
		l, err := ParseBlocklist(bytes.NewReader(b), name)
		if err != nil {
			return fmt.Errorf("hashes: %w", err)
		}
		st.block.Merge(l)
		return nil
	}
	if !opts.NoDefaultLists {
		for _, n := range []string{"blocklist.txt", "fuzzy.txt"} {
			open := func() ([]byte, error) { return defaultLists.ReadFile("lists/" + n) }
			if err := load("embedded:"+n, open, n == "fuzzy.txt"); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range opts.BlocklistFiles {
		if err := load(f, func() ([]byte, error) { return os.ReadFile(f) }, false); err != nil {
			return nil, err
		}
	}
	for _, f := range opts.FuzzyFiles {
		if err := load(f, func() ([]byte, error) { return os.ReadFile(f) }, true); err != nil {
			return nil, err
		}
	}
	if st.fuzzy.Len() > 0 && !FuzzyAvailable {
		return nil, ErrFuzzyUnavailable
	}
	st.version = int(h.Sum64() >> 2)
	return st, nil
}

// Name implements analyzer.Analyzer.
func (a *Analyzer) Name() string { return Name }

// Version changes with the analyzer, its lists and its limits.
func (a *Analyzer) Version() int { return a.state().version }

// Counts returns the number of SHA-256 and ssdeep entries loaded.
func (a *Analyzer) Counts() (sha256s, fuzzy int) {
	st := a.state()
	return st.block.Len(), st.fuzzy.Len()
}

// Required wants candidate files up to the size limit.
func (a *Analyzer) Required(p string, info fs.FileInfo) bool {
	st := a.state()
	size := info.Size()
	if size <= 0 || size > st.maxSize {
		return false
	}
	if st.err == nil && !st.block.MayList(size) && (st.fuzzy.Len() == 0 || size < MinFuzzySize) {
		return false // nothing to look up for a file of this size
	}
	return candidates.Wanted(p, info.Mode())
}

// Analyze hashes one file and looks it up.
func (a *Analyzer) Analyze(ctx context.Context, in *analyzer.Input) (*analyzer.Result, error) {
	st := a.state()
	if st.err != nil {
		return nil, st.err
	}
	size := in.Content.Size()
	if size <= 0 || size > st.maxSize {
		return &analyzer.Result{}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var fz *fuzzyState
	if st.fuzzy.Len() > 0 && size >= MinFuzzySize {
		var err error
		if fz, err = newFuzzy(size); err != nil {
			return nil, err
		}
		defer fz.free()
	}
	// A file whose size no blocklist entry has needs no SHA-256 (lists
	// that give sizes), unless an ssdeep finding will name it.
	needSum := fz != nil || st.block.MayList(size)
	if !needSum {
		return &analyzer.Result{}, nil
	}
	h := sha256.New()
	w := io.Writer(h)
	if fz != nil {
		w = io.MultiWriter(h, fz)
	}
	if data, ok := analyzer.Bytes(in.Content); ok && int64(len(data)) == size {
		if _, err := w.Write(data); err != nil { // hashed in place
			return nil, fmt.Errorf("hashes: %s: %w", in.Path, err)
		}
	} else {
		n, err := io.Copy(w, io.NewSectionReader(in.Content, 0, size))
		if err != nil {
			return nil, fmt.Errorf("hashes: %s: %w", in.Path, err)
		}
		if n != size {
			return nil, fmt.Errorf("hashes: %s: short read (%d of %d bytes)", in.Path, n, size)
		}
	}
	res := &analyzer.Result{}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	digest := hex.EncodeToString(sum[:])
	if e, ok := st.block.Lookup(sum); ok {
		title := "Known-bad file (SHA-256 blocklist)"
		if e.Name != "" {
			title = "Known-bad file: " + e.Name
		}
		res.Findings = append(res.Findings, &finding.Finding{
			Kind:        finding.KindMalware,
			Severity:    finding.High,
			RuleID:      RuleBlocklist,
			Title:       title,
			Description: fmt.Sprintf("The file's SHA-256 is on the blocklist %s (line %d).", e.Source, e.Line),
			Location:    finding.Location{Path: in.Path},
			Evidence:    "sha256:" + digest,
			Remediation: "Remove the file, rebuild the image from trusted sources and find out how it got there.",
			Tags:        []string{"hash", "blocklist"},
			Attributes:  map[string]string{"sha256": digest, "list": e.Source, "name": e.Name},
		})
	}
	if fz != nil {
		fh, err := fz.Sum()
		if err != nil {
			return nil, fmt.Errorf("hashes: %s: %w", in.Path, err)
		}
		best, score, err := st.fuzzy.Best(fh)
		if err != nil {
			return nil, fmt.Errorf("hashes: %s: %w", in.Path, err)
		}
		if score >= st.threshold {
			name := best.Name
			if name == "" {
				name = best.Hash
			}
			sev := finding.Medium
			if score >= 90 {
				sev = finding.High
			}
			res.Findings = append(res.Findings, &finding.Finding{
				Kind:     finding.KindMalware,
				Severity: sev,
				RuleID:   RuleFuzzy,
				Title:    fmt.Sprintf("File %d%% similar to known-bad %s (ssdeep)", score, name),
				Description: fmt.Sprintf("The file's ssdeep fuzzy hash is %d%% similar (threshold %d%%) to an entry of %s (line %d): "+
					"a variant of a known-bad file is likely.", score, st.threshold, best.Source, best.Line),
				Location:    finding.Location{Path: in.Path},
				Evidence:    fmt.Sprintf("ssdeep %s ~ %s: %d%%", fh, best.Hash, score),
				Remediation: "Compare the file with the known-bad sample; remove it if it is a variant.",
				Tags:        []string{"hash", "ssdeep"},
				Attributes: map[string]string{
					"sha256": digest, "ssdeep": fh, "similarity": strconv.Itoa(score),
					"matched": best.Hash, "name": best.Name, "list": best.Source,
				},
			})
		}
	}
	return res, nil
}
