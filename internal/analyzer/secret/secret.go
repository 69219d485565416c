// Package secret registers the secret analyzer: cloud and SaaS tokens,
// private keys, JWTs, database URLs with passwords, passwords in service
// configurations (my.cnf, redis.conf, .pgpass, mongod.conf, .env,
// ~/.docker/config.json, kubeconfig, .git-credentials, .npmrc, .pypirc, ...)
// and weak /etc/shadow hashes, in every text file of every layer.
//
// Rules are Go data (BuiltinRules); users add their own (WithRules) or load a
// gitleaks configuration (WithGitleaksConfig). A file is searched once for
// every rule's keywords with one Aho-Corasick automaton; a rule's regex then
// runs only on the lines around its keywords. Matches are filtered by
// entropy, validators, a placeholder filter and allowlists, overlapping
// matches are reported once, and evidence is redacted.
//
// Limits: files above MaxFileSize are read only when their name says text,
// and then only their first MaxFileSize bytes; each file gets Timeout of
// regex work; files whose first 8 KiB hold a NUL byte are binary and only
// searched for private key blocks. A file scanned partly yields a finding
// PKT-SECRET-INCOMPLETE (kind "scan") saying why, so no skip is silent.
package secret

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/finding"
)

// Name of the analyzer.
const Name = "secret"

// BuiltinVersion changes whenever the built-in rules or the scanning logic
// change what is reported.
const BuiltinVersion = 2

// Defaults.
const (
	DefaultMaxFileSize int64 = 10 << 20
	DefaultTimeout           = 2 * time.Second
	DefaultMaxFindings       = 100
)

// IncompleteRuleID is the rule id of the scan finding that reports a file
// scanned only partly (size limit, time limit, too many matches).
const IncompleteRuleID = "PKT-SECRET-INCOMPLETE"

func init() { analyzer.Register(&lazyDefault{}) }

// lazyDefault is the registered default analyzer. Compiling the built-in
// rules takes tens of milliseconds, so it happens on the first file, not at
// start-up of every picket command.
type lazyDefault struct {
	once sync.Once
	a    *Analyzer
}

func (l *lazyDefault) get() *Analyzer {
	l.once.Do(func() { l.a = MustNew() })
	return l.a
}

func (l *lazyDefault) Name() string { return Name }

// Prepare implements analyzer.Preparer: the built-in rules are compiled
// while the scanner opens the image.
func (l *lazyDefault) Prepare() { l.get() }

// Version is BuiltinVersion: the default configuration's, known without
// compiling anything.
func (l *lazyDefault) Version() int { return BuiltinVersion }

func (l *lazyDefault) Required(p string, info fs.FileInfo) bool { return l.get().Required(p, info) }

func (l *lazyDefault) Analyze(ctx context.Context, in *analyzer.Input) (*analyzer.Result, error) {
	return l.get().Analyze(ctx, in)
}

// Analyzer is the secret analyzer. It is safe for concurrent use.
type Analyzer struct {
	eng         *engine
	allowPaths  []*regexp.Regexp
	defaultPath bool // the default path allowlist (test trees) is on
	maxFileSize int64
	timeout     time.Duration
	maxFindings int
	version     int
	stats       []*GitleaksStats
}

type config struct {
	builtin      bool
	rules        []*Rule
	gitleaks     []string
	allowPaths   []string
	noDefault    bool
	disabled     map[string]bool
	maxFileSize  int64
	timeout      time.Duration
	maxFindings  int
	custom       bool // anything but the defaults: the version is derived
	gitleaksData []gitleaksSource
}

type gitleaksSource struct {
	name string
	data []byte
}

// Option configures New.
type Option func(*config)

// WithRules adds rules after the built-in ones. Rules without a Source are
// marked "user".
func WithRules(rules ...*Rule) Option {
	return func(c *config) { c.rules = append(c.rules, rules...); c.custom = true }
}

