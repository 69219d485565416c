// Package yara registers the analyzer that matches files against YARA rules
// with the real engine (libyara, through the small cgo binding in
// internal/analyzer/yara/libyara): Picket's default rules, embedded from
// rules/*.yar (EICAR, XMRig and Stratum miners and their configurations and
// droppers, reverse shells, Linux botnets and rootkits, web shells), plus
// any rule files or directories the user configures, such as Neo23x0's
// signature-base.
//
// Files are chosen by path and mode (see package candidates: executables,
// scripts, libraries, and anything in temporary, hidden, home, web-root or
// persistence locations) up to Options.MaxFileSize; each scan is bounded
// by Options.Timeout. Every rule sees the external variables that LOKI and
// THOR define, so third-party rule sets compile unchanged:
//
//	filename   base name                         "evil.php"
//	filepath   directory holding the file        "/var/www/html"
//	extension  lower-case extension with dot     ".php" ("" when none)
//	filetype   type from the first bytes         "ELF", "EXE", "MACHO", "ZIP", "GZIP", "PHP", "SHELL", "TEXT", ... (see FileType)
//	owner      "root" for uid 0, else the uid    "root", "1000"
//
// Each matching rule becomes a malware finding: RuleID "PKT-YARA-" plus the
// rule name (without the "PKT_" prefix of Picket's own rules), severity from
// the rule's "severity" metadata, else its signature-base "score" (>= 90
// critical, >= 70 high, >= 50 medium, >= 30 low, else info), else high;
// the matched strings as evidence; tags from the rule's tags and its
// "mitre" metadata.
//
// Builds without cgo or libyara (CGO_ENABLED=0, or the picket_noyara tag)
// register nothing: Available reports false and Unavailable says why, so
// the command line can tell the user that YARA analysis is unavailable.
package yara

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/yara/candidates"
	"github.com/picket-cdr/picket/internal/analyzer/yara/libyara"
)

// Name of the analyzer.
const Name = "yara"

// Defaults for Options.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultMaxFileSize = 64 << 20
)

// baseVersion changes when the analyzer's own logic changes; rule and
// option changes are folded into Version by hashing.
const baseVersion = 1

// DefaultNamespace holds Picket's embedded rules.
const DefaultNamespace = "picket"

// maxConcurrentScans bounds scans sharing one set of rules (libyara's
// YR_MAX_THREADS is 32).
const maxConcurrentScans = 32

// Externals are the external variables every rule may use.
var Externals = []string{"filename", "filepath", "extension", "filetype", "owner"}

//go:embed rules
var defaultRules embed.FS

// DefaultRules returns Picket's embedded rule files: common.yar and
// any/*.yar, native/*.yar, text/*.yar (see engine for the scopes).
func DefaultRules() fs.FS {
	sub, err := fs.Sub(defaultRules, "rules")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// Available reports whether this build can run YARA rules.
func Available() bool { return libyara.Available }

// Unavailable returns nil when YARA analysis is available and otherwise an
// error that says why, for the command line to print.
func Unavailable() error {
	if libyara.Available {
		return nil
	}
	return libyara.ErrUnavailable
}

// Options configure the analyzer.
type Options struct {
	// RuleDirs are searched recursively for *.yar and *.yara files.
	RuleDirs []string
	// RuleFiles are rule files of any name.
	RuleFiles []string
	// NoDefaultRules leaves Picket's embedded rules out.
	NoDefaultRules bool
	// SkipInvalid drops rule files that do not compile (reporting them in
	// Warnings) instead of failing.
	SkipInvalid bool
	// Timeout bounds the scan of one file (whole seconds; default 5 s).
	Timeout time.Duration
	// MaxFileSize is the largest file scanned (default 64 MiB).
	MaxFileSize int64
	// NoPrefilter scans every file with every default rule set, even when
	// the atoms of its rules show that none can match (see package
	// prefilter); for comparisons.
	NoPrefilter bool
}

// Analyzer matches files against YARA rules. It is safe for concurrent use.
type Analyzer struct {
	st       atomic.Pointer[state]
	lazyOnce sync.Once
}

// registered is the analyzer in the registry: Picket's default rules,
// compiled on first use, until Configure replaces its configuration.
var registered = &Analyzer{}

func init() {
	if libyara.Available {
		analyzer.Register(registered)
	}
}

// Default returns the registered analyzer (also in builds without libyara,
// where it is not registered and fails every scan with Unavailable).
func Default() *Analyzer { return registered }

// Configure replaces the registered analyzer's rules and limits. It
// compiles the rules at once, so errors in user rules are reported here.
// Call it before creating the scanner: the analyzer's Version, which keys
// the layer cache, changes with the rules.
func Configure(opts Options) error {
	st, err := newState(opts)
	if err != nil {
		return err
	}
	if _, err := st.engine(); err != nil {
		return err
	}
	registered.st.Store(st)
	return nil
}

// New returns an analyzer with its own configuration, its rules compiled.
func New(opts Options) (*Analyzer, error) {
	st, err := newState(opts)
	if err != nil {
		return nil, err
	}
	if _, err := st.engine(); err != nil {
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
			st = &state{loadErr: err}
		}
		a.st.CompareAndSwap(nil, st)
	})
	return a.st.Load()
}

