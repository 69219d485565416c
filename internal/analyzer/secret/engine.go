package secret

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/picket-cdr/picket/internal/ahocorasick"
	"github.com/picket-cdr/picket/internal/finding"
)

// Window sizes: a keyword hit lets a rule's regex see the hit's line and the
// next one (each capped at lineCap bytes either side of the hit, for
// minified files with megabyte lines), or multiLineWindow bytes after the
// hit's line start for MultiLine rules.
const (
	lineCap         = 4 << 10
	multiLineWindow = 64 << 10
	// checkEvery is how many bytes of regex work pass between deadline checks.
	checkEvery = 256 << 10
	// chunkSize splits whole-file regex runs (rules without keywords) so
	// that the deadline is checked between chunks.
	chunkSize = 1 << 20
	// maxWindow bounds a window merged from the hits of consecutive lines.
	maxWindow = 256 << 10
	// maxCandidates bounds the matches kept per file before filtering.
	maxCandidates = 4096
	// binarySniff is how much of a file is checked for NUL bytes.
	binarySniff = 8 << 10
)

// engine is a compiled rule set.
type engine struct {
	rules []*Rule
	// text files: one automaton over every keyword; kwRules maps a keyword
	// to the rules that listed it.
	ac      *ahocorasick.Matcher
	kwRules [][]int32
	// binary files: only Binary rules.
	binAC      *ahocorasick.Matcher
	binKwRules [][]int32
	// binLits, when every Binary rule's regex starts with a long
	// case-sensitive literal ("-----BEGIN RSA PRIVATE KEY-----"), lists
	// those literals: binary files are searched for them with bytes.Index,
	// many times faster than the automaton, and a rule's window opens where
	// its literal is (a superset of where its regex can match).
	binLits   []binLit
	noKeyword []int32 // regex rules without keywords
	pathOnly  []int32 // rules without a regex: the path is the finding
	pathRules []int32 // rules with a path filter (Required always wants their files)
}

func newEngine(rules []*Rule) (*engine, error) {
	e := &engine{rules: rules}
	var kws, binKws []string
	kwIndex, binIndex := map[string]int{}, map[string]int{}
	seen := map[string]bool{}
	for i, r := range rules {
		if err := r.validate(); err != nil {
			return nil, err
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("secret: rule %q defined twice", r.ID)
		}
		seen[r.ID] = true
		idx := int32(i)
		if r.hasPathFilter() {
			e.pathRules = append(e.pathRules, idx)
		}
		if r.Regex == nil {
			e.pathOnly = append(e.pathOnly, idx)
			continue
		}
		if len(r.Keywords) == 0 {
			e.noKeyword = append(e.noKeyword, idx)
			continue
		}
		for _, k := range r.Keywords {
			k = strings.ToLower(k)
			j, ok := kwIndex[k]
			if !ok {
				j = len(kws)
				kwIndex[k] = j
				kws = append(kws, k)
				e.kwRules = append(e.kwRules, nil)
			}
			if !slices.Contains(e.kwRules[j], idx) {
				e.kwRules[j] = append(e.kwRules[j], idx)
			}
			if r.Binary {
				j, ok := binIndex[k]
				if !ok {
					j = len(binKws)
					binIndex[k] = j
					binKws = append(binKws, k)
					e.binKwRules = append(e.binKwRules, nil)
				}
				if !slices.Contains(e.binKwRules[j], idx) {
					e.binKwRules[j] = append(e.binKwRules[j], idx)
				}
			}
		}
	}
	e.ac = buildAC(kws)
	e.binAC = buildAC(binKws)
	e.binLits = binaryLiterals(rules)
	return e, nil
}

type binLit struct {
	lit   []byte
	rules []int32
}

// minBinLit is the shortest literal prefix worth a bytes.Index pass.
const minBinLit = 8

// binaryLiterals returns the literal prefixes of the Binary rules' regexes,
// or nil if one of them has none (or a short one).
func binaryLiterals(rules []*Rule) []binLit {
	var out []binLit
	at := map[string]int{}
	for i, r := range rules {
		if !r.Binary || r.Regex == nil || len(r.Keywords) == 0 {
			continue
		}
		lit, _ := r.Regex.LiteralPrefix()
		if len(lit) < minBinLit || r.WholeFile {
			return nil
		}
		j, ok := at[lit]
		if !ok {
			j = len(out)
			at[lit] = j
			out = append(out, binLit{lit: []byte(lit)})
		}
		out[j].rules = append(out[j].rules, int32(i))
	}
	return out
}

