// Package prefilter decides, without libyara, that no rule of a YARA rule
// set can match a file, so that the file need not be scanned with it.
//
// Parse reads the rule sources and gives every string an atom: a literal
// that any match of the string must contain (the text of a text string, its
// UTF-16 form for wide strings, the longest run of fixed bytes of a hex
// string, a literal every match of a regular expression needs). The caller
// searches a file for the atoms (ignoring ASCII case, which only finds
// more) and asks Possible: each rule's condition is evaluated in
// three-valued logic where a string whose atom is absent is false, a
// string without an atom and anything Possible does not model (modules,
// loops, offsets, references to other rules) may be true, and filesize,
// filename, filepath and extension comparisons are exact. A file is
// skipped only when every rule is false. Rules the parser does not
// understand make Parse fail, and the caller then scans every file.
package prefilter

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"strconv"
	"strings"
)

// Atom is a literal the caller searches files for; its id is its index in
// Set.Atoms.
type Atom struct {
	Text string
}

// Set is a parsed rule set.
type Set struct {
	Atoms []Atom
	rules []*rule
	ids   map[string]int
}

// File is what Possible knows about a file besides its atoms.
type File struct {
	Size int64
	// Name, Path and Ext are the YARA externals filename, filepath (the
	// directory) and extension.
	Name, Path, Ext string
}

type rule struct {
	name    string
	private bool
	strs    map[string][]int // $id -> atom ids (a match contains one); none: may match anywhere
	order   []string         // string ids in source order
	cond    node
}

// ErrUnsupported is wrapped by Parse's errors for constructs it does not
// model.
var ErrUnsupported = errors.New("prefilter: unsupported")