// Name implements analyzer.Analyzer.
func (a *Analyzer) Name() string { return Name }

// Version changes with the analyzer, its rules and its limits.
func (a *Analyzer) Version() int { return a.state().version }

// Required wants candidate files (see package candidates) up to the size
// limit.
func (a *Analyzer) Required(p string, info fs.FileInfo) bool {
	size := info.Size()
	if size <= 0 || size > a.state().maxSize {
		return false
	}
	return candidates.Wanted(p, info.Mode())
}

// Warnings returns the compiler's warnings and, with SkipInvalid, the rule
// files that were left out. It compiles the rules if that has not happened.
func (a *Analyzer) Warnings() []string {
	st := a.state()
	if _, err := st.engine(); err != nil {
		return nil
	}
	return st.eng.warnings
}

// RuleCount returns the number of compiled public rules.
func (a *Analyzer) RuleCount() (int, error) {
	eng, err := a.state().engine()
	if err != nil {
		return 0, err
	}
	return len(eng.publicRules()), nil
}

// Prepare implements analyzer.Preparer: the rules are compiled (and the
// prefilter parsed) while the scanner opens the image.
func (a *Analyzer) Prepare() { _, _ = a.state().engine() }

// ELFLiterals implements analyzer.ELFLiteralSearcher: the atoms of the
// default rules for native files (see package prefilter), so that the
// scanner's one search of an ELF file (shared with the ELF analyzer) tells
// Analyze whether any of those rules can match; none without default rules
// or when the prefilter does not understand them.
func (a *Analyzer) ELFLiterals() ([]analyzer.Literal, int64) {
	st := a.state()
	eng, err := st.engine()
	if err != nil || eng.nativeFilter == nil || st.opts.NoPrefilter {
		return nil, 0
	}
	return eng.nativeFilter.atoms, st.maxSize
}

// Analyze scans one file.
func (a *Analyzer) Analyze(ctx context.Context, in *analyzer.Input) (*analyzer.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st := a.state()
	eng, err := st.engine()
	if err != nil {
		return nil, err
	}
	size := in.Content.Size()
	if size <= 0 || size > st.maxSize {
		return &analyzer.Result{}, nil
	}
	select {
	case eng.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-eng.sem }()
	head := make([]byte, 512)
	n, err := in.Content.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("yara: %s: %w", in.Path, err)
	}
	head = head[:n]
	ext := externals(in.Path, in.Info, head)
	sets := eng.sets(head)
	// Default sets whose rules cannot match, told by the atoms the
	// scanner found (ELF files, the native set) or found here in content
	// already in memory, are skipped.
	buf, inMemory := analyzer.Bytes(in.Content)
	inMemory = inMemory && int64(len(buf)) == size
	sets = slices.DeleteFunc(sets, func(rs *ruleSet) bool {
		var f *setFilter
		switch rs {
		case eng.native:
			f = eng.nativeFilter
		case eng.other:
			f = eng.textFilter
		}
		var seen func(int) bool
		switch {
		case f == nil || st.opts.NoPrefilter:
			return false
		case rs == eng.native && len(in.Literals) == len(f.atoms):
			seen = func(id int) bool { return in.Literals[id].Count > 0 }
		case inMemory:
			seen = f.search(buf)
		default:
			return false
		}
		return !f.possible(size, ext, seen)
	})
	if len(sets) == 0 {
		return &analyzer.Result{}, nil
	}
	timeout := st.timeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout {
			timeout = max(left, time.Second)
		}
	}
	deadline := time.Now().Add(timeout)

	// Content in memory is scanned where it is; other small files are read
	// once into a buffer for all rule sets; large files spooled to a
	// temporary file are mapped by libyara.
	fd, mapped := in.Content.(interface{ Fd() uintptr })
	mapped = mapped && !inMemory && size > 1<<20
	if !inMemory && !mapped {
		bp := getBuffer(size)
		defer putBuffer(bp)
		buf = (*bp)[:size]
		if _, rerr := io.ReadFull(io.NewSectionReader(in.Content, 0, size), buf); rerr != nil {
			return nil, fmt.Errorf("yara: %s: %w", in.Path, rerr)
		}
	}
	res := &libyara.Result{}
	for _, rs := range sets {
		left := max(time.Until(deadline), time.Second)
		r, err := scanWith(rs, ext, left, func(sc *libyara.Scanner) (*libyara.Result, error) {
			if mapped {
				defer runtime.KeepAlive(in.Content)
				return sc.ScanFd(fd.Fd())
			}
			return sc.ScanMem(buf)
		})
		if errors.Is(err, libyara.ErrTimeout) {
			return nil, fmt.Errorf("yara: %s: scan timed out after %v", in.Path, timeout.Round(time.Second))
		}
		if err != nil {
			return nil, fmt.Errorf("yara: %s: %w", in.Path, err)
		}
		res.Matches = append(res.Matches, r.Matches...)
		res.Truncated += r.Truncated
		res.TooManyMatches = res.TooManyMatches || r.TooManyMatches
	}
	return &analyzer.Result{Findings: findings(in.Path, ext["filetype"], res, eng)}, nil
}