// binaryRun is run's search of a binary file when every Binary rule has a
// literal prefix: each literal's occurrences open its rules' windows.
func (s *fileScan) binaryRun() {
	for _, bl := range s.e.binLits {
		for off := 0; off < len(s.buf); {
			i := bytes.Index(s.buf[off:], bl.lit)
			if i < 0 {
				break
			}
			start := off + i
			for _, ri := range bl.rules {
				if !s.applies(ri) {
					continue
				}
				if s.hit(ri, start, start+len(bl.lit)); s.stopped || s.full {
					return
				}
			}
			off = start + 1
		}
	}
}

func buildAC(kws []string) *ahocorasick.Matcher {
	if len(kws) == 0 {
		return nil
	}
	return ahocorasick.New(kws, nil)
}

// wantsPath reports whether a rule with a path filter names this file.
func (e *engine) wantsPath(p string) bool {
	for _, i := range e.pathRules {
		if e.rules[i].pathOK(p) {
			return true
		}
	}
	return false
}

// candidate is one regex match before filtering: match and secret spans in
// the file buffer.
type candidate struct {
	rule   int32
	ms, me int
	ss, se int
}

// fileScan is the state of one file's scan.
type fileScan struct {
	e        *engine
	ctx      context.Context
	deadline time.Time
	path     string
	buf      []byte
	pathOK   []int8 // per rule: 0 unknown, 1 applies, -1 does not
	pend     []span // per rule: pending keyword window
	cands    []candidate
	work     int
	stopped  bool // deadline or cancellation
	full     bool // too many candidates
}

type span struct{ s, e int }

func (e *engine) newScan(ctx context.Context, deadline time.Time, path string, buf []byte) *fileScan {
	return &fileScan{
		e: e, ctx: ctx, deadline: deadline, path: path, buf: buf,
		pathOK: make([]int8, len(e.rules)),
		pend:   make([]span, len(e.rules)),
	}
}

func (s *fileScan) applies(i int32) bool {
	switch s.pathOK[i] {
	case 1:
		return true
	case -1:
		return false
	}
	ok := s.e.rules[i].pathOK(s.path)
	if ok {
		s.pathOK[i] = 1
	} else {
		s.pathOK[i] = -1
	}
	return ok
}

// tick accounts for n bytes of regex work and checks the deadline now and
// then. It reports whether the scan must stop.
func (s *fileScan) tick(n int) bool {
	if s.stopped {
		return true
	}
	s.work += n
	if s.work < checkEvery {
		return false
	}
	s.work = 0
	if s.ctx.Err() != nil || (!s.deadline.IsZero() && time.Now().After(s.deadline)) {
		s.stopped = true
	}
	return s.stopped
}

// run finds candidates: keyword windows for keyword rules, whole-file runs
// for rules without keywords. binary limits the search to Binary rules.
func (s *fileScan) run(binary bool) {
	ac, kwRules := s.e.ac, s.e.kwRules
	if binary {
		ac, kwRules = s.e.binAC, s.e.binKwRules
	}
	for i := range s.pend {
		s.pend[i] = span{-1, -1}
	}
	var whole []int32 // WholeFile rules whose keywords were found
	switch {
	case binary && s.e.binLits != nil:
		s.binaryRun()
	case ac != nil:
		ac.Find(s.buf, func(kw, start int) bool {
			for _, ri := range kwRules[kw] {
				if !s.applies(ri) {
					continue
				}
				if s.e.rules[ri].WholeFile {
					if s.pend[ri].s != -2 {
						s.pend[ri].s = -2
						whole = append(whole, ri)
					}
					continue
				}
				if s.hit(ri, start, start+len(ac.Pattern(kw))); s.stopped || s.full {
					return false
				}
			}
			return true
		})
	}
	if s.stopped || s.full {
		return
	}
	for i, p := range s.pend {
		if p.s >= 0 {
			if s.regex(int32(i), p.s, p.e); s.stopped || s.full {
				return
			}
		}
	}
	if !binary {
		for _, ri := range s.e.noKeyword {
			if s.applies(ri) {
				whole = append(whole, ri)
			}
		}
	}
	for _, ri := range whole {
		if s.wholeFile(ri); s.stopped || s.full {
			return
		}
	}
}

// wholeFile runs rule ri over the whole buffer, in chunks that end at line
// breaks so that the deadline is checked between them.
func (s *fileScan) wholeFile(ri int32) {
	for off := 0; off < len(s.buf); {
		end := min(len(s.buf), off+chunkSize)
		if end < len(s.buf) {
			if nl := bytes.LastIndexByte(s.buf[off:end], '\n'); nl > 0 {
				end = off + nl + 1
			}
		}
		s.regex(ri, off, end)
		if s.stopped || s.full {
			return
		}
		off = end
	}
}

