package yara

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/picket-cdr/picket/internal/ahocorasick"
	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/yara/libyara"
	"github.com/picket-cdr/picket/internal/analyzer/yara/prefilter"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/layer"
)

// engine is one compiled configuration. Picket's default rules are
// compiled twice: the rules for native binaries (rules/native) and those
// for everything else (rules/text), each with the shared helpers
// (rules/common.yar) and the rules that apply to any file (rules/any).
// Every default rule's condition already says which kind of file it is
// for (a test checks it), so a file scanned with the set for its kind
// gets the same matches as with all rules, and neither kind pays for the
// other's strings. User rules are one more set, scanned on every file.
type engine struct {
	native, other *ruleSet // default rules by kind of file; nil without defaults
	// nativeFilter and textFilter, when package prefilter understands
	// every rule of the default set, tell from the atoms found in a file
	// whether any of its rules can match (nil: always scan).
	nativeFilter, textFilter *setFilter
	user                     *ruleSet // the user's rule files; nil without any
	sem                      chan struct{}
	warnings                 []string
	rulesets                 map[string]string // namespace -> rule set label
}

// setFilter is a default rule set's prefilter: its atoms, as literals for
// the scanner's shared search of ELF files and as an automaton for files
// the analyzer searches itself.
type setFilter struct {
	pf    *prefilter.Set
	atoms []analyzer.Literal
	m     *ahocorasick.Matcher
}

// possible reports whether a rule of the set may match a file with these
// externals, seen telling which atoms the file has.
func (f *setFilter) possible(size int64, ext map[string]string, seen func(int) bool) bool {
	return f.pf.Possible(prefilter.File{Size: size, Name: ext["filename"], Path: ext["filepath"], Ext: ext["extension"]}, seen)
}

// search finds the atoms in data.
func (f *setFilter) search(data []byte) func(int) bool {
	found := make([]bool, len(f.atoms))
	f.m.Find(data, func(id, _ int) bool { found[id] = true; return true })
	return func(id int) bool { return found[id] }
}

// ruleSet is compiled rules with their idle scanners.
type ruleSet struct {
	rules *libyara.Rules
	idle  chan *libyara.Scanner
}

func newRuleSet(r *libyara.Rules) *ruleSet {
	return &ruleSet{rules: r, idle: make(chan *libyara.Scanner, maxConcurrentScans)}
}

func (st *state) engine() (*engine, error) {
	if st.loadErr != nil {
		return nil, st.loadErr
	}
	st.once.Do(func() { st.eng, st.compErr = compile(st) })
	return st.eng, st.compErr
}

func plain(srcs []source) []libyara.Source {
	out := make([]libyara.Source, len(srcs))
	for i, s := range srcs {
		out[i] = s.Source
	}
	return out
}

func compileExternals() map[string]string {
	ext := map[string]string{}
	for _, k := range Externals {
		ext[k] = ""
	}
	return ext
}

// Scopes of the default rule files.
const (
	scopeCommon = "common" // private helper rules, in every set
	scopeAny    = "any"    // rules for any file, in every set
	scopeNative = "native" // rules for ELF, PE and Mach-O files
	scopeText   = "text"   // rules for everything else
)

func compile(st *state) (*engine, error) {
	e := &engine{
		sem:      make(chan struct{}, maxConcurrentScans),
		rulesets: map[string]string{},
	}
	for _, s := range st.sources {
		e.rulesets[s.Namespace] = s.ruleset
	}
	var defaults, user []source
	for _, s := range st.sources {
		if s.group == DefaultNamespace {
			defaults = append(defaults, s)
		} else {
			user = append(user, s)
		}
	}
	if len(defaults) > 0 {
		for _, kind := range []string{scopeNative, scopeText} {
			var srcs []source
			for _, s := range defaults {
				if s.scope == scopeCommon || s.scope == scopeAny || s.scope == kind {
					srcs = append(srcs, s)
				}
			}
			rules, msgs, err := libyara.Compile(plain(srcs), compileExternals())
			if err != nil {
				e.close()
				return nil, fmt.Errorf("yara: default rules (%s): %w", kind, err)
			}
			for _, m := range msgs {
				e.warnings = append(e.warnings, m.String())
			}
			if kind == scopeNative {
				e.native = newRuleSet(rules)
				e.nativeFilter = newSetFilter(srcs)
			} else {
				e.textFilter = newSetFilter(srcs)
				e.other = newRuleSet(rules)
			}
		}
	}
	if len(user) > 0 {
		rules, warnings, err := compileUser(st, user)
		if err != nil {
			e.close()
			return nil, err
		}
		e.warnings = append(e.warnings, warnings...)
		e.user = newRuleSet(rules)
	}
	return e, nil
}