// WithGitleaksConfig loads the rules and allowlists of a gitleaks TOML
// configuration file. Rules whose regexes Go cannot compile are skipped and
// counted (see GitleaksStats); a file that cannot be read or parsed makes
// New fail.
func WithGitleaksConfig(path string) Option {
	return func(c *config) { c.gitleaks = append(c.gitleaks, path); c.custom = true }
}

// WithGitleaksTOML is WithGitleaksConfig for a configuration already in
// memory; name labels its rules ("gitleaks:<name>").
func WithGitleaksTOML(name string, data []byte) Option {
	return func(c *config) {
		c.gitleaksData = append(c.gitleaksData, gitleaksSource{name, data})
		c.custom = true
	}
}

// WithoutBuiltinRules leaves the built-in rules out (only user and gitleaks
// rules run).
func WithoutBuiltinRules() Option {
	return func(c *config) { c.builtin = false; c.custom = true }
}

// WithDisabledRules drops rules by id (built-in, user or gitleaks).
func WithDisabledRules(ids ...string) Option {
	return func(c *config) {
		for _, id := range ids {
			c.disabled[id] = true
		}
		c.custom = true
	}
}

// WithAllowPaths skips files whose absolute path matches one of the regular
// expressions (Go syntax, e.g. `^/opt/app/fixtures/`).
func WithAllowPaths(patterns ...string) Option {
	return func(c *config) { c.allowPaths = append(c.allowPaths, patterns...); c.custom = true }
}

// WithoutDefaultAllowlist also scans test and fixture trees (*/test/*,
// */tests/*, *_test.go, ...), which are skipped by default.
func WithoutDefaultAllowlist() Option {
	return func(c *config) { c.noDefault = true; c.custom = true }
}

// WithMaxFileSize sets how many bytes of a file are scanned (default 10 MiB).
func WithMaxFileSize(n int64) Option {
	return func(c *config) { c.maxFileSize = n; c.custom = true }
}

// WithTimeout bounds the regex work on one file (default 2 s); 0 or less
// means no limit beyond the caller's context.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d; c.custom = true }
}

// WithMaxFindings bounds the findings reported per file (default 100).
func WithMaxFindings(n int) Option {
	return func(c *config) { c.maxFindings = n; c.custom = true }
}

// New builds a secret analyzer: the built-in rules plus whatever the
// options add.
func New(opts ...Option) (*Analyzer, error) {
	c := &config{
		builtin: true, disabled: map[string]bool{},
		maxFileSize: DefaultMaxFileSize, timeout: DefaultTimeout, maxFindings: DefaultMaxFindings,
	}
	for _, o := range opts {
		o(c)
	}
	if c.maxFileSize <= 0 {
		return nil, fmt.Errorf("secret: max file size must be positive, not %d", c.maxFileSize)
	}
	if c.maxFindings <= 0 {
		return nil, fmt.Errorf("secret: max findings must be positive, not %d", c.maxFindings)
	}
	a := &Analyzer{
		defaultPath: !c.noDefault, maxFileSize: c.maxFileSize,
		timeout: c.timeout, maxFindings: c.maxFindings,
	}
	var rules []*Rule
	if c.builtin {
		rules = append(rules, BuiltinRules()...)
	}
	for _, r := range c.rules {
		if r == nil {
			return nil, fmt.Errorf("secret: nil rule")
		}
		cp := *r
		if cp.Source == "" {
			cp.Source = "user"
		}
		rules = append(rules, &cp)
	}
	load := func(name string, data []byte) error {
		rs, st, err := ParseGitleaksConfig(data, name)
		if err != nil {
			return err
		}
		a.stats = append(a.stats, st)
		rules = append(rules, rs...)
		return nil
	}
	for _, p := range c.gitleaks {
		data, err := readConfig(p)
		if err != nil {
			return nil, err
		}
		if err := load(p, data); err != nil {
			return nil, err
		}
	}
	for _, g := range c.gitleaksData {
		if err := load(g.name, g.data); err != nil {
			return nil, err
		}
	}
	rules = dropDisabled(rules, c.disabled)
	// Ids must be unique: later sources (gitleaks after built-in) that
	// reuse an id are renamed "<source>:<id>".
	rules = uniqueIDs(rules)
	for _, p := range c.allowPaths {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("secret: allow path %q: %w", p, err)
		}
		a.allowPaths = append(a.allowPaths, re)
	}
	eng, err := newEngine(rules)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	a.eng = eng
	a.version = BuiltinVersion
	if c.custom {
		a.version = derivedVersion(a, c)
	}
	return a, nil
}