// Parse analyses YARA rule sources (one set compiled together).
func Parse(srcs ...[]byte) (*Set, error) {
	s := &Set{ids: map[string]int{}}
	for _, src := range srcs {
		if err := s.parse(string(src)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Possible reports whether some non-private rule may match a file with
// these facts, seen telling which atoms it contains.
func (s *Set) Possible(f File, seen func(atom int) bool) bool {
	for _, r := range s.rules {
		if r.private {
			continue
		}
		if r.cond.eval(&env{f: f, r: r, seen: seen}) != vFalse {
			return true
		}
	}
	return false
}

func (s *Set) atom(text string) int {
	if id, ok := s.ids[text]; ok {
		return id
	}
	s.ids[text] = len(s.Atoms)
	s.Atoms = append(s.Atoms, Atom{Text: text})
	return len(s.Atoms) - 1
}

// ---- source parsing ------------------------------------------------------

type parser struct {
	src string
	pos int
}

func (p *parser) fail(format string, a ...any) error {
	line := strings.Count(p.src[:min(p.pos, len(p.src))], "\n") + 1
	return fmt.Errorf("%w: line %d: %s", ErrUnsupported, line, fmt.Sprintf(format, a...))
}

// skip passes white space and comments.
func (p *parser) skip() {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.pos++
		case strings.HasPrefix(p.src[p.pos:], "//"):
			if i := strings.IndexByte(p.src[p.pos:], '\n'); i >= 0 {
				p.pos += i + 1
			} else {
				p.pos = len(p.src)
			}
		case strings.HasPrefix(p.src[p.pos:], "/*"):
			if i := strings.Index(p.src[p.pos+2:], "*/"); i >= 0 {
				p.pos += i + 4
			} else {
				p.pos = len(p.src)
			}
		default:
			return
		}
	}
}

func isIdent(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func (p *parser) ident() string {
	p.skip()
	i := p.pos
	for p.pos < len(p.src) && isIdent(p.src[p.pos]) {
		p.pos++
	}
	return p.src[i:p.pos]
}

func (p *parser) peek(s string) bool {
	p.skip()
	return strings.HasPrefix(p.src[p.pos:], s)
}

func (p *parser) expect(s string) error {
	if !p.peek(s) {
		return p.fail("want %q", s)
	}
	p.pos += len(s)
	return nil
}

// quoted reads a "..." string (the opening quote at pos) and returns its
// raw text between the quotes.
func (p *parser) quoted() (string, error) {
	start := p.pos + 1
	for i := start; i < len(p.src); i++ {
		switch p.src[i] {
		case '\\':
			i++
		case '"':
			p.pos = i + 1
			return p.src[start:i], nil
		case '\n':
			return "", p.fail("newline in string")
		}
	}
	return "", p.fail("unterminated string")
}

func (s *Set) parse(src string) error {
	p := &parser{src: src}
	for {
		p.skip()
		if p.pos >= len(p.src) {
			return nil
		}
		word := p.ident()
		switch word {
		case "import":
			p.skip()
			if p.pos >= len(p.src) || p.src[p.pos] != '"' {
				return p.fail("import without a module name")
			}
			if _, err := p.quoted(); err != nil {
				return err
			}
			continue
		case "include":
			return p.fail("include directives are not followed")
		}
		r := &rule{strs: map[string][]int{}}
		for word == "private" || word == "global" {
			r.private = r.private || word == "private"
			word = p.ident()
		}
		if word != "rule" {
			return p.fail("want a rule, got %q", word)
		}
		if r.name = p.ident(); r.name == "" {
			return p.fail("rule without a name")
		}
		if p.peek(":") { // tags
			p.pos++
			for !p.peek("{") {
				if p.ident() == "" {
					return p.fail("bad tag list")
				}
			}
		}
		if err := p.expect("{"); err != nil {
			return err
		}
		if err := s.body(p, r); err != nil {
			return fmt.Errorf("rule %s: %w", r.name, err)
		}
		s.rules = append(s.rules, r)
	}
}

// body parses meta:, strings: and condition: up to the rule's closing brace.
func (s *Set) body(p *parser, r *rule) error {
	if p.peek("meta") {
		p.ident()
		if err := p.expect(":"); err != nil {
			return err
		}
		for !p.peek("strings") && !p.peek("condition") {
			if p.ident() == "" {
				return p.fail("bad meta entry")
			}
			if err := p.expect("="); err != nil {
				return err
			}
			p.skip()
			switch {
			case p.pos < len(p.src) && p.src[p.pos] == '"':
				if _, err := p.quoted(); err != nil {
					return err
				}
			default:
				if p.peek("-") {
					p.pos++
				}
				if p.ident() == "" {
					return p.fail("bad meta value")
				}
			}
		}
	}
	if p.peek("strings") {
		p.ident()
		if err := p.expect(":"); err != nil {
			return err
		}
		for p.peek("$") {
			p.pos++
			id := "$" + p.ident()
			if err := p.expect("="); err != nil {
				return err
			}
			atoms, err := s.stringAtoms(p)
			if err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			if _, dup := r.strs[id]; dup {
				return p.fail("string %s defined twice", id)
			}
			r.strs[id] = atoms
			r.order = append(r.order, id)
		}
	}
	if p.ident() != "condition" {
		return p.fail("want condition")
	}
	if err := p.expect(":"); err != nil {
		return err
	}
	toks, err := p.condition()
	if err != nil {
		return err
	}
	c := &cparser{toks: toks, r: r}
	if r.cond, err = c.expr(); err != nil {
		return err
	}
	if c.i != len(c.toks) {
		return fmt.Errorf("%w: condition: unexpected %q", ErrUnsupported, c.toks[c.i])
	}
	return nil
}

// stringAtoms parses a string's value and modifiers and returns its atoms'
// ids (every match contains one of them), or none when it has none.
func (s *Set) stringAtoms(p *parser) ([]int, error) {
	p.skip()
	if p.pos >= len(p.src) {
		return nil, p.fail("missing string value")
	}
	var lits []string // alternatives: a match contains one of them
	switch p.src[p.pos] {
	case '"':
		raw, err := p.quoted()
		if err != nil {
			return nil, err
		}
		text, err := unescape(raw)
		if err != nil {
			return nil, p.fail("%v", err)
		}
		lits = []string{text}
	case '{':
		end := strings.IndexByte(p.src[p.pos:], '}')
		if end < 0 {
			return nil, p.fail("unterminated hex string")
		}
		lit, err := hexAtom(p.src[p.pos+1 : p.pos+end])
		if err != nil {
			return nil, p.fail("%v", err)
		}
		p.pos += end + 1
		lits = []string{lit}
	case '/':
		re, flags, err := p.regex()
		if err != nil {
			return nil, err
		}
		lits = regexAtoms(re, strings.Contains(flags, "s"))
	default:
		return nil, p.fail("unknown string value")
	}
	ascii, wide, none := false, false, false
	for {
		p.skip()
		if p.pos >= len(p.src) || !isIdent(p.src[p.pos]) || p.peek("condition") {
			break
		}
		mod := p.ident()
		if p.peek("(") { // xor(1-255), base64("..."): skip the arguments
			if end := strings.IndexByte(p.src[p.pos:], ')'); end >= 0 {
				p.pos += end + 1
			}
		}
		switch mod {
		case "nocase", "fullword", "private":
		case "ascii":
			ascii = true
		case "wide":
			wide = true
		case "xor", "base64", "base64wide":
			none = true // the bytes in the file are not the literal's
		default:
			return nil, p.fail("unknown string modifier %q", mod)
		}
	}
	for _, l := range lits {
		if len(l) < 2 {
			none = true
		}
	}
	if none || len(lits) == 0 {
		return nil, nil
	}
	if wide {
		n := len(lits)
		for i := 0; i < n; i++ {
			lits = append(lits, toUTF16(lits[i]))
		}
		if !ascii {
			lits = lits[n:]
		}
	}
	ids := make([]int, len(lits))
	for i, l := range lits {
		ids[i] = s.atom(l)
	}
	return ids, nil
}

// regex reads /.../flags starting at pos.
func (p *parser) regex() (string, string, error) {
	start := p.pos + 1
	for i := start; i < len(p.src); i++ {
		switch p.src[i] {
		case '\\':
			i++
		case '/':
			re := p.src[start:i]
			j := i + 1
			for j < len(p.src) && (p.src[j] == 'i' || p.src[j] == 's') {
				j++
			}
			flags := p.src[i+1 : j]
			p.pos = j
			return re, flags, nil
		case '\n':
			return "", "", p.fail("newline in regular expression")
		}
	}
	return "", "", p.fail("unterminated regular expression")
}

// condition returns the condition's tokens up to the rule's closing brace.
func (p *parser) condition() ([]string, error) {
	var toks []string
	for {
		p.skip()
		if p.pos >= len(p.src) {
			return nil, p.fail("rule not closed")
		}
		c := p.src[p.pos]
		switch {
		case c == '}':
			p.pos++
			return toks, nil
		case c == '"':
			start := p.pos
			if _, err := p.quoted(); err != nil {
				return nil, err
			}
			toks = append(toks, p.src[start:p.pos])
		case c == '/':
			// Only after "matches" (division is backslash in YARA).
			start := p.pos
			if _, _, err := p.regex(); err != nil {
				return nil, err
			}
			toks = append(toks, p.src[start:p.pos])
		case c == '$' || c == '#' || c == '@' || c == '!' && !strings.HasPrefix(p.src[p.pos:], "!="):
			start := p.pos
			p.pos++
			for p.pos < len(p.src) && (isIdent(p.src[p.pos]) || p.src[p.pos] == '*') {
				p.pos++
			}
			toks = append(toks, p.src[start:p.pos])
		case isIdent(c):
			start := p.pos
			for p.pos < len(p.src) && (isIdent(p.src[p.pos]) || p.src[p.pos] == '.') {
				p.pos++
			}
			toks = append(toks, p.src[start:p.pos])
		default:
			// Operators: two-character ones first.
			for _, op := range []string{"==", "!=", "<=", ">=", "<<", ">>", ".."} {
				if strings.HasPrefix(p.src[p.pos:], op) {
					toks = append(toks, op)
					p.pos += 2
					goto next
				}
			}
			toks = append(toks, string(c))
			p.pos++
		next:
		}
	}
}

// unescape decodes a YARA text string's escapes.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i >= len(s) {
			return "", errors.New("trailing backslash")
		}
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\', '"':
			b.WriteByte(s[i])
		case 'x':
			if i+2 >= len(s) {
				return "", errors.New("short \\x escape")
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", fmt.Errorf("bad \\x escape: %w", err)
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			return "", fmt.Errorf("unknown escape \\%c", s[i])
		}
	}
	return b.String(), nil
}

