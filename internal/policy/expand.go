package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// maxExpansion bounds the size of an expression after macro and list
// expansion, so that nested macros cannot blow up exponentially.
const maxExpansion = 1 << 20

// expander replaces bare identifiers naming macros or lists in CEL text.
type expander struct {
	macros map[string]string // name -> CEL text
	lists  map[string]string // name -> CEL list literal
	done   map[string]string // expanded macros
	active map[string]bool   // macros being expanded (cycle detection)
}

func newExpander(macros map[string]string, lists map[string][]string) *expander {
	e := &expander{macros: macros, lists: map[string]string{}, done: map[string]string{}, active: map[string]bool{}}
	for name, items := range lists {
		var b strings.Builder
		b.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(it))
		}
		b.WriteByte(']')
		e.lists[name] = b.String()
	}
	return e
}

// macro returns the fully expanded text of a macro.
func (e *expander) macro(name string) (string, error) {
	if s, ok := e.done[name]; ok {
		return s, nil
	}
	if e.active[name] {
		return "", fmt.Errorf("macro %s refers to itself (cycle)", name)
	}
	e.active[name] = true
	defer delete(e.active, name)
	s, err := e.expand(e.macros[name])
	if err != nil {
		return "", err
	}
	e.done[name] = s
	return s, nil
}

// expand rewrites src, replacing macro and list identifiers.
func (e *expander) expand(src string) (string, error) {
	var b strings.Builder
	last := 0
	for _, sp := range identSpans(src) {
		id := src[sp[0]:sp[1]]
		var repl string
		if _, ok := e.macros[id]; ok {
			s, err := e.macro(id)
			if err != nil {
				return "", err
			}
			repl = "(" + s + ")"
		} else if l, ok := e.lists[id]; ok {
			repl = l
		} else {
			continue
		}
		b.WriteString(src[last:sp[0]])
		b.WriteString(repl)
		last = sp[1]
		if b.Len() > maxExpansion {
			return "", fmt.Errorf("expression longer than %d bytes after expanding macros and lists", maxExpansion)
		}
	}
	if last == 0 {
		return src, nil
	}
	b.WriteString(src[last:])
	return b.String(), nil
}

// identSpans returns the [start, end) byte spans of the bare identifiers of a
// CEL expression that may name a macro or list: not inside string or bytes
// literals or comments, not a field selection (after '.'), not a function
// call (before '('). It never fails: text it cannot lex is left for the CEL
// parser to reject.
func identSpans(src string) [][2]int {
	var out [][2]int
	prevSignificant := byte(0) // last non-space character outside literals
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'':
			i = skipString(src, i, false)
			prevSignificant = c
		case (c == 'r' || c == 'R' || c == 'b' || c == 'B') && i+1 < len(src) && isQuoteStart(src, i):
			raw := false
			j := i
			for j < len(src) && src[j] != '"' && src[j] != '\'' {
				if src[j] == 'r' || src[j] == 'R' {
					raw = true
				}
				j++
			}
			i = skipString(src, j, raw)
			prevSignificant = '"'
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			k := j
			for k < len(src) && isSpace(src[k]) {
				k++
			}
			if prevSignificant != '.' && (k >= len(src) || src[k] != '(') {
				out = append(out, [2]int{i, j})
			}
			i = j
			prevSignificant = 'a'
		case c >= '0' && c <= '9':
			// Numbers, including 1e5, 0x1F, 1u and 1.5 (whose '.' must not
			// make the next token look like a field selection).
			for i < len(src) && (isIdentPart(src[i]) || src[i] == '.') {
				i++
			}
			prevSignificant = '0'
		default:
			if !isSpace(c) {
				prevSignificant = c
			}
			i++
		}
	}
	return out
}

// isQuoteStart reports whether src[i:] is a string prefix (r, b, rb, br in
// any case) followed by a quote.
func isQuoteStart(src string, i int) bool {
	j := i
	for j < len(src) && j-i < 2 && strings.IndexByte("rRbB", src[j]) >= 0 {
		j++
	}
	if i > 0 && isIdentPart(src[i-1]) {
		return false
	}
	return j < len(src) && (src[j] == '"' || src[j] == '\'')
}

// skipString returns the index just past the string literal starting at
// src[i] (a quote), handling triple quotes and escapes.
func skipString(src string, i int, raw bool) int {
	q := src[i]
	triple := i+2 < len(src) && src[i+1] == q && src[i+2] == q
	if triple {
		i += 3
		for i < len(src) {
			if !raw && src[i] == '\\' {
				i += 2
				continue
			}
			if i+2 < len(src) && src[i] == q && src[i+1] == q && src[i+2] == q {
				return i + 3
			}
			i++
		}
		return len(src)
	}
	i++
	for i < len(src) {
		switch {
		case !raw && src[i] == '\\':
			i += 2
		case src[i] == q:
			return i + 1
		case src[i] == '\n':
			return i
		default:
			i++
		}
	}
	return len(src)
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }
func isSpace(c byte) bool      { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