// MustNew is New for configurations known to be valid (the built-in one).
func MustNew(opts ...Option) *Analyzer {
	a, err := New(opts...)
	if err != nil {
		panic(err)
	}
	return a
}

func dropDisabled(rules []*Rule, off map[string]bool) []*Rule {
	if len(off) == 0 {
		return rules
	}
	out := rules[:0:0]
	for _, r := range rules {
		if !off[r.ID] {
			out = append(out, r)
		}
	}
	return out
}

func uniqueIDs(rules []*Rule) []*Rule {
	seen := map[string]bool{}
	for i, r := range rules {
		if !seen[r.ID] {
			seen[r.ID] = true
			continue
		}
		cp := *r
		src := r.Source
		if i := strings.IndexByte(src, ':'); i > 0 {
			src = src[:i]
		}
		cp.ID = src + ":" + r.ID
		for n := 2; seen[cp.ID]; n++ {
			cp.ID = fmt.Sprintf("%s:%s#%d", src, r.ID, n)
		}
		seen[cp.ID] = true
		rules[i] = &cp
	}
	return rules
}

// derivedVersion makes the cache key change with the configuration: the
// per-layer cache keys results by analyzer name and version, so a scan with
// other rules must not reuse results of the built-in set.
func derivedVersion(a *Analyzer, c *config) int {
	h := fnv.New64a()
	fmt.Fprintf(h, "v%d|max=%d|t=%s|n=%d|def=%t|", BuiltinVersion, a.maxFileSize, a.timeout, a.maxFindings, a.defaultPath)
	for _, re := range a.allowPaths {
		fmt.Fprintf(h, "allow=%s|", re)
	}
	for _, r := range a.eng.rules {
		fmt.Fprintf(h, "%s|%s|%d|%q|%v|%d|%g|%v|%v|%v|%v|%s|", r.ID, r.Source, r.Severity, r.Title, r.Keywords,
			r.SecretGroup, r.Entropy, r.MultiLine, r.Binary, r.ReportWeak, r.PathFunc != nil, r.Remediation)
		if r.Regex != nil {
			fmt.Fprintf(h, "re=%s|", r.Regex)
		}
		if r.Path != nil {
			fmt.Fprintf(h, "path=%s|", r.Path)
		}
		for _, al := range r.Allowlists {
			fmt.Fprintf(h, "al=%s|%s|%v|%v|%v|", al.Condition, al.RegexTarget, al.Paths, al.Regexes, al.StopWords)
		}
	}
	// Keep clear of small hand-written versions; stay positive on 32 bits.
	return 1<<20 + int(h.Sum64()%(1<<30))
}

// Name implements analyzer.Analyzer.
func (a *Analyzer) Name() string { return Name }

// Version implements analyzer.Analyzer: BuiltinVersion for the default
// configuration, else a number derived from the whole configuration.
func (a *Analyzer) Version() int { return a.version }

// Rules returns the rules in use (shared: do not modify).
func (a *Analyzer) Rules() []*Rule { return a.eng.rules }

// GitleaksStats returns the load statistics of each gitleaks configuration.
func (a *Analyzer) GitleaksStats() []*GitleaksStats { return a.stats }

