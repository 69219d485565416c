package webshell

import "bytes"

// Byte classes: what the language makes of each byte of a file.
const (
	clCode    byte = iota // executed code
	clString              // inside a string literal (or a PHP backtick command)
	clComment             // comment, or text outside the code regions of a template
)

// lexer classifies a file's bytes. It is deliberately small: it knows string
// and comment syntax and template delimiters, which is what keeps sink names
// in docstrings, comments and page text from counting.
type lexer func(b []byte, cls []byte)

// fill sets cls[i:j] to c.
func fill(cls []byte, i, j int, c byte) {
	j = min(j, len(cls))
	for k := i; k < j; k++ {
		cls[k] = c
	}
}

// quoted returns the end (exclusive) of a string starting with the quote at
// b[i], at most limit; backslash escapes the next byte unless verbatim,
// where a doubled quote does.
func quoted(b []byte, i int, verbatim bool, limit int) int {
	q := b[i]
	limit = min(limit, len(b))
	for j := i + 1; j < limit; j++ {
		switch {
		case b[j] == '\\' && !verbatim:
			j++
		case b[j] == q:
			if verbatim && j+1 < len(b) && b[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return limit
}

// lineEnd returns the index of the next newline at or after i, or len(b).
func lineEnd(b []byte, i int) int {
	if k := bytes.IndexByte(b[i:], '\n'); k >= 0 {
		return i + k
	}
	return len(b)
}

// newlines answers lineEnd for non-decreasing positions in linear total
// time, however long the lines.
type newlines struct {
	b    []byte
	next int // the first newline at or after the last position asked, or -1
}

func (n *newlines) end(i int) int {
	if n.next < i {
		n.next = lineEnd(n.b, i)
	}
	return n.next
}

// lexPHP: code lives between <?php (or <?=, <?) and ?>; everything else is
// page text.
func lexPHP(b []byte, cls []byte) {
	nl := &newlines{b: b, next: -1}
	i := 0
	for i < len(b) {
		// Page text up to the next open tag.
		k := bytes.Index(b[i:], []byte("<?"))
		if k < 0 {
			fill(cls, i, len(b), clComment)
			return
		}
		fill(cls, i, i+k, clComment)
		i += k + 2
		if i+3 <= len(b) && asciiEqualFold(b[i:i+3], "php") {
			i += 3
		}
		i = lexPHPCode(b, cls, i, nl)
	}
}

// lexPHPCode classifies PHP code from i up to and including the closing
// ?> and returns the index after it.
func lexPHPCode(b []byte, cls []byte, i int, nl *newlines) int {
	for i < len(b) {
		c := b[i]
		switch {
		case c == '?' && i+1 < len(b) && b[i+1] == '>':
			return i + 2
		case c == '#' && !(i+1 < len(b) && b[i+1] == '['), c == '/' && i+1 < len(b) && b[i+1] == '/':
			// A line comment ends at the newline or at ?>.
			e := nl.end(i)
			if k := bytes.Index(b[i:e], []byte("?>")); k >= 0 {
				e = i + k
			}
			fill(cls, i, e, clComment)
			i = e
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			e := len(b)
			if k := bytes.Index(b[i+2:], []byte("*/")); k >= 0 {
				e = i + 2 + k + 2
			}
			fill(cls, i, e, clComment)
			i = e
		case c == '\'' || c == '"' || c == '`':
			e := quoted(b, i, false, len(b))
			fill(cls, i, e, clString)
			i = e
		case c == '<' && bytes.HasPrefix(b[i:], []byte("<<<")):
			e := heredocEnd(b, i)
			fill(cls, i, e, clString)
			i = e
		default:
			i++
		}
	}
	return i
}

// heredocEnd finds the end of a PHP heredoc or nowdoc starting at b[i]
// ("<<<ID", "<<<'ID'", "<<<\"ID\"").
func heredocEnd(b []byte, i int) int {
	j := i + 3
	for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
		j++
	}
	if j < len(b) && (b[j] == '\'' || b[j] == '"') {
		j++
	}
	s := j
	for j < len(b) && (isIdent(b[j])) {
		j++
	}
	id := b[s:j]
	if len(id) == 0 {
		return i + 3
	}
	// The closing identifier starts a line (after optional indentation).
	for k := lineEnd(b, j); k < len(b); k = lineEnd(b, k+1) {
		m := k + 1
		for m < len(b) && (b[m] == ' ' || b[m] == '\t') {
			m++
		}
		if bytes.HasPrefix(b[m:], id) && (m+len(id) == len(b) || !isIdent(b[m+len(id)])) {
			return m + len(id)
		}
	}
	return len(b)
}

// lexPython: # comments, single, double and triple-quoted strings.
func lexPython(b []byte, cls []byte) {
	nl := &newlines{b: b, next: -1}
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '#':
			e := nl.end(i)
			fill(cls, i, e, clComment)
			i = e
		case c == '\'' || c == '"':
			var e int
			if i+2 < len(b) && b[i+1] == c && b[i+2] == c {
				e = len(b)
				for j := i + 3; j+2 < len(b); j++ {
					if b[j] == '\\' {
						j++
						continue
					}
					if b[j] == c && b[j+1] == c && b[j+2] == c {
						e = j + 3
						break
					}
				}
			} else {
				// Single-quoted strings end at the line's end at the latest.
				e = quoted(b, i, false, nl.end(i))
			}
			fill(cls, i, e, clString)
			i = e
		default:
			i++
		}
	}
}