// newSetFilter parses a default rule set for package prefilter; nil when
// it cannot (every file is then scanned with the set).
func newSetFilter(srcs []source) *setFilter {
	texts := make([][]byte, 0, len(srcs))
	for _, s := range srcs {
		if s.Text == nil {
			return nil
		}
		texts = append(texts, s.Text)
	}
	pf, err := prefilter.Parse(texts...)
	if err != nil || len(pf.Atoms) == 0 {
		return nil
	}
	f := &setFilter{pf: pf, atoms: make([]analyzer.Literal, len(pf.Atoms))}
	pats := make([]string, len(pf.Atoms))
	for i, a := range pf.Atoms {
		f.atoms[i] = analyzer.Literal{Text: a.Text}
		pats[i] = a.Text
	}
	f.m = ahocorasick.New(pats, nil)
	return f
}

// compileUser compiles the user's rule files together; with SkipInvalid,
// files that do not compile are left out and named in the warnings.
func compileUser(st *state, srcs []source) (*libyara.Rules, []string, error) {
	ext := compileExternals()
	var warnings []string
	rules, msgs, err := libyara.Compile(plain(srcs), ext)
	var ce *libyara.CompileError
	if err != nil && !errors.As(err, &ce) {
		return nil, nil, err
	}
	if err != nil {
		// libyara stops at the first broken file: compile each group
		// alone to name all of them.
		var order []string
		groups := map[string][]source{}
		for _, s := range srcs {
			if _, ok := groups[s.group]; !ok {
				order = append(order, s.group)
			}
			groups[s.group] = append(groups[s.group], s)
		}
		broken := map[string]error{}
		var errs []error
		for _, g := range order {
			r, _, gerr := libyara.Compile(plain(groups[g]), ext)
			if gerr != nil {
				broken[g] = gerr
				errs = append(errs, gerr)
				continue
			}
			r.Close()
		}
		if len(broken) == 0 {
			return nil, nil, err // each compiles alone, not together
		}
		if !st.opts.SkipInvalid {
			return nil, nil, errors.Join(errs...)
		}
		var keep []source
		for _, s := range srcs {
			if broken[s.group] == nil {
				keep = append(keep, s)
			}
		}
		for _, g := range order {
			if broken[g] != nil {
				warnings = append(warnings, fmt.Sprintf("skipped %s: %v", g, broken[g]))
			}
		}
		if len(keep) == 0 {
			return nil, nil, fmt.Errorf("yara: no rule file compiles: %w", errors.Join(errs...))
		}
		rules, msgs, err = libyara.Compile(plain(keep), ext)
		if err != nil {
			return nil, nil, err
		}
	}
	for _, m := range msgs {
		warnings = append(warnings, m.String())
	}
	return rules, warnings, nil
}

// close frees the compiled rules (used when compilation fails half-way).
func (e *engine) close() {
	for _, rs := range []*ruleSet{e.native, e.other, e.user} {
		if rs != nil {
			rs.rules.Close()
		}
	}
}

// sets returns the rule sets a file with these first bytes is scanned with.
func (e *engine) sets(head []byte) []*ruleSet {
	out := make([]*ruleSet, 0, 2)
	if isNative(head) {
		if e.native != nil {
			out = append(out, e.native)
		}
	} else if e.other != nil {
		out = append(out, e.other)
	}
	if e.user != nil {
		out = append(out, e.user)
	}
	return out
}

// isNative mirrors the PKT_Native_Binary rule of rules/common.yar: ELF, PE
// (MZ) or Mach-O magic numbers.
func isNative(head []byte) bool {
	if len(head) >= 2 && head[0] == 'M' && head[1] == 'Z' {
		return true
	}
	if len(head) < 4 {
		return false
	}
	switch binary.LittleEndian.Uint32(head) {
	case 0x464c457f, 0xfeedface, 0xcefaedfe, 0xfeedfacf, 0xcffaedfe:
		return true
	}
	return false
}

