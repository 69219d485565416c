package webshell

import (
	"bytes"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Points of each signal. See the package documentation for the rules.
const (
	ptRequestToSink     = 70 // request input passed straight to a code or command sink
	ptRequestCallsFunc  = 70 // request input used as the function to call
	ptTaintedToSink     = 55 // a variable holding request input passed to a sink
	ptCallbackByRequest = 60 // call_user_func & co. with a callback from the request
	ptDecodeToEval      = 40 // decoded data evaluated as code (+10 per extra decoder, up to +20)
	ptDecodeExtra       = 10
	ptDecodeExtraMax    = 20
	ptLoader            = 50 // request bytes decoded or decrypted and loaded as code
	ptReverseShell      = 50 // socket + descriptors to a process + shell
	ptHiddenName        = 35 // a sensitive function name hidden by escapes, chr() or concatenation
	ptDangerousCallback = 35 // a dangerous function passed as a callback by name
	ptRequestInclude    = 35 // request input decides which file is included as code
	ptTaintedInclude    = 20
	ptMarker            = 25 // name or banner of a known webshell family
	ptCoOccurrence      = 10 // request input and a sink in the same file, not connected
	ptLongString10K     = 25 // an encoded string of 10 KiB or more
	ptLongString1K      = 15 // an encoded string of 1 KiB or more
	ptEntropy           = 10 // file entropy >= 5.6 bits per byte
	ptEscapes           = 10 // dense \xNN escapes
	ptChrChain          = 10 // long chr() chains
	ptSuppressed        = 10 // @eval / @assert
	ptShellString       = 15 // a template page that runs commands and names a shell
)

// Severity thresholds on the score (capped at 100).
const (
	scoreCritical = 70
	scoreHigh     = 50
	scoreMedium   = 30
)

// signal is one reason for the score.
type signal struct {
	name     string // stable identifier, e.g. "request-to-sink"
	points   int
	off, end int // evidence in the file
	detail   string
	strong   bool // a primary signal that lets supporting ones count
}

// verdict is the result of scoring one file.
type verdict struct {
	score   int
	signals []signal
}

// file is one file being scored.
type file struct {
	l   *lang
	raw []byte           // as read
	txt []byte           // what patterns match: lower-cased for folded languages
	low []byte           // always lower-cased
	occ map[string][]int // literal -> offsets in low (see occurrences)
	cls []byte
	// hiddenSrcs are superglobal names spelled with escapes or chr():
	// request input the source patterns cannot see.
	hiddenSrcs [][2]int
	// firstSrc caches anySource: -2 unknown, -1 none, else the offset.
	firstSrc, firstSrcEnd int

	tainted, decoded, callable vars
	depth                      int
	sigs                       map[string]signal
}

// score analyses one file's content as language l.
func score(l *lang, raw []byte) verdict { return scoreDepth(l, raw, 0) }

// scoreDepth scores raw; depth counts how deep inside decoded payloads it
// is (payloads of payloads are not decoded).
func scoreDepth(l *lang, raw []byte, depth int) verdict {
	f := &file{depth: depth, l: l, raw: raw, cls: make([]byte, len(raw)), sigs: map[string]signal{},
		tainted: vars{}, decoded: vars{}, callable: vars{}, firstSrc: -2}
	l.lex(raw, f.cls)
	f.low = asciiLower(raw)
	f.txt = raw
	if l.fold {
		f.txt = f.low
	}
	hidden := append(f.hiddenNames(), f.payloads()...)
	f.track(hidden)
	f.sinks()
	if l == langPHP {
		f.phpCalls()
		f.backticks()
		f.pregReplaceE()
	}
	f.loader()
	f.reverseShell()
	f.marker()
	f.supporting()

	var v verdict
	for _, s := range f.sigs {
		v.signals = append(v.signals, s)
		v.score += s.points
	}
	v.score = min(v.score, 100)
	sort.Slice(v.signals, func(i, j int) bool {
		if v.signals[i].points != v.signals[j].points {
			return v.signals[i].points > v.signals[j].points
		}
		return v.signals[i].name < v.signals[j].name
	})
	return v
}

// Bounds that keep hostile files cheap.
const (
	maxCandidates = 1 << 16 // literal occurrences considered per pattern
	maxSinkCalls  = 4096    // sink calls whose arguments are examined
	maxAssign     = 1 << 14 // assignments followed
	maxVars       = 1024    // variables per kind
	windowFwd     = 256     // bytes a match may run from its literal
)

// find returns the matches (submatch indexes) of the anchored pattern re
// at occurrences of the literals in the lower-cased file that pass the
// context check. Each literal begins a match, so the pattern runs once per
// candidate on a short window; candidates inside a previous match are
// skipped. Work is linear in the file and the number of candidates.
func (f *file) find(re *regexp.Regexp, lits []string, before ctxRule) [][]int {
	var pos []int
	for _, lit := range lits {
		occ := f.occurrences(lit)
		pos = append(pos, occ[:min(len(occ), maxCandidates-len(pos))]...)
	}
	if len(pos) == 0 {
		return nil
	}
	sort.Ints(pos)
	var out [][]int
	end := -1
	for n, p := range pos {
		if p < end || n > 0 && p == pos[n-1] || !f.preceded(p, before) {
			continue
		}
		m := re.FindSubmatchIndex(f.txt[p:min(len(f.txt), p+windowFwd)])
		if m == nil {
			continue
		}
		for i := range m {
			if m[i] >= 0 {
				m[i] += p
			}
		}
		out = append(out, m)
		end = m[1]
	}
	return out
}

// preceded checks the text before p against a context rule.
func (f *file) preceded(p int, c ctxRule) bool {
	t := f.low
	switch c.kind {
	case ctxWord:
		return p == 0 || !isIdent(t[p-1]) && strings.IndexByte(c.not, t[p-1]) < 0
	case ctxDot:
		j := p - 1
		for j >= 0 && (t[j] == ' ' || t[j] == '\t') {
			j--
		}
		if j < 0 || t[j] != '.' {
			return false
		}
		j--
		for j >= 0 && (t[j] == ' ' || t[j] == '\t' || t[j] == '\n' || t[j] == '\r') {
			j--
		}
		return j >= 0 && (isIdent(t[j]) || t[j] == ')')
	case ctxNew:
		if p > 0 && isIdent(t[p-1]) {
			return false
		}
		j := p - 1
		for j >= 0 && (isIdent(t[j]) || t[j] == '.') { // a package: java.lang., system.diagnostics.
			j--
		}
		for j >= 0 && (t[j] == ' ' || t[j] == '\t') {
			j--
		}
		return j >= 2 && string(t[j-2:j+1]) == "new" && (j < 3 || !isIdent(t[j-3]))
	}
	return true
}

// add records a signal, keeping the strongest of each name.
func (f *file) add(s signal) {
	if old, ok := f.sigs[s.name]; ok && old.points >= s.points {
		return
	}
	f.sigs[s.name] = s
}

func (f *file) strong() bool {
	for _, s := range f.sigs {
		if s.strong {
			return true
		}
	}
	return false
}

// hasSource reports whether request input appears in [a, b) outside
// comments. The source patterns run only on the region, and only when it
// contains one of their literals.
func (f *file) hasSource(a, b int) bool {
	for _, r := range f.hiddenSrcs {
		if r[0] >= a && r[1] <= b {
			return true
		}
	}
	return f.matchIn(f.l.sources, f.l.sourceLits, a, b, clComment, false) > 0
}

// matchIn counts matches of re in [a, b) whose start is (want=true) or is
// not (want=false) of class c, running re only when the region holds one of
// the literals.
func (f *file) matchIn(re *regexp.Regexp, lits []string, a, b int, c byte, want bool) int {
	seg := f.low[a:b]
	found := false
	for _, l := range lits {
		if bytes.Contains(seg, []byte(l)) {
			found = true
			break
		}
	}
	if !found {
		return 0
	}
	n := 0
	for _, m := range re.FindAllIndex(f.txt[a:b], -1) {
		if (f.cls[a+m[0]] == c) == want {
			n++
		}
	}
	return n
}

// anySource returns the first request input outside comments, or -1.
func (f *file) anySource() (int, int) {
	if f.firstSrc == -2 {
		f.firstSrc, f.firstSrcEnd = -1, -1
		for _, m := range f.find(f.l.sourcesAt, f.l.sourceLits, ctxRule{}) {
			if f.cls[m[0]] != clComment {
				f.firstSrc, f.firstSrcEnd = m[0], m[1]
				break
			}
		}
		for _, r := range f.hiddenSrcs {
			if f.firstSrc < 0 || r[0] < f.firstSrc {
				f.firstSrc, f.firstSrcEnd = r[0], r[1]
			}
		}
	}
	return f.firstSrc, f.firstSrcEnd
}

// varReach is how far after an assignment a variable is followed: files
// have no scopes here, and a name like "data" assigned in one function says
// nothing about "data" in another far below.
const varReach = 8 << 10

// vars maps variable names to the ends of the assignments that gave them a
// property (request input, decoded data, a dangerous function's name).
type vars map[string][]int

// add records an assignment ending at end.
func (v vars) add(name string, end int) {
	s := v[name]
	i := sort.SearchInts(s, end)
	if i < len(s) && s[i] == end {
		return
	}
	s = append(s, 0)
	copy(s[i+1:], s[i:])
	s[i] = end
	v[name] = s
}

// at reports whether name, used at p, holds the property: an assignment
// giving it ended before p, at most varReach before.
func (v vars) at(name string, p int) bool {
	s := v[name]
	i := sort.SearchInts(s, p+1)
	return i > 0 && p-s[i-1] <= varReach
}

// hasVar reports whether one of vars is used in [a, b) as code (or, in
// PHP, interpolated in a string).
func (f *file) hasVar(vars vars, a, b int) (string, bool) {
	if len(vars) == 0 {
		return "", false
	}
	for i := a; i < b; i++ {
		c := f.txt[i]
		start := i
		if f.l.dollarVars {
			if c != '$' {
				continue
			}
			i++
		} else if !isIdent(c) || i > 0 && (isIdent(f.txt[i-1]) || f.txt[i-1] == '.') {
			continue
		}
		for i < b && isIdent(f.txt[i]) {
			i++
		}
		if i == start || f.cls[start] == clComment || f.cls[start] == clString && !f.l.dollarVars {
			i--
			continue
		}
		if v := string(f.txt[start:i]); vars.at(v, start) {
			return v, true
		}
		i--
	}
	return "", false
}

// decoders counts decoder calls in code in [a, b).
func (f *file) decoders(a, b int) int {
	return f.matchIn(f.l.decoders, f.l.decoderLits, a, b, clCode, true)
}

// stmtEnd returns the end of the statement starting at i: the first of the
// language's terminators that is code, at most limit bytes on.
func (f *file) stmtEnd(i, limit int) int {
	end := min(len(f.raw), i+limit)
	depth := 0
	for j := i; j < end; j++ {
		if f.cls[j] != clCode {
			continue
		}
		c := f.raw[j]
		switch c {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth < 0 {
				return j
			}
		}
		if strings.IndexByte(f.l.stmtEnd, c) >= 0 && (depth == 0 || c == ';') {
			return j
		}
		if c == '%' && j+1 < len(f.raw) && f.raw[j+1] == '>' || c == '?' && j+1 < len(f.raw) && f.raw[j+1] == '>' {
			return j
		}
	}
	return end
}

// argument returns the extent of the argument of a call whose name ends at
// i: the balanced parentheses that follow, or the rest of the statement for
// calls without them (include $x; execute request("x")).
func (f *file) argument(i int) (int, int) {
	j := i
	for j < len(f.raw) && (f.raw[j] == ' ' || f.raw[j] == '\t') {
		j++
	}
	if j >= len(f.raw) || f.raw[j] != '(' {
		return i, f.stmtEnd(i, 512)
	}
	end := min(len(f.raw), j+4096)
	depth := 0
	for k := j; k < end; k++ {
		if f.cls[k] != clCode {
			continue
		}
		switch f.raw[k] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return j + 1, k
			}
		}
	}
	return j + 1, end
}