// cLike classifies C-family code (Java, C#, JScript): // and /* */
// comments, "..." strings (verbatim @"..." in C#) and '.' characters.
func cLike(b []byte, cls []byte, i, end int, vbscript bool, nl *newlines) {
	for i < end {
		c := b[i]
		switch {
		case vbscript && c == '\'':
			e := min(nl.end(i), end)
			if k := bytes.Index(b[i:e], []byte("%>")); k >= 0 {
				e = i + k
			}
			fill(cls, i, e, clComment)
			i = e
		case !vbscript && c == '/' && i+1 < end && b[i+1] == '/':
			e := min(nl.end(i), end)
			fill(cls, i, e, clComment)
			i = e
		case !vbscript && c == '/' && i+1 < end && b[i+1] == '*':
			e := end
			if k := bytes.Index(b[i+2:end], []byte("*/")); k >= 0 {
				e = i + 2 + k + 2
			}
			fill(cls, i, e, clComment)
			i = e
		case c == '"':
			verbatim := !vbscript && i > 0 && b[i-1] == '@'
			limit := end
			if !verbatim { // other strings end at the line's end at the latest
				limit = min(end, nl.end(i)+1)
			}
			e := quoted(b, i, vbscript || verbatim, limit)
			fill(cls, i, e, clString)
			i = e
		case !vbscript && c == '\'':
			e := quoted(b, i, false, min(end, nl.end(i)+1))
			fill(cls, i, e, clString)
			i = e
		default:
			i++
		}
	}
}

// lexTemplate handles JSP and ASP pages: code inside <% %> (and, for ASP,
// <script runat="server">), page text elsewhere. whole treats the entire
// file as code (ASP.NET handlers, .ashx).
func lexTemplate(vbscript, whole bool) lexer {
	return func(b []byte, cls []byte) {
		nl := &newlines{b: b, next: -1}
		if whole {
			cLike(b, cls, 0, len(b), vbscript, nl)
			return
		}
		low := asciiLower(b)
		// The next occurrence of each opening, searched again only once
		// passed, so that a missing one costs one scan, not one per block.
		opens := [3][]byte{[]byte("<%"), []byte("<script"), []byte("<jsp:")}
		nextAt := [3]int{-2, -2, -2}
		i := 0
		for i < len(b) {
			next, kind := -1, 0
			for n := range opens {
				if nextAt[n] != -1 && nextAt[n] < i {
					nextAt[n] = -1
					if k := bytes.Index(low[i:], opens[n]); k >= 0 {
						nextAt[n] = i + k
					}
				}
				if c := nextAt[n]; c >= 0 && (next < 0 || c < next) {
					next, kind = c, n
				}
			}
			if next < 0 {
				fill(cls, i, len(b), clComment)
				return
			}
			fill(cls, i, next, clComment)
			i = next
			switch kind {
			case 0: // <% ... %>, <%-- --%> is a comment
				if bytes.HasPrefix(b[i:], []byte("<%--")) {
					e := len(b)
					if m := bytes.Index(b[i+4:], []byte("--%>")); m >= 0 {
						e = i + 4 + m + 4
					}
					fill(cls, i, e, clComment)
					i = e
					continue
				}
				e := len(b)
				if m := bytes.Index(b[i+2:], []byte("%>")); m >= 0 {
					e = i + 2 + m
				}
				cLike(b, cls, i+2, e, vbscript, nl)
				i = min(e+2, len(b))
			case 1: // <script ...> runs on the server only with runat=server
				gt := bytes.IndexByte(low[i:], '>')
				if gt < 0 {
					fill(cls, i, len(b), clComment)
					return
				}
				open := low[i : i+gt]
				body := i + gt + 1
				e := len(b)
				if m := bytes.Index(low[body:], []byte("</script")); m >= 0 {
					e = body + m
				}
				if bytes.Contains(open, []byte("runat")) {
					vb := vbscript
					if bytes.Contains(open, []byte("vbscript")) {
						vb = true
					} else if bytes.Contains(open, []byte("c#")) || bytes.Contains(open, []byte("jscript")) || bytes.Contains(open, []byte("javascript")) || bytes.Contains(open, []byte("csharp")) {
						vb = false
					}
					fill(cls, i, body, clComment)
					cLike(b, cls, body, e, vb, nl)
				} else {
					fill(cls, i, e, clComment)
				}
				i = e
			case 2: // <jsp:scriptlet>, <jsp:declaration>, <jsp:expression>
				gt := bytes.IndexByte(low[i:], '>')
				if gt < 0 {
					fill(cls, i, len(b), clComment)
					return
				}
				tag := low[i : i+gt]
				body := i + gt + 1
				if !bytes.HasPrefix(tag, []byte("<jsp:scriptlet")) && !bytes.HasPrefix(tag, []byte("<jsp:declaration")) && !bytes.HasPrefix(tag, []byte("<jsp:expression")) {
					fill(cls, i, body, clComment)
					i = body
					continue
				}
				e := len(b)
				if m := bytes.Index(low[body:], []byte("</jsp:")); m >= 0 {
					e = body + m
				}
				fill(cls, i, body, clComment)
				cLike(b, cls, body, e, false, nl)
				i = e
			}
		}
	}
}

func isIdent(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c >= 0x80
}

// asciiLower lower-cases ASCII letters only, keeping every offset.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