// hexAtom returns the longest run of fixed bytes of a hex string outside
// alternatives, or "".
func hexAtom(body string) (string, error) {
	var best, cur []byte
	depth := 0
	f := strings.Fields(strings.NewReplacer("(", " ( ", ")", " ) ", "|", " | ", "[", " [", "]", "] ").Replace(body))
	for i := 0; i < len(f); i++ {
		t := f[i]
		flush := func() {
			if len(cur) > len(best) {
				best = append(best[:0], cur...)
			}
			cur = cur[:0]
		}
		switch {
		case t == "(":
			flush()
			depth++
		case t == ")":
			depth--
		case t == "|":
		case strings.HasPrefix(t, "["):
			flush()
			for !strings.HasSuffix(f[i], "]") && i+1 < len(f) {
				i++
			}
		case len(t)%2 == 0 && !strings.ContainsAny(t, "?~"):
			// Byte pairs (written together or apart).
			for j := 0; j < len(t); j += 2 {
				v, err := strconv.ParseUint(t[j:j+2], 16, 8)
				if err != nil {
					return "", fmt.Errorf("bad hex byte %q", t[j:j+2])
				}
				if depth == 0 {
					cur = append(cur, byte(v))
				}
			}
		default: // wildcards, nibbles, negations
			flush()
		}
		if i == len(f)-1 {
			flush()
		}
	}
	if depth != 0 {
		return "", errors.New("unbalanced parentheses in hex string")
	}
	if len(cur) > len(best) {
		best = cur
	}
	return string(best), nil
}