// closing returns the end of a call whose argument ends at b: after the
// closing parenthesis, if there is one.
func (f *file) closing(b int) int {
	if b < len(f.raw) && f.raw[b] == ')' {
		return b + 1
	}
	return b
}

// splitArgs splits [a, b) at top-level commas.
func (f *file) splitArgs(a, b int) [][2]int {
	var out [][2]int
	depth, s := 0, a
	for k := a; k < b; k++ {
		if f.cls[k] != clCode {
			continue
		}
		switch f.raw[k] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, [2]int{s, k})
				s = k + 1
			}
		}
	}
	return append(out, [2]int{s, b})
}

// definition reports whether the name at i is being defined, not called
// ("function system(", "def exec(").
func (f *file) definition(i int) bool {
	pre := bytes.TrimRight(f.low[max(0, i-16):i], " \t\r\n&")
	for _, kw := range []string{"function", "def", "sub", "void"} {
		if bytes.HasSuffix(pre, []byte(kw)) && (len(pre) == len(kw) || !isIdent(pre[len(pre)-len(kw)-1])) {
			return true
		}
	}
	return false
}

type assignment struct {
	name     string
	rhs, end int
}

// track finds variables holding request input, decoded data, or the name of
// a dangerous function, following assignments for three rounds.
func (f *file) track(hidden [][2]int) {
	as := f.assignments()
	done := make([][3]bool, len(as))
	for round := 0; round < 3; round++ {
		changed := false
		for i, a := range as {
			if !done[i][0] && len(f.tainted) < maxVars {
				_, t := f.hasVar(f.tainted, a.rhs, a.end)
				if t || f.hasSource(a.rhs, a.end) {
					f.tainted.add(a.name, a.end)
					done[i][0], changed = true, true
				}
			}
			if !done[i][1] && len(f.decoded) < maxVars {
				_, d := f.hasVar(f.decoded, a.rhs, a.end)
				if d || f.decoders(a.rhs, a.end) > 0 {
					f.decoded.add(a.name, a.end)
					done[i][1], changed = true, true
				}
			}
			if !done[i][2] && len(f.callable) < maxVars {
				_, c := f.hasVar(f.callable, a.rhs, a.end)
				if c || f.namesDangerous(a.rhs, a.end) || overlaps(hidden, a.rhs, a.end) {
					f.callable.add(a.name, a.end)
					done[i][2], changed = true, true
				}
			}
		}
		if !changed {
			break
		}
	}
}