// publicRules lists every public rule once.
func (e *engine) publicRules() []libyara.RuleInfo {
	seen := map[string]bool{}
	var out []libyara.RuleInfo
	for _, rs := range []*ruleSet{e.native, e.other, e.user} {
		if rs == nil {
			continue
		}
		for _, r := range rs.rules.Rules() {
			k := r.Namespace + ":" + r.Identifier
			if r.Private || seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

func (rs *ruleSet) scanner() (*libyara.Scanner, error) {
	select {
	case s := <-rs.idle:
		return s, nil
	default:
		return rs.rules.NewScanner()
	}
}

func (rs *ruleSet) release(s *libyara.Scanner) {
	select {
	case rs.idle <- s:
	default:
		s.Close()
	}
}

// externals computes the external variables for one file.
func externals(p string, info fs.FileInfo, head []byte) map[string]string {
	base := path.Base(p)
	owner := "root"
	if info != nil {
		if e, ok := info.Sys().(*layer.Entry); ok && e.UID != 0 {
			owner = strconv.FormatUint(uint64(e.UID), 10)
		}
	}
	return map[string]string{
		"filename":  base,
		"filepath":  path.Dir(p),
		"extension": strings.ToLower(path.Ext(base)),
		"filetype":  FileType(base, head),
		"owner":     owner,
	}
}

var magics = []struct {
	prefix, typ string
}{
	{"\x7fELF", "ELF"},
	{"MZ", "EXE"},
	{"\xfe\xed\xfa\xce", "MACHO"}, {"\xfe\xed\xfa\xcf", "MACHO"},
	{"\xce\xfa\xed\xfe", "MACHO"}, {"\xcf\xfa\xed\xfe", "MACHO"},
	{"PK\x03\x04", "ZIP"}, {"PK\x05\x06", "ZIP"},
	{"\x1f\x8b", "GZIP"},
	{"BZh", "BZIP2"},
	{"\xfd7zXZ\x00", "XZ"},
	{"\x28\xb5\x2f\xfd", "ZSTD"},
	{"7z\xbc\xaf\x27\x1c", "7ZIP"},
	{"Rar!\x1a\x07", "RAR"},
	{"%PDF", "PDF"},
	{"\x89PNG", "PNG"},
	{"GIF8", "GIF"},
	{"\xff\xd8\xff", "JPEG"},
}

// FileType guesses a file's type from its name and first bytes, as the
// "filetype" external variable: ELF, EXE (PE), MACHO, CLASS (Java), ZIP,
// GZIP, BZIP2, XZ, ZSTD, 7ZIP, RAR, PDF, PNG, GIF, JPEG; for scripts the
// interpreter of the #! line (SHELL, PYTHON, PERL, PHP, RUBY, JAVASCRIPT,
// else SCRIPT); PHP, JSP or ASP for server pages; XML, HTML; TEXT for other
// text and DATA for anything else.
func FileType(name string, head []byte) string {
	if bytes.HasPrefix(head, []byte("\xca\xfe\xba\xbe")) {
		// Java classes and fat Mach-O binaries share the magic; a class
		// file's major version (>= 45) is where a fat binary counts its
		// (few) architectures.
		if len(head) >= 8 && int(head[6])<<8|int(head[7]) >= 45 {
			return "CLASS"
		}
		return "MACHO"
	}
	for _, m := range magics {
		if bytes.HasPrefix(head, []byte(m.prefix)) {
			return m.typ
		}
	}
	if bytes.HasPrefix(head, []byte("#!")) {
		line := head
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		l := string(bytes.ToLower(line))
		switch {
		case strings.Contains(l, "python"):
			return "PYTHON"
		case strings.Contains(l, "perl"):
			return "PERL"
		case strings.Contains(l, "php"):
			return "PHP"
		case strings.Contains(l, "ruby"):
			return "RUBY"
		case strings.Contains(l, "node"):
			return "JAVASCRIPT"
		case strings.Contains(l, "sh"):
			return "SHELL"
		}
		return "SCRIPT"
	}
	lower := bytes.ToLower(head)
	ext := strings.ToLower(path.Ext(name))
	switch {
	case bytes.Contains(lower, []byte("<?php")) || bytes.HasPrefix(head, []byte("<?=")):
		return "PHP"
	case bytes.Contains(head, []byte("<%")):
		if strings.HasPrefix(ext, ".jsp") {
			return "JSP"
		}
		return "ASP"
	case bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n\ufeff"), []byte("<?xml")):
		return "XML"
	case bytes.Contains(lower, []byte("<html")) || bytes.Contains(lower, []byte("<!doctype html")):
		return "HTML"
	}
	if isText(head) {
		return "TEXT"
	}
	return "DATA"
}

// isText reports whether b looks like text: no NUL bytes and mostly
// printable UTF-8.
func isText(b []byte) bool {
	if len(b) == 0 || bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	bad := 0
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 && len(b) >= utf8.UTFMax {
			bad++
		} else if r < 0x20 && r != '\n' && r != '\r' && r != '\t' && r != '\f' && r != 0x1b {
			bad++
		}
		b = b[n:]
	}
	return bad == 0
}

// severityOf reads a rule's severity: its "severity" metadata, else its
// signature-base "score", else high.
func severityOf(r *libyara.RuleInfo) finding.Severity {
	if s := r.MetaString("severity"); s != "" {
		if v, err := finding.ParseSeverity(s); err == nil && v != finding.Unknown {
			return v
		}
	}
	if s := r.MetaString("score"); s != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			switch {
			case n >= 90:
				return finding.Critical
			case n >= 70:
				return finding.High
			case n >= 50:
				return finding.Medium
			case n >= 30:
				return finding.Low
			default:
				return finding.Info
			}
		}
	}
	return finding.High
}