// scanWith runs one scan with an idle scanner of rs, the externals set.
func scanWith(rs *ruleSet, ext map[string]string, timeout time.Duration, scan func(*libyara.Scanner) (*libyara.Result, error)) (*libyara.Result, error) {
	sc, err := rs.scanner()
	if err != nil {
		return nil, err
	}
	defer rs.release(sc)
	for _, k := range Externals {
		if err := sc.DefineString(k, ext[k]); err != nil {
			return nil, err
		}
	}
	sc.SetTimeout(timeout)
	return scan(sc)
}

// Buffers for file content are reused up to maxPooledBuffer bytes.
const maxPooledBuffer = 16 << 20

var buffers sync.Pool

func getBuffer(size int64) *[]byte {
	if bp, ok := buffers.Get().(*[]byte); ok && int64(cap(*bp)) >= size {
		return bp
	}
	b := make([]byte, size)
	return &b
}

func putBuffer(bp *[]byte) {
	if cap(*bp) <= maxPooledBuffer {
		buffers.Put(bp)
	}
}

// state is one configuration: its rule sources, version and, once
// compiled, its engine.
type state struct {
	opts    Options
	maxSize int64
	timeout time.Duration
	sources []source
	version int
	loadErr error

	once    sync.Once
	eng     *engine
	compErr error
}

type source struct {
	libyara.Source
	ruleset string // "picket" or the file's path
	group   string // sources that must compile together (the defaults)
	scope   string // default rules: common, any, native or text
	text    []byte // the rule text, for the version
}

func (s *source) content() []byte { return s.text }

func newState(opts Options) (*state, error) {
	st := &state{opts: opts, maxSize: opts.MaxFileSize, timeout: opts.Timeout}
	if st.maxSize <= 0 {
		st.maxSize = DefaultMaxFileSize
	}
	if st.timeout <= 0 {
		st.timeout = DefaultTimeout
	}
	if !opts.NoDefaultRules {
		srcs, err := defaultSources()
		if err != nil {
			return nil, err
		}
		st.sources = append(st.sources, srcs...)
	}
	var files []string
	for _, d := range opts.RuleDirs {
		found, err := ruleFilesIn(d)
		if err != nil {
			return nil, err
		}
		files = append(files, found...)
	}
	files = append(files, opts.RuleFiles...)
	seen := map[string]bool{}
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, fmt.Errorf("yara: %s: %w", f, err)
		}
		if seen[abs] {
			continue
		}
		seen[abs] = true
		text, err := os.ReadFile(abs)
		if err != nil {
			return nil, fmt.Errorf("yara: rule file: %w", err)
		}
		st.sources = append(st.sources, source{
			// Compiled from the path so that includes resolve next to it;
			// the text read here only feeds the version.
			Source:  libyara.Source{Name: abs, Namespace: abs, Path: abs},
			ruleset: abs,
			group:   abs,
			text:    text,
		})
	}
	if len(st.sources) == 0 {
		return nil, errors.New("yara: no rules: the default rules are disabled and no rule files were given")
	}
	st.version = st.computeVersion()
	return st, nil
}

// defaultSources lists the embedded rules: rules/common.yar first (private
// rules the others use), then rules/{any,native,text}/*.yar, each file's
// directory its scope.
func defaultSources() ([]source, error) {
	var out []source
	add := func(name, scope string) error {
		text, err := defaultRules.ReadFile("rules/" + name)
		if err != nil {
			return err
		}
		out = append(out, source{
			Source:  libyara.Source{Name: "embedded:" + name, Namespace: DefaultNamespace, Text: text},
			ruleset: DefaultNamespace,
			group:   DefaultNamespace,
			scope:   scope,
			text:    text,
		})
		return nil
	}
	if err := add("common.yar", scopeCommon); err != nil {
		return nil, err
	}
	for _, scope := range []string{scopeAny, scopeNative, scopeText} {
		entries, err := fs.ReadDir(defaultRules, "rules/"+scope)
		if err != nil {
			return nil, err
		}
		for _, e := range entries { // sorted by name
			if err := add(scope+"/"+e.Name(), scope); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// ruleFilesIn lists *.yar and *.yara files under dir, sorted.
func ruleFilesIn(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 {
			switch strings.ToLower(filepath.Ext(p)) {
			case ".yar", ".yara":
				out = append(out, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("yara: rule directory: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("yara: rule directory %s holds no *.yar or *.yara files", dir)
	}
	sort.Strings(out)
	return out, nil
}

func (st *state) computeVersion() int {
	h := fnv.New64a()
	fmt.Fprintf(h, "v%d|max=%d|timeout=%d|skip=%t|yara=%s\n", baseVersion, st.maxSize, st.timeout, st.opts.SkipInvalid, libyara.Version)
	for _, s := range st.sources {
		fmt.Fprintf(h, "%s|%s|%d\n", s.Name, s.Namespace, len(s.content()))
		h.Write(s.content())
	}
	return int(h.Sum64() >> 2)
}