// regexAtoms returns literals one of which every match of re contains, or
// nil when it finds none (or re is not Go syntax, or a literal is not
// ASCII: YARA reads \xNN as a byte where Go reads a rune).
func regexAtoms(re string, dotall bool) []string {
	flags := syntax.Perl
	if dotall {
		flags |= syntax.DotNL
	}
	t, err := syntax.Parse(re, flags)
	if err != nil {
		return nil
	}
	set := required(t.Simplify())
	for _, lit := range set {
		for i := 0; i < len(lit); i++ {
			if lit[i] >= 0x80 {
				return nil
			}
		}
	}
	return set
}

// maxAlternatives bounds the literals kept for one string.
const maxAlternatives = 32

// required returns literals one of which every match of t contains (nil:
// none known).
func required(t *syntax.Regexp) []string {
	switch t.Op {
	case syntax.OpLiteral:
		return []string{string(t.Rune)}
	case syntax.OpCharClass:
		if lit, ok := singleRune(t); ok {
			return []string{lit}
		}
	case syntax.OpCapture, syntax.OpPlus:
		return required(t.Sub[0])
	case syntax.OpRepeat:
		if t.Min >= 1 {
			return required(t.Sub[0])
		}
	case syntax.OpAlternate:
		return union(t.Sub, required)
	case syntax.OpConcat:
		var best []string
		consider := func(c []string) {
			if shortest(c) > shortest(best) || shortest(c) == shortest(best) && len(c) < len(best) {
				best = c
			}
		}
		// Consecutive parts with a small exact set of strings multiply
		// out ("xmr" then "ig|-stak": "xmrig|xmr-stak").
		cur := []string{""}
		for _, sub := range t.Sub {
			if ex := exact(sub); ex != nil && len(cur)*len(ex) <= maxAlternatives {
				cur = cross(cur, ex)
				continue
			}
			consider(cur)
			cur = []string{""}
			if ex := exact(sub); ex != nil {
				cur = ex
				continue
			}
			consider(required(sub))
		}
		consider(cur)
		if shortest(best) == 0 {
			return nil
		}
		return best
	}
	return nil
}

// union is the strings of every alternative (nil when one has none, or
// there are too many).
func union(subs []*syntax.Regexp, of func(*syntax.Regexp) []string) []string {
	var out []string
	for _, sub := range subs {
		r := of(sub)
		if r == nil || len(out)+len(r) > maxAlternatives {
			return nil
		}
		out = append(out, r...)
	}
	return out
}

// cross is every a followed by every b.
func cross(as, bs []string) []string {
	out := make([]string, 0, len(as)*len(bs))
	for _, a := range as {
		for _, b := range bs {
			out = append(out, a+b)
		}
	}
	return out
}

// exact returns every string t matches when they are few (nil otherwise).
func exact(t *syntax.Regexp) []string {
	switch t.Op {
	case syntax.OpLiteral:
		return []string{string(t.Rune)}
	case syntax.OpEmptyMatch:
		return []string{""}
	case syntax.OpCharClass:
		if lit, ok := singleRune(t); ok {
			return []string{lit}
		}
	case syntax.OpCapture:
		return exact(t.Sub[0])
	case syntax.OpQuest:
		if ex := exact(t.Sub[0]); ex != nil && len(ex) < maxAlternatives {
			return append(ex, "")
		}
	case syntax.OpAlternate:
		return union(t.Sub, exact)
	case syntax.OpConcat:
		out := []string{""}
		for _, sub := range t.Sub {
			ex := exact(sub)
			if ex == nil || len(out)*len(ex) > maxAlternatives {
				return nil
			}
			out = cross(out, ex)
		}
		return out
	}
	return nil
}

// singleRune reports a character class of one character ("[a]"), or of one
// letter in both cases (which the case-folding search treats alike).
func singleRune(t *syntax.Regexp) (string, bool) {
	if t.Op != syntax.OpCharClass {
		return "", false
	}
	r := t.Rune
	if len(r) == 2 && r[0] == r[1] {
		return string(r[0]), true
	}
	if len(r) == 4 && r[0] == r[1] && r[2] == r[3] && r[0] < 0x80 && r[2] < 0x80 &&
		strings.EqualFold(string(r[0]), string(r[2])) {
		return strings.ToLower(string(r[0])), true
	}
	return "", false
}

// shortest is the length of the shortest literal (0 for none).
func shortest(set []string) int {
	if len(set) == 0 {
		return 0
	}
	n := len(set[0])
	for _, s := range set[1:] {
		n = min(n, len(s))
	}
	return n
}

// toUTF16 is YARA's wide form: every byte followed by a zero byte.
func toUTF16(s string) string {
	b := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return string(b)
}