// Required implements analyzer.Analyzer: regular, non-empty files that are
// not binaries, media or archives by name, not documentation or package
// manager state, not test fixtures; files a rule names by path always.
func (a *Analyzer) Required(p string, info fs.FileInfo) bool {
	if !info.Mode().IsRegular() || info.Size() == 0 {
		return false
	}
	if a.allowedPath(p) {
		return false
	}
	e := ext(p)
	if skipExts[e] || skippedDir(p) || (info.Size() > a.maxFileSize && !textExts[e]) {
		return a.eng.wantsPath(p)
	}
	return true
}

func (a *Analyzer) allowedPath(p string) bool {
	if a.defaultPath && testPath(p) {
		return true
	}
	return anyMatchString(a.allowPaths, p)
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// Analyze implements analyzer.Analyzer.
func (a *Analyzer) Analyze(ctx context.Context, in *analyzer.Input) (*analyzer.Result, error) {
	if a.allowedPath(in.Path) {
		return nil, nil
	}
	size := in.Content.Size()
	n := min(size, a.maxFileSize)
	var buf []byte
	if b, ok := analyzer.Bytes(in.Content); ok && int64(len(b)) >= n {
		buf = b[:n] // searched where it is: the engine only reads it
	} else {
		if n <= 1<<20 {
			bp := bufPool.Get().(*[]byte)
			defer func() { *bp = buf[:0]; bufPool.Put(bp) }()
			buf = (*bp)[:0]
		}
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		m, err := in.Content.ReadAt(buf, 0)
		if err != nil && err != io.EOF && int64(m) < n {
			return nil, fmt.Errorf("secret: %s: %w", in.Path, err)
		}
		buf = buf[:m]
	}

	var findings []*finding.Finding
	for _, i := range a.eng.pathOnly {
		r := a.eng.rules[i]
		if r.pathOK(in.Path) && !r.pathAllowed(in.Path) {
			findings = append(findings, newFinding(r, in.Path, 0, ""))
		}
	}

	var deadline time.Time
	if a.timeout > 0 {
		deadline = time.Now().Add(a.timeout)
	}
	s := a.eng.newScan(ctx, deadline, in.Path, buf)
	binary := isBinary(buf)
	s.run(binary)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("secret: %s: %w", in.Path, err)
	}
	kept := s.selectCandidates()
	truncated := len(kept) > a.maxFindings
	if truncated {
		kept = kept[:a.maxFindings]
	}
	findings = append(findings, s.findings(kept)...)

	var why []string
	if size > n && !binary {
		why = append(why, fmt.Sprintf("only the first %d of %d bytes were scanned (size limit)", n, size))
	}
	if s.stopped {
		why = append(why, fmt.Sprintf("the %s time limit stopped the scan", a.timeout))
	}
	if s.full {
		why = append(why, fmt.Sprintf("more than %d candidate matches", maxCandidates))
	}
	if truncated {
		why = append(why, fmt.Sprintf("only the first %d findings are reported", a.maxFindings))
	}
	if len(why) > 0 {
		findings = append(findings, &finding.Finding{
			Kind: finding.KindScan, Severity: finding.Info, RuleID: IncompleteRuleID,
			Title:       "File only partly scanned for secrets",
			Description: strings.Join(why, "; ") + ".",
			Target:      in.Path,
			Location:    finding.Location{Path: in.Path},
			Remediation: "Check the file by hand, or raise the secret scan limits.",
			Attributes:  map[string]string{"reason": strings.Join(why, "; "), "size": fmt.Sprint(size)},
		})
	}
	if len(findings) == 0 {
		return nil, nil
	}
	sort.SliceStable(findings, func(i, j int) bool { return findings[i].Location.Line < findings[j].Location.Line })
	return &analyzer.Result{Findings: findings}, nil
}

// isBinary reports a NUL byte in the first 8 KiB (git's test).
func isBinary(b []byte) bool {
	if len(b) > binarySniff {
		b = b[:binarySniff]
	}
	return bytes.IndexByte(b, 0) >= 0
}