// hit extends rule ri's pending window with the window around a keyword at
// [start, end), running the regex on the pending window when the new one
// does not touch it (hits arrive in order of their end offsets).
func (s *fileScan) hit(ri int32, start, end int) {
	ws, we := s.window(s.e.rules[ri], start, end)
	p := &s.pend[ri]
	if p.s >= 0 && ws <= p.e {
		if we <= p.e {
			return
		}
		if we-p.s <= maxWindow {
			p.e = we
			return
		}
		// Hits on every line would grow one window over the whole file:
		// run what we have and go on from its end (a line boundary).
		s.regex(ri, p.s, p.e)
		*p = span{p.e, we}
		return
	}
	if p.s >= 0 {
		s.regex(ri, p.s, p.e)
	}
	*p = span{ws, we}
}

func (s *fileScan) window(r *Rule, start, end int) (int, int) {
	b := s.buf
	lo := max(0, start-lineCap)
	ws := lo
	if nl := bytes.LastIndexByte(b[lo:start], '\n'); nl >= 0 {
		ws = lo + nl + 1
	}
	if r.MultiLine {
		return ws, min(len(b), end+multiLineWindow)
	}
	// the hit's line, then the next one
	we := end
	for range 2 {
		hi := min(len(b), we+lineCap)
		nl := bytes.IndexByte(b[we:hi], '\n')
		if nl < 0 {
			we = hi
			break
		}
		we += nl + 1
	}
	return ws, we
}

// regex runs rule ri over buf[ws:we] and records its matches.
func (s *fileScan) regex(ri int32, ws, we int) {
	if s.tick(we - ws) {
		return
	}
	r := s.e.rules[ri]
	for _, m := range r.Regex.FindAllSubmatchIndex(s.buf[ws:we], maxCandidates-len(s.cands)+1) {
		ss, se := secretSpan(r, m)
		if ss < 0 || se <= ss {
			continue
		}
		if len(s.cands) >= maxCandidates {
			s.full = true
			return
		}
		s.cands = append(s.cands, candidate{rule: ri, ms: ws + m[0], me: ws + m[1], ss: ws + ss, se: ws + se})
	}
}

// secretSpan picks the secret out of a match the way gitleaks does: the
// secret group when set, else the first non-empty group, else the match.
func secretSpan(r *Rule, m []int) (int, int) {
	if r.SecretGroup > 0 {
		g := r.SecretGroup
		if 2*g+1 >= len(m) {
			return -1, -1
		}
		return m[2*g], m[2*g+1]
	}
	for g := 1; 2*g+1 < len(m); g++ {
		if m[2*g] >= 0 && m[2*g+1] > m[2*g] {
			return m[2*g], m[2*g+1]
		}
	}
	return m[0], m[1]
}

// keep filters a candidate: entropy, validation, placeholders, allowlists.
func (s *fileScan) keep(c candidate) bool {
	r := s.e.rules[c.rule]
	secret := s.buf[c.ss:c.se]
	if r.Entropy > 0 && shannon(secret) <= r.Entropy {
		return false
	}
	match := s.buf[c.ms:c.me]
	if r.Validate != nil && !r.Validate(secret, match) {
		return false
	}
	if isPlaceholder(secret, r.ReportWeak) {
		return false
	}
	var lineBuf []byte
	line := func() []byte {
		if lineBuf == nil {
			lineBuf = s.lines(c.ms, c.me)
		}
		return lineBuf
	}
	// Inline markers, as gitleaks honours them.
	if l := line(); bytes.Contains(l, []byte("gitleaks:allow")) || bytes.Contains(l, []byte("picket:allow")) {
		return false
	}
	for i := range r.Allowlists {
		if r.Allowlists[i].allowed(s.path, secret, match, line) {
			return false
		}
	}
	return true
}

// lines returns the lines holding buf[ms:me] (at most lineCap bytes either
// side of the match: minified files have megabyte lines).
func (s *fileScan) lines(ms, me int) []byte {
	b := s.buf
	lo := max(0, ms-lineCap)
	ls := lo + bytes.LastIndexByte(b[lo:ms], '\n') + 1
	hi := min(len(b), me+lineCap)
	le := hi
	if nl := bytes.IndexByte(b[me:hi], '\n'); nl >= 0 {
		le = me + nl
	}
	return b[ls:le]
}