// RuleID is the finding rule id for a YARA rule.
func RuleID(namespace, identifier string) string {
	if namespace == DefaultNamespace {
		identifier = strings.TrimPrefix(identifier, "PKT_")
	}
	return "PKT-YARA-" + identifier
}

const maxEvidence = 512

func findings(p, filetype string, res *libyara.Result, eng *engine) []*finding.Finding {
	best := map[string]*finding.Finding{}
	for _, m := range res.Matches {
		f := toFinding(p, filetype, m, eng)
		if old, ok := best[f.RuleID]; ok && old.Severity >= f.Severity {
			continue
		}
		best[f.RuleID] = f
	}
	out := make([]*finding.Finding, 0, len(best)+1)
	for _, f := range best {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RuleID < out[j].RuleID })
	if res.Truncated > 0 {
		out = append(out, &finding.Finding{
			Kind: finding.KindMalware, Severity: finding.Low, RuleID: "PKT-YARA-TOO-MANY-MATCHES",
			Title:       fmt.Sprintf("%d more YARA rules matched than are reported", res.Truncated),
			Description: fmt.Sprintf("Only the first %d matching rules are reported per file.", libyara.MaxRuleMatches),
			Location:    finding.Location{Path: p},
			Tags:        []string{"yara"},
		})
	}
	return out
}

func toFinding(p, filetype string, m libyara.Match, eng *engine) *finding.Finding {
	r := m.Rule
	ruleset := eng.rulesets[r.Namespace]
	if ruleset == "" {
		ruleset = r.Namespace
	}
	title := r.MetaString("description")
	if title == "" {
		title = "YARA rule " + r.Identifier + " matched"
	}
	attrs := map[string]string{"rule": r.Identifier, "ruleset": ruleset, "filetype": filetype}
	for _, k := range []string{"author", "family", "score", "license", "date"} {
		if v := r.MetaString(k); v != "" {
			attrs[k] = v
		}
	}
	var refs []string
	for _, mt := range r.Meta {
		if mt.Key != "reference" && mt.Key != "ref" && mt.Key != "url" {
			continue
		}
		for ref := range strings.FieldsSeq(fmt.Sprint(mt.Value)) {
			ref = strings.TrimRight(ref, ",;")
			if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
				refs = append(refs, ref)
			}
		}
	}
	tags := []string{"yara"}
	for _, t := range r.Tags {
		tags = append(tags, strings.ToLower(t))
	}
	for t := range strings.FieldsFuncSeq(r.MetaString("mitre"), func(c rune) bool { return c == ',' || c == ' ' || c == ';' }) {
		tags = append(tags, strings.ToUpper(t))
	}
	by := ""
	if a := attrs["author"]; a != "" {
		by = " by " + a
	}
	return &finding.Finding{
		Kind:        finding.KindMalware,
		Severity:    severityOf(r),
		RuleID:      RuleID(r.Namespace, r.Identifier),
		Title:       title,
		Description: fmt.Sprintf("The file matches YARA rule %s (rule set %s%s).", r.Identifier, ruleset, by),
		Location:    finding.Location{Path: p},
		Evidence:    evidence(m.Strings),
		Remediation: "Remove the file, rebuild the image from trusted sources and find out how it got there. " +
			"If it is expected (a test file, a security tool's data), ignore this rule for this path.",
		References: refs,
		Tags:       tags,
		Attributes: attrs,
	}
}

// evidence renders the first match of each matched string, escaped and
// bounded.
func evidence(ss []libyara.StringMatch) string {
	var parts []string
	for _, s := range ss {
		parts = append(parts, fmt.Sprintf("%s at 0x%x: %s", s.ID, s.Offset, strconv.QuoteToASCII(string(s.Data))))
	}
	e := strings.Join(parts, "; ")
	if len(e) > maxEvidence {
		e = e[:maxEvidence] + "..."
	}
	return e
}