// assignments finds "name = value", "name[...] = value", "name .= value"
// and "name += value" in code.
func (f *file) assignments() []assignment {
	var as []assignment
	t := f.txt
	for i := 0; i < len(t) && len(as) < maxAssign; i++ {
		if t[i] != '=' || f.cls[i] != clCode {
			continue
		}
		if i+1 < len(t) && (t[i+1] == '=' || t[i+1] == '>' || t[i+1] == '~') {
			i++
			continue // ==, =>, =~
		}
		j := i - 1
		if j >= 0 && (t[j] == '.' || t[j] == '+') {
			j--
		} else if j >= 0 && strings.IndexByte("=!<>-*/%&|^?:", t[j]) >= 0 {
			continue
		}
		for j >= 0 && (t[j] == ' ' || t[j] == '\t') {
			j--
		}
		// Skip one or more [index] groups.
		for n := 0; j >= 0 && t[j] == ']' && n < 4; n++ {
			k := bytes.LastIndexByte(t[max(0, j-80):j], '[')
			if k < 0 {
				break
			}
			j = max(0, j-80) + k - 1
			for j >= 0 && (t[j] == ' ' || t[j] == '\t') {
				j--
			}
		}
		e := j + 1
		for j >= 0 && isIdent(t[j]) {
			j--
		}
		s := j + 1
		if s == e || '0' <= t[s] && t[s] <= '9' {
			continue
		}
		if f.l.dollarVars {
			if j < 0 || t[j] != '$' {
				continue
			}
			s = j
		} else if j >= 0 && (t[j] == '.' || t[j] == '$') {
			continue // an attribute, not a variable
		}
		if f.cls[s] != clCode {
			continue
		}
		as = append(as, assignment{name: string(t[s:e]), rhs: i + 1, end: f.stmtEnd(i+1, 1024)})
	}
	return as
}

