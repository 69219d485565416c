// Package analyzer is the contract between Picket's layer walker and the
// analyzers that look at files. Each analyzer lives in its own package under
// internal/analyzer/ and registers itself from init(); internal/analyzer/all
// imports them all. The walker asks every analyzer whether it needs a file
// (by path and metadata only), reads each needed file once, and hands the
// same content to every analyzer that asked for it.
//
// Results must depend only on the file given, never on other layers, so that
// they can be cached per layer diff id and analyzer version.
package analyzer

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/inventory"
)

// Content is a file's bytes with random access, as archives and binaries
// need. It is valid only during Analyze.
type Content interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	Size() int64
}

// Bytes returns the whole content without copying when the walker holds
// it in memory (files up to the spill size); ok is false for content
// spooled to a temporary file. The slice is valid only during Analyze and
// must not be modified.
func Bytes(c Content) (b []byte, ok bool) {
	if m, ok := c.(interface{ Bytes() []byte }); ok {
		return m.Bytes(), true
	}
	return nil, false
}

// Input is one file handed to an analyzer.
type Input struct {
	// Path is absolute inside the image ("/var/lib/dpkg/status").
	Path    string
	Info    fs.FileInfo
	Content Content
	// Literals, for an analyzer that implements ELFLiteralSearcher and an
	// ELF file, says where each of its literals occurs (indexed like
	// ELFLiterals; Count 0: absent). It is nil when the scanner did not
	// search the file, and the analyzer then searches it itself.
	Literals []LiteralHit
}

// Literal is a string searched for in files, ignoring ASCII case unless
// Exact.
type Literal struct {
	Text  string
	Exact bool
}

// LiteralHit is where a literal occurs in a file: the offsets of its first
// and last occurrences and their number.
type LiteralHit struct {
	First, Last int64
	Count       int
}

// Preparer is implemented by analyzers with a costly set-up (compiling
// rules). The scanner calls Prepare in the background when a scan starts,
// so that the work overlaps opening and reading the image instead of
// holding up the first file that needs it. Prepare must be safe to call
// concurrently with Required and Analyze, and more than once.
type Preparer interface {
	Prepare()
}

// ELFLiteralSearcher is implemented by analyzers that search ELF files for
// literal strings. The scanner searches each ELF file once for the
// literals of every analyzer that wants the file (one automaton over all
// of them) and hands each analyzer its own hits in Input.Literals, so that
// several analyzers cost one pass over the file's bytes.
type ELFLiteralSearcher interface {
	Analyzer
	// ELFLiterals returns the literals (the same on every call) and how
	// many leading bytes of a file they are searched in; no literals: the
	// analyzer takes no part.
	ELFLiterals() (lits []Literal, limit int64)
}

// Ownership says that an OS package installed the listed paths.
type Ownership struct {
	Owner string   `json:"owner"` // "deb:python3-requests", "apk:musl", "rpm:bash"
	Paths []string `json:"paths"` // absolute paths as the package database lists them
}

// Result is what an analyzer learned from one file.
type Result struct {
	Packages []*inventory.Package `json:"packages,omitempty"`
	Findings []*finding.Finding   `json:"findings,omitempty"`
	// Facts are key/value data other stages use (os-release fields, ...).
	Facts map[string]string `json:"facts,omitempty"`
	// Owned lists files installed by OS packages, to tell packaged files
	// from files dropped into the image by other means.
	Owned []Ownership `json:"owned,omitempty"`
}

// Empty reports whether the result carries nothing.
func (r *Result) Empty() bool {
	return r == nil || len(r.Packages) == 0 && len(r.Findings) == 0 && len(r.Facts) == 0 && len(r.Owned) == 0
}

// Analyzer looks at individual files.
type Analyzer interface {
	// Name is unique and stable ("dpkg", "gobinary"); it keys caches.
	Name() string
	// Version must change whenever results for the same input change.
	Version() int
	// Required decides from path and metadata alone whether the analyzer
	// wants the file. It must be cheap: it runs for every file of every layer.
	Required(path string, info fs.FileInfo) bool
	// Analyze inspects one file. Errors are reported per file and never stop
	// the scan; an analyzer must not panic on hostile input.
	Analyze(ctx context.Context, in *Input) (*Result, error)
}

var (
	mu       sync.RWMutex
	registry = map[string]Analyzer{}
)

// Register adds an analyzer. It panics on duplicate names: that is a
// programming error caught by any test.
func Register(a Analyzer) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[a.Name()]; dup {
		panic(fmt.Sprintf("analyzer: %q registered twice", a.Name()))
	}
	registry[a.Name()] = a
}

// All returns the registered analyzers sorted by name.
func All() []Analyzer {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Analyzer, 0, len(registry))
	for _, a := range registry {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// Select returns the registered file and image analyzers named in enable
// (all when empty) minus those in disable. Unknown names are an error.
func Select(enable, disable []string) ([]Analyzer, []ImageAnalyzer, error) {
	files, images := All(), AllImage()
	known := map[string]bool{}
	var names []string
	for _, a := range files {
		known[a.Name()] = true
		names = append(names, a.Name())
	}
	for _, a := range images {
		known[a.Name()] = true
		names = append(names, a.Name())
	}
	sort.Strings(names)
	for _, n := range append(append([]string{}, enable...), disable...) {
		if !known[n] {
			return nil, nil, fmt.Errorf("analyzer: unknown analyzer %q (known: %s)", n, strings.Join(names, ", "))
		}
	}
	on := func(name string) bool {
		for _, d := range disable {
			if d == name {
				return false
			}
		}
		if len(enable) == 0 {
			return true
		}
		for _, e := range enable {
			if e == name {
				return true
			}
		}
		return false
	}
	var fs []Analyzer
	for _, a := range files {
		if on(a.Name()) {
			fs = append(fs, a)
		}
	}
	var is []ImageAnalyzer
	for _, a := range images {
		if on(a.Name()) {
			is = append(is, a)
		}
	}
	return fs, is, nil
}

// AllNames lists every registered analyzer name, file and image.
func AllNames() []string {
	var out []string
	for _, a := range All() {
		out = append(out, a.Name())
	}
	for _, a := range AllImage() {
		out = append(out, a.Name())
	}
	sort.Strings(out)
	return out
}

// Names lists analyzer names.
func Names(as []Analyzer) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Name()
	}
	return out
}

// Fingerprint identifies a set of analyzers and their versions, for cache keys.
func Fingerprint(as []Analyzer) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = fmt.Sprintf("%s@%d", a.Name(), a.Version())
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
