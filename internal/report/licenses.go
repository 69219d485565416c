package report

import (
	_ "embed"
	"slices"
	"strings"
	"sync"
)

// spdxLicenseListVersion is the SPDX License List version of
// spdx_license_ids.txt, recorded in SPDX documents.
const spdxLicenseListVersion = "3.17"

// spdxLicenseIDsText lists the SPDX license and exception identifiers, one
// per line; lines starting with # are comments. It is the list the CycloneDX
// 1.6 schema accepts as license ids, so ids Picket writes validate there too.
//
//go:embed spdx_license_ids.txt
var spdxLicenseIDsText string

// spdxLicenseIDs maps lower-cased identifiers to their canonical spelling.
var spdxLicenseIDs = sync.OnceValue(func() map[string]string {
	ids := map[string]string{}
	for line := range strings.Lines(spdxLicenseIDsText) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ids[strings.ToLower(line)] = line
	}
	return ids
})

// spdxLicenseID returns the canonical spelling of a listed SPDX license or
// exception identifier, matched case-insensitively.
func spdxLicenseID(id string) (string, bool) {
	canon, ok := spdxLicenseIDs()[strings.ToLower(id)]
	return canon, ok
}

// licenseExpr is a validated, normalised SPDX license expression.
type licenseExpr struct {
	text string
	// single is true for a lone listed identifier (no "+", WITH, AND, OR),
	// which CycloneDX can carry as a license id.
	single bool
	// compound is true when the expression has a top-level or nested AND/OR
	// and must be parenthesised when joined with others.
	compound bool
}

// parseLicenseExpression validates s as an SPDX license expression built
// only from listed identifiers (optionally with "+"), WITH, AND, OR and
// parentheses, and returns it normalised: canonical identifier spelling,
// upper-case operators, single spaces. LicenseRef- identifiers are not
// accepted, since the documents Picket writes define none.
func parseLicenseExpression(s string) (licenseExpr, bool) {
	toks := tokenizeLicense(s)
	if len(toks) == 0 {
		return licenseExpr{}, false
	}
	p := licenseParser{toks: toks}
	out, ok := p.expr()
	if !ok || p.pos != len(toks) {
		return licenseExpr{}, false
	}
	text := strings.Join(out, " ")
	text = strings.ReplaceAll(strings.ReplaceAll(text, "( ", "("), " )", ")")
	single := len(out) == 1 && !strings.HasSuffix(out[0], "+")
	compound := slices.Contains(out, "AND") || slices.Contains(out, "OR")
	return licenseExpr{text: text, single: single, compound: compound}, true
}

// tokenizeLicense splits an expression into identifiers, operators and
// parentheses.
func tokenizeLicense(s string) []string {
	var toks []string
	for field := range strings.FieldsSeq(s) {
		for field != "" {
			i := strings.IndexAny(field, "()")
			switch {
			case i < 0:
				toks = append(toks, field)
				field = ""
			case i > 0:
				toks = append(toks, field[:i])
				field = field[i:]
			default:
				toks = append(toks, field[:1])
				field = field[1:]
			}
		}
	}
	return toks
}

// licenseParser is a recursive-descent parser for the grammar
//
//	expr = term { ("AND" | "OR") term }
//	term = "(" expr ")" | id [ "+" ] [ "WITH" id ]
type licenseParser struct {
	toks []string
	pos  int
}

func (p *licenseParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *licenseParser) expr() ([]string, bool) {
	out, ok := p.term()
	if !ok {
		return nil, false
	}
	for {
		op := strings.ToUpper(p.peek())
		if op != "AND" && op != "OR" || !isOperator(p.peek()) {
			return out, true
		}
		p.pos++
		t, ok := p.term()
		if !ok {
			return nil, false
		}
		out = append(append(out, op), t...)
	}
}

func (p *licenseParser) term() ([]string, bool) {
	tok := p.peek()
	switch {
	case tok == "":
		return nil, false
	case tok == "(":
		p.pos++
		inner, ok := p.expr()
		if !ok || p.peek() != ")" {
			return nil, false
		}
		p.pos++
		return append(append([]string{"("}, inner...), ")"), true
	case tok == ")" || isOperator(tok):
		return nil, false
	}
	p.pos++
	id, plus := strings.CutSuffix(tok, "+")
	canon, ok := spdxLicenseID(id)
	if !ok {
		return nil, false
	}
	if plus {
		canon += "+"
	}
	out := []string{canon}
	if w := p.peek(); w == "WITH" || w == "with" {
		p.pos++
		exc, ok := spdxLicenseID(p.peek())
		if !ok {
			return nil, false
		}
		p.pos++
		out = append(out, "WITH", exc)
	}
	return out, true
}

// isOperator reports whether tok is an operator; the SPDX grammar allows
// all upper- or all lower-case operators.
func isOperator(tok string) bool {
	switch tok {
	case "AND", "OR", "WITH", "and", "or", "with":
		return true
	}
	return false
}

// declaredLicenses parses a package's license strings. It returns the
// de-duplicated expressions in order and whether every one was valid.
func declaredLicenses(licenses []string) ([]licenseExpr, bool) {
	var out []licenseExpr
	valid := true
	seen := map[string]bool{}
	for _, l := range licenses {
		l = strings.TrimSpace(l)
		if l == "" || seen[l] {
			continue
		}
		seen[l] = true
		e, ok := parseLicenseExpression(l)
		if !ok {
			valid = false
			e = licenseExpr{text: l}
		}
		out = append(out, e)
	}
	return out, valid
}

// joinLicenses joins valid expressions with AND, parenthesising compound
// ones so the result keeps their meaning.
func joinLicenses(exprs []licenseExpr) string {
	if len(exprs) == 1 {
		return exprs[0].text
	}
	parts := make([]string, 0, len(exprs))
	seen := map[string]bool{}
	for _, e := range exprs {
		t := e.text
		if e.compound {
			t = "(" + t + ")"
		}
		if !seen[t] {
			seen[t] = true
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, " AND ")
}