func overlaps(rs [][2]int, a, b int) bool {
	for _, r := range rs {
		if r[0] < b && r[1] > a {
			return true
		}
	}
	return false
}

// dangerous are functions whose name passed around as a string is a way to
// call them unseen.
var dangerous = map[string]bool{
	"eval": true, "assert": true, "system": true, "exec": true, "shell_exec": true, "passthru": true,
	"popen": true, "proc_open": true, "pcntl_exec": true, "create_function": true,
}

var literalRe = regexp.MustCompile(`^\s*['"]([a-z_]+)['"]\s*$`)

// namesDangerous reports whether [a, b) is just a string literal naming a
// dangerous function ('system').
func (f *file) namesDangerous(a, b int) bool {
	m := literalRe.FindSubmatch(f.low[a:b])
	return m != nil && dangerous[string(m[1])]
}

// snippet bounds evidence to 200 bytes of the file.
func (f *file) snippet(a, b int) (int, int) {
	return a, max(a, min(b, a+200, len(f.raw)))
}

// sinks checks every sink call's argument.
func (f *file) sinks() {
	anySink, calls := -1, 0
	for _, s := range f.l.sinks {
		if s.needs != "" && len(f.occurrences(s.needs)) == 0 {
			continue
		}
		for _, m := range f.find(s.re, s.lits, s.before) {
			if calls++; calls > maxSinkCalls {
				break
			}
			ns, ne := m[2], m[3]
			if f.cls[ns] != clCode || f.definition(ns) {
				continue
			}
			name := string(f.txt[ns:ne])
			a, b := f.argument(ne)
			if anySink < 0 && s.kind != sinkCallback && s.kind != sinkInclude {
				anySink = ns
			}
			f.checkSink(s.kind, name, ns, a, b)
		}
	}
	if s, e := f.anySource(); anySink >= 0 && s >= 0 {
		f.add(signal{name: "request-and-sink", points: ptCoOccurrence, off: s, end: e,
			detail: "request input and a code or command sink in the same file"})
	}
}