// selectCandidates drops filtered candidates and, where secrets overlap, keeps the
// most severe (then first-listed) rule's match: one secret, one finding.
func (s *fileScan) selectCandidates() []candidate {
	cs := s.cands
	sort.SliceStable(cs, func(i, j int) bool {
		ri, rj := s.e.rules[cs[i].rule], s.e.rules[cs[j].rule]
		if si, sj := ri.severity(), rj.severity(); si != sj {
			return si > sj
		}
		if cs[i].rule != cs[j].rule {
			return cs[i].rule < cs[j].rule
		}
		return cs[i].ss < cs[j].ss
	})
	var kept []candidate
	for _, c := range cs {
		overlap := false
		for _, k := range kept {
			if c.ss < k.se && k.ss < c.se {
				overlap = true
				break
			}
		}
		if overlap || !s.keep(c) {
			continue
		}
		kept = append(kept, c)
	}
	sort.Slice(kept, func(i, j int) bool {
		if kept[i].ms != kept[j].ms {
			return kept[i].ms < kept[j].ms
		}
		return kept[i].rule < kept[j].rule
	})
	return kept
}

// findings turns kept candidates into findings, with 1-based line numbers.
func (s *fileScan) findings(kept []candidate) []*finding.Finding {
	out := make([]*finding.Finding, 0, len(kept))
	line, at := 1, 0
	for _, c := range kept {
		line += bytes.Count(s.buf[at:c.ms], []byte{'\n'})
		at = c.ms
		r := s.e.rules[c.rule]
		ev := evidence(s.buf[c.ms:c.me], c.ss-c.ms, c.se-c.ms)
		out = append(out, newFinding(r, s.path, line, ev))
	}
	return out
}

func newFinding(r *Rule, path string, line int, ev string) *finding.Finding {
	attrs := map[string]string{"rule": r.ID, "source": r.Source}
	if ev != "" {
		attrs["match"] = ev
	}
	rem := r.Remediation
	if rem == "" {
		rem = defaultRemediation
	}
	desc := r.Description
	if desc == r.title() {
		desc = ""
	}
	return &finding.Finding{
		Kind:        finding.KindSecret,
		Severity:    r.severity(),
		RuleID:      r.ID,
		Title:       r.title(),
		Description: desc,
		Target:      path,
		Location:    finding.Location{Path: path, Line: line},
		Evidence:    ev,
		Remediation: rem,
		Tags:        append([]string{"secret"}, r.Tags...),
		Attributes:  attrs,
	}
}

const defaultRemediation = "Remove the secret from the image and rotate it: deleting the file in a later " +
	"layer does not remove it from the layer that added it. Pass secrets at run time (mounted secrets, " +
	"a secret store) and at build time with BuildKit's --mount=type=secret."

// maxEvidenceContext bounds the text kept either side of the secret.
const maxEvidenceContext = 80

// evidence renders a match with its secret redacted: the secret's first four
// characters and "****", or just "****" for secrets shorter than 16 bytes.
// Control characters are escaped so the evidence stays on one line.
func evidence(match []byte, ss, se int) string {
	// Boundary characters a regex consumed around the match (the line
	// break after a token) are not evidence.
	pre, post := bytes.TrimLeft(match[:ss], " \t\r\n"), bytes.TrimRight(match[se:], " \t\r\n")
	if len(pre) > maxEvidenceContext {
		pre = pre[len(pre)-maxEvidenceContext:]
	}
	if len(post) > maxEvidenceContext {
		post = post[:maxEvidenceContext]
	}
	var b strings.Builder
	printable(&b, pre)
	b.WriteString(Redact(string(match[ss:se])))
	printable(&b, post)
	return b.String()
}

// Redact hides a secret: its first four characters and "****" when it is at
// least 16 bytes long, else "****".
func Redact(secret string) string {
	if len(secret) < 16 {
		return "****"
	}
	var b strings.Builder
	printable(&b, []byte(secret[:4]))
	b.WriteString("****")
	return b.String()
}

func printable(b *strings.Builder, p []byte) {
	for len(p) > 0 {
		r, n := utf8.DecodeRune(p)
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == utf8.RuneError && n <= 1, r < 0x20, r == 0x7f:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(p[0])|0x100, 16)[1:])
		default:
			b.Write(p[:n])
		}
		p = p[n:]
	}
}

// shannon is the Shannon entropy of b in bits per byte.
func shannon(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	var counts [256]int
	for _, c := range b {
		counts[c]++
	}
	n := float64(len(b))
	var h float64
	for _, c := range counts {
		if c == 0 {
			continue
		}
		p := float64(c) / n
		h -= p * math.Log2(p)
	}
	return h
}