func (f *file) checkSink(kind sinkKind, name string, ns, a, b int) {
	src := f.hasSource(a, b)
	tv, taint := f.hasVar(f.tainted, a, b)
	off, end := f.snippet(ns, f.closing(b))
	switch kind {
	case sinkCode, sinkCmd, sinkLoader:
		switch {
		case src:
			f.add(signal{name: "request-to-sink", points: ptRequestToSink, off: off, end: end, strong: true,
				detail: "request input reaches " + name + "() (" + kind.String() + ")"})
		case taint:
			f.add(signal{name: "request-to-sink", points: ptTaintedToSink, off: off, end: end, strong: true,
				detail: "request input reaches " + name + "() through " + tv + " (" + kind.String() + ")"})
		}
		if kind != sinkCmd {
			n := f.decoders(a, b)
			dv, dec := f.hasVar(f.decoded, a, b)
			if n > 0 || dec {
				pts := ptDecodeToEval + min(max(n-1, 0)*ptDecodeExtra, ptDecodeExtraMax)
				d := "decoded data reaches " + name + "()"
				if dec && n == 0 {
					d += " through " + dv
				}
				f.add(signal{name: "decode-to-eval", points: pts, off: off, end: end, strong: true, detail: d})
			}
		}
	case sinkInclude:
		switch {
		case src:
			f.add(signal{name: "request-include", points: ptRequestInclude, off: off, end: end, strong: true,
				detail: "request input decides the file " + name + " runs"})
		case taint:
			f.add(signal{name: "request-include", points: ptTaintedInclude, off: off, end: end,
				detail: "request input decides, through " + tv + ", the file " + name + " runs"})
		}
	case sinkCallback:
		args := f.splitArgs(a, b)
		ci := 0
		switch name {
		case "array_filter", "array_walk", "array_walk_recursive", "array_reduce", "usort", "uasort", "uksort", "iterator_apply":
			ci = 1
		}
		if ci >= len(args) {
			return
		}
		cb := args[ci]
		_, cbTaint := f.hasVar(f.tainted, cb[0], cb[1])
		_, cbCallable := f.hasVar(f.callable, cb[0], cb[1])
		switch {
		case f.hasSource(cb[0], cb[1]) || cbTaint:
			f.add(signal{name: "request-calls-function", points: ptCallbackByRequest, off: off, end: end, strong: true,
				detail: name + "() calls a function named by the request"})
		case f.namesDangerous(cb[0], cb[1]) || cbCallable:
			pts, d := ptDangerousCallback, name+"() calls "+strings.TrimSpace(string(f.raw[cb[0]:cb[1]]))+" by name"
			if src || taint {
				pts, d = ptRequestToSink, d+" on request input"
			}
			f.add(signal{name: "dangerous-callback", points: pts, off: off, end: end, strong: true, detail: d})
		}
	}
}

var phpSuperCall = at(`\$_(?:get|post|request|cookie|server)\s*\[[^\]]{0,64}\]\s*\(`)

// phpCalls finds functions called through request values or variables.
func (f *file) phpCalls() {
	for _, m := range f.find(phpSuperCall, []string{"$_"}, ctxRule{}) {
		if f.cls[m[0]] == clCode {
			_, b := f.argument(m[1] - 1)
			off, end := f.snippet(m[0], f.closing(b))
			f.add(signal{name: "request-calls-function", points: ptRequestCallsFunc, off: off, end: end, strong: true,
				detail: "a request value is called as a function"})
		}
	}
	if len(f.tainted)+len(f.callable) == 0 {
		return
	}
	calls := 0
	for vs := 0; vs < len(f.low) && calls < maxSinkCalls; vs++ {
		if f.low[vs] != '$' || f.cls[vs] != clCode {
			continue
		}
		ve := vs + 1
		for ve < len(f.low) && isIdent(f.low[ve]) {
			ve++
		}
		v := string(f.low[vs:ve])
		k := ve
		for k < len(f.low) && (f.low[k] == ' ' || f.low[k] == '\t') {
			k++
		}
		if ve == vs+1 || k >= len(f.low) || f.low[k] != '(' || !f.tainted.at(v, vs) && !f.callable.at(v, vs) {
			continue
		}
		pre := bytes.TrimRight(f.low[max(0, vs-8):vs], " \t")
		if bytes.HasSuffix(pre, []byte("->")) || bytes.HasSuffix(pre, []byte("::")) || bytes.HasSuffix(pre, []byte("new")) || bytes.HasSuffix(pre, []byte("function")) {
			continue
		}
		calls++
		a, b := f.argument(ve)
		off, end := f.snippet(vs, f.closing(b))
		src := f.hasSource(a, b)
		_, taint := f.hasVar(f.tainted, a, b)
		switch {
		case f.tainted.at(v, vs):
			f.add(signal{name: "request-calls-function", points: ptRequestCallsFunc, off: off, end: end, strong: true,
				detail: "the function " + v + "() is named by the request"})
		case src || taint:
			f.add(signal{name: "request-to-sink", points: ptRequestToSink, off: off, end: end, strong: true,
				detail: "request input reaches " + v + "(), which holds a dangerous function's name"})
		default:
			f.add(signal{name: "dangerous-callback", points: ptDangerousCallback, off: off, end: end, strong: true,
				detail: v + "() holds a dangerous function's name"})
		}
	}
}

// backticks: PHP runs `...` as a shell command.
func (f *file) backticks() {
	for i := 0; i < len(f.raw); i++ {
		if f.raw[i] != '`' || f.cls[i] != clString || i > 0 && f.cls[i-1] == clString {
			continue
		}
		j := i + 1
		for j < len(f.raw) && f.cls[j] == clString && f.raw[j] != '`' {
			j++
		}
		_, taint := f.hasVar(f.tainted, i, j)
		if f.hasSource(i, j) || taint {
			off, end := f.snippet(i, j+1)
			f.add(signal{name: "request-to-sink", points: ptRequestToSink, off: off, end: end, strong: true,
				detail: "request input reaches a `backtick` shell command"})
		}
		i = j
	}
}

var pregRe = at(`(preg_replace|mb_ereg_replace|mb_eregi_replace|preg_filter)\s*\(`)

// pregReplaceE: preg_replace with the /e modifier evaluates the replacement.
func (f *file) pregReplaceE() {
	for _, m := range f.find(pregRe, []string{"preg_replace", "preg_filter", "mb_ereg"}, phpWord) {
		if f.cls[m[2]] != clCode {
			continue
		}
		name := string(f.low[m[2]:m[3]])
		a, b := f.argument(m[3])
		args := f.splitArgs(a, b)
		if len(args) < 2 {
			continue
		}
		lit := bytes.TrimSpace(f.raw[args[0][0]:args[0][1]])
		eval := false
		if len(lit) >= 4 && (lit[0] == '\'' || lit[0] == '"') && lit[len(lit)-1] == lit[0] {
			body := lit[1 : len(lit)-1]
			if strings.HasPrefix(name, "mb_") {
				if len(args) >= 4 {
					opt := bytes.TrimSpace(f.raw[args[3][0]:args[3][1]])
					eval = bytes.ContainsRune(opt, 'e')
				}
			} else if len(body) > 2 {
				delim := body[0]
				if delim == '(' {
					delim = ')'
				} else if delim == '{' {
					delim = '}'
				}
				if k := bytes.LastIndexByte(body[1:], delim); k >= 0 {
					mods := body[1+k+1:]
					eval = len(mods) <= 8 && bytes.IndexFunc(mods, func(r rune) bool { return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') }) < 0 &&
						bytes.ContainsRune(mods, 'e')
				}
			}
		}
		if eval {
			f.checkSink(sinkCode, name+"/e", m[2], a, b)
		}
	}
}

// loader: request bytes decrypted or decoded and loaded as classes or
// assemblies (Behinder, Godzilla) even when the flow runs through helpers.
func (f *file) loader() {
	if s, _ := f.anySource(); f.l.name != "JSP" && f.l.name != "ASP" || s < 0 {
		return
	}
	for _, s := range f.l.sinks {
		if s.kind != sinkLoader {
			continue
		}
		ms := f.find(s.re, s.lits, s.before)
		if len(ms) == 0 || f.cls[ms[0][2]] != clCode || f.decoders(0, len(f.txt)) == 0 {
			continue
		}
		m := ms[0]
		off, end := f.snippet(m[2], m[3]+80)
		f.add(signal{name: "request-code-loading", points: ptLoader, off: off, end: end, strong: true,
			detail: "request data is decoded or decrypted and loaded as code (" + string(f.txt[m[2]:m[3]]) + ")"})
		return
	}
}

// reverseShell: a socket connection, a process given its descriptors and a
// shell.
func (f *file) reverseShell() {
	c := f.firstIn(revConnect, revConnectLits, clCode)
	s := f.firstIn(revSpawn, revSpawnLits, clCode)
	sh := f.firstIn(revShell, revShellLits, clString)
	if c < 0 || s < 0 || sh < 0 {
		return
	}
	off, end := f.snippet(c, f.stmtEnd(c, 200))
	f.add(signal{name: "reverse-shell", points: ptReverseShell, off: off, end: end, strong: true,
		detail: "connects a socket and hands it to a shell"})
}

// firstIn returns the first match of re starting in class c, or -1.
func (f *file) firstIn(re *regexp.Regexp, lits []string, c byte) int {
	for _, m := range f.find(re, lits, ctxRule{}) {
		if f.cls[m[0]] == c {
			return m[0]
		}
	}
	return -1
}

func (f *file) marker() {
	for _, m := range markers {
		if occ := f.occurrences(m); len(occ) > 0 {
			i := occ[0]
			f.add(signal{name: "family-marker", points: ptMarker, off: i, end: i + len(m),
				detail: "names the " + strconv.Quote(m) + " webshell family"})
			return
		}
	}
}

var (
	chrChain = at(`(?i)(?:\bchrw?\s*\(\s*(?:0x[0-9a-f]{1,2}|\d{1,3})\s*\)\s*[.+&]\s*){2,}\bchrw?\s*\(\s*(?:0x[0-9a-f]{1,2}|\d{1,3})\s*\)`)
	chrArg   = regexp.MustCompile(`(?i)\(\s*(0x[0-9a-f]{1,2}|\d{1,3})\s*\)`)
)

// hiddenNames finds sensitive names spelled with escapes, chr() chains or
// concatenated literals, and returns where they are. Hidden superglobals
// count as request input.
func (f *file) hiddenNames() [][2]int {
	var found [][2]int
	hit := func(a, b int, how, name string) {
		found = append(found, [2]int{a, b})
		if strings.HasPrefix(strings.TrimPrefix(name, "$"), "_") {
			f.hiddenSrcs = append(f.hiddenSrcs, [2]int{a, b})
		}
		off, end := f.snippet(a, b)
		f.add(signal{name: "hidden-name", points: ptHiddenName, off: off, end: end, strong: true,
			detail: strconv.Quote(name) + " spelled with " + how})
	}
	// String literals: escaped ones, and chains of short ones joined by
	// ., + or & ("ba"."se64_decode").
	var chain []byte
	chainStart, prevEnd, parts := -1, -1, 0
	flush := func() {
		if parts >= 2 {
			j := strings.ToLower(strings.TrimSpace(string(chain)))
			for _, s := range sensitive {
				if j == s {
					hit(chainStart, prevEnd, "concatenated strings", s)
					break
				}
			}
		}
		chain, chainStart, parts = chain[:0], -1, 0
	}
	for i := 0; i < len(f.raw); {
		if f.cls[i] != clString {
			i++
			continue
		}
		j := i
		for j < len(f.raw) && f.cls[j] == clString {
			j++
		}
		lit := f.raw[i:j]
		if len(found) < 64 && bytes.Count(lit, []byte{'\\'}) >= 2 {
			if dec := unescape(lit); !bytes.Equal(dec, lit) {
				if name := sensitiveIn(asciiLower(dec), asciiLower(lit)); name != "" {
					hit(i, j, "escape sequences", name)
				}
			}
		}
		// Concatenation: the gap since the previous literal is an operator.
		short := len(lit) >= 3 && len(lit) <= 18 && (lit[0] == '\'' || lit[0] == '"') && lit[len(lit)-1] == lit[0]
		if short && chainStart >= 0 && joins(f.raw[prevEnd:i]) {
			chain = append(chain, lit[1:len(lit)-1]...)
			parts++
		} else {
			flush()
			if short {
				chain, chainStart, parts = append(chain, lit[1:len(lit)-1]...), i, 1
			}
		}
		prevEnd = j
		i = j
	}
	flush()
	// chr() chains.
	for _, m := range f.find(chrChain, []string{"chr"}, word) {
		if f.cls[m[0]] != clCode {
			continue
		}
		var dec []byte
		args := chrArg.FindAllSubmatch(f.raw[m[0]:m[1]], -1)
		for _, a := range args {
			n, err := strconv.ParseInt(string(a[1]), 0, 32)
			if err == nil && n < 256 {
				dec = append(dec, byte(n))
			}
		}
		if name := sensitiveIn(asciiLower(dec), nil); name != "" {
			hit(m[0], m[1], "chr() calls", name)
		} else if len(args) >= 8 && f.l != langPython {
			off, end := f.snippet(m[0], m[1])
			f.add(signal{name: "chr-chain", points: ptChrChain, off: off, end: end, detail: "long chr() chain"})
		}
	}
	return found
}

// joins reports whether gap, between two string literals, is a
// concatenation operator with optional blanks.
func joins(gap []byte) bool {
	g := bytes.TrimSpace(gap)
	return len(g) == 1 && (g[0] == '.' || g[0] == '+' || g[0] == '&') && len(gap) <= 8
}

// sensitiveIn returns a sensitive name found in dec (as a whole word) that
// the raw text does not show.
func sensitiveIn(dec, raw []byte) string {
	for _, s := range sensitive {
		for k := 0; k < len(dec); {
			i := bytes.Index(dec[k:], []byte(s))
			if i < 0 {
				break
			}
			a, b := k+i, k+i+len(s)
			k = b
			if a > 0 && isIdent(dec[a-1]) || b < len(dec) && isIdent(dec[b]) {
				continue
			}
			if raw != nil && bytes.Contains(raw, []byte(s)) {
				continue
			}
			return s
		}
	}
	return ""
}

// unescape decodes \xNN, \NNN (octal) and \u{N} escapes; other bytes stay.
func unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		c := b[i+1]
		switch {
		case (c == 'x' || c == 'X') && i+3 < len(b) && isHex(b[i+2]) && isHex(b[i+3]):
			n, _ := strconv.ParseUint(string(b[i+2:i+4]), 16, 8)
			out = append(out, byte(n))
			i += 3
		case '0' <= c && c <= '7':
			j := i + 1
			for j < len(b) && j < i+4 && '0' <= b[j] && b[j] <= '7' {
				j++
			}
			n, _ := strconv.ParseUint(string(b[i+1:j]), 8, 16)
			out = append(out, byte(n))
			i = j - 1
		case c == 'u' && i+2 < len(b) && b[i+2] == '{':
			k := bytes.IndexByte(b[i+3:min(len(b), i+12)], '}')
			if k < 0 {
				out = append(out, b[i])
				continue
			}
			n, err := strconv.ParseUint(string(b[i+3:i+3+k]), 16, 32)
			if err != nil || n > 0x7f {
				out = append(out, b[i])
				continue
			}
			out = append(out, byte(n))
			i += 3 + k
		default:
			out = append(out, b[i])
		}
	}
	return out
}

// hexEscapes counts \xNN escapes.
func hexEscapes(b []byte) int {
	n := 0
	for i := 0; i+3 < len(b); i++ {
		if b[i] == '\\' && (b[i+1] == 'x' || b[i+1] == 'X') && isHex(b[i+2]) && isHex(b[i+3]) {
			n++
			i += 3
		}
	}
	return n
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// supporting adds the signals that only count next to a strong one.
func (f *file) supporting() {
	if !f.strong() {
		delete(f.sigs, "chr-chain")
		return
	}
	// The longest run of base64 or hex characters.
	best, bs, run, rs := 0, 0, 0, 0
	for i, c := range f.raw {
		if isIdent(c) && c < 0x80 || c == '+' || c == '/' || c == '=' {
			if run == 0 {
				rs = i
			}
			run++
			if run > best {
				best, bs = run, rs
			}
			continue
		}
		run = 0
	}
	switch {
	case best >= 10<<10:
		f.add(signal{name: "long-encoded-string", points: ptLongString10K, off: bs, end: bs + 64,
			detail: strconv.Itoa(best) + "-character encoded string"})
	case best >= 1<<10:
		f.add(signal{name: "long-encoded-string", points: ptLongString1K, off: bs, end: bs + 64,
			detail: strconv.Itoa(best) + "-character encoded string"})
	}
	if len(f.raw) >= 512 {
		if e := entropy(f.raw); e >= 5.6 {
			f.add(signal{name: "high-entropy", points: ptEntropy, off: 0, end: 0,
				detail: "entropy " + strconv.FormatFloat(e, 'f', 2, 64) + " bits per byte"})
		}
	}
	if n := hexEscapes(f.raw); n >= 64 && n*4*10 >= len(f.raw) {
		f.add(signal{name: "dense-escapes", points: ptEscapes, detail: strconv.Itoa(n) + " \\xNN escapes"})
	}
	if f.l == langPHP {
		if i := f.first("@eval"); i >= 0 && f.cls[i] == clCode {
			f.add(signal{name: "suppressed-eval", points: ptSuppressed, off: i, end: i + 5, detail: "errors of eval suppressed with @"})
		} else if i := f.first("@assert"); i >= 0 && f.cls[i] == clCode {
			f.add(signal{name: "suppressed-eval", points: ptSuppressed, off: i, end: i + 7, detail: "errors of assert suppressed with @"})
		}
	}
	if f.l.name == "JSP" || f.l.name == "ASP" {
		if i := f.firstIn(revShell, revShellLits, clString); i >= 0 {
			f.add(signal{name: "shell-string", points: ptShellString, off: i, end: i + 12, detail: "names a command shell"})
		}
	}
}

// entropy is the Shannon entropy of b in bits per byte.
func entropy(b []byte) float64 {
	var h [256]int
	for _, c := range b {
		h[c]++
	}
	e := 0.0
	for _, c := range h {
		if c > 0 {
			p := float64(c) / float64(len(b))
			e -= p * math.Log2(p)
		}
	}
	return e
}
