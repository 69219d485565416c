package prefilter

import (
	"fmt"
	"strconv"
	"strings"
)

// value is a condition's truth in three-valued logic.
type value int8

const (
	vFalse value = iota
	vMaybe
	vTrue
)

type env struct {
	f    File
	r    *rule
	seen func(int) bool
}

// present is whether string id may match: it has no atom, or its atom is
// in the file.
func (e *env) present(id string) bool {
	atoms, ok := e.r.strs[id]
	if !ok || len(atoms) == 0 {
		return true
	}
	for _, a := range atoms {
		if e.seen(a) {
			return true
		}
	}
	return false
}

type node interface{ eval(*env) value }

type (
	andNode   []node
	orNode    []node
	notNode   struct{ n node }
	constNode value
	strNode   string // a string that must match
	ofNode    struct {
		k   int // at least k of ids must match
		ids []string
	}
	sizeNode struct {
		op string
		n  int64
	}
	extNode struct {
		name, op, val string
	}
)

func (n andNode) eval(e *env) value {
	v := vTrue
	for _, c := range n {
		switch c.eval(e) {
		case vFalse:
			return vFalse
		case vMaybe:
			v = vMaybe
		}
	}
	return v
}

func (n orNode) eval(e *env) value {
	v := vFalse
	for _, c := range n {
		switch c.eval(e) {
		case vTrue:
			return vTrue
		case vMaybe:
			v = vMaybe
		}
	}
	return v
}

func (n notNode) eval(e *env) value { return vTrue - n.n.eval(e) }
func (n constNode) eval(*env) value { return value(n) }
func (n strNode) eval(e *env) value {
	if e.present(string(n)) {
		return vMaybe
	}
	return vFalse
}

func (n ofNode) eval(e *env) value {
	c := 0
	for _, id := range n.ids {
		if e.present(id) {
			c++
		}
	}
	if c >= n.k {
		return vMaybe
	}
	return vFalse
}

func (n sizeNode) eval(e *env) value { return truth(compare(e.f.Size, n.op, n.n)) }

func (n extNode) eval(e *env) value {
	var got string
	switch n.name {
	case "filename":
		got = e.f.Name
	case "filepath":
		got = e.f.Path
	case "extension":
		got = e.f.Ext
	}
	return truth((got == n.val) == (n.op == "=="))
}

func truth(b bool) value {
	if b {
		return vTrue
	}
	return vFalse
}

func compare(a int64, op string, b int64) bool {
	switch op {
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	case "==":
		return a == b
	default: // "!="
		return a != b
	}
}

// cparser parses a condition's tokens. Boolean structure (and, or, not,
// parentheses) is kept; every other term is classified by classify.
type cparser struct {
	toks []string
	i    int
	r    *rule
}

func (c *cparser) tok() string {
	if c.i < len(c.toks) {
		return c.toks[c.i]
	}
	return ""
}

func (c *cparser) expr() (node, error) {
	return c.chain("or", c.and, func(ns []node) node { return orNode(ns) })
}

func (c *cparser) and() (node, error) {
	return c.chain("and", c.unary, func(ns []node) node { return andNode(ns) })
}

// chain parses operands joined by op; more than one are joined by join.
func (c *cparser) chain(op string, operand func() (node, error), join func([]node) node) (node, error) {
	var ns []node
	for {
		n, err := operand()
		if err != nil {
			return nil, err
		}
		ns = append(ns, n)
		if c.tok() != op {
			break
		}
		c.i++
	}
	if len(ns) == 1 {
		return ns[0], nil
	}
	return join(ns), nil
}

func (c *cparser) unary() (node, error) {
	if c.tok() == "not" {
		c.i++
		n, err := c.unary()
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	}
	if c.tok() == "(" {
		save := c.i
		c.i++
		n, err := c.expr()
		if err == nil && c.tok() == ")" {
			c.i++
			if t := c.tok(); t == "" || t == "and" || t == "or" || t == ")" {
				return n, nil
			}
		}
		c.i = save // "(#a + #b) > 2": a term that starts with a parenthesis
	}
	return c.term()
}

// term takes tokens up to the next and/or/unmatched ")" at its own depth.
func (c *cparser) term() (node, error) {
	start, depth := c.i, 0
	for ; c.i < len(c.toks); c.i++ {
		t := c.toks[c.i]
		if depth == 0 && (t == "and" || t == "or" || t == ")") {
			break
		}
		switch t {
		case "(", "[":
			depth++
		case ")", "]":
			depth--
		}
	}
	if c.i == start {
		return nil, fmt.Errorf("%w: empty term in condition", ErrUnsupported)
	}
	return c.classify(c.toks[start:c.i]), nil
}

// classify models the terms Possible understands; anything else may be
// true.
func (c *cparser) classify(t []string) node {
	maybe := constNode(vMaybe)
	switch {
	case len(t) == 1 && t[0] == "true":
		return constNode(vTrue)
	case len(t) == 1 && t[0] == "false":
		return constNode(vFalse)
	case strings.HasPrefix(t[0], "$") && t[0] != "$" && !strings.HasSuffix(t[0], "*"):
		if len(t) == 1 || t[1] == "at" || t[1] == "in" {
			return c.str(t[0])
		}
	case strings.HasPrefix(t[0], "#") && len(t) == 3:
		n, ok := number(t[2])
		if ok && (t[1] == ">" && n >= 0 || (t[1] == ">=" || t[1] == "==") && n >= 1) {
			return c.str("$" + t[0][1:])
		}
	case len(t) == 3 && t[0] == "filesize":
		if n, ok := number(t[2]); ok && isCompare(t[1]) {
			return sizeNode{op: t[1], n: n}
		}
	case len(t) == 3 && (t[0] == "filename" || t[0] == "filepath" || t[0] == "extension") && (t[1] == "==" || t[1] == "!=") && strings.HasPrefix(t[2], `"`):
		if v, err := unescape(t[2][1 : len(t[2])-1]); err == nil {
			return extNode{name: t[0], op: t[1], val: v}
		}
	case len(t) >= 3 && t[1] == "of":
		return c.of(t)
	}
	return maybe
}

func (c *cparser) str(id string) node {
	if _, ok := c.r.strs[id]; !ok {
		return constNode(vMaybe) // "$" inside loops, or unknown: may be true
	}
	return strNode(id)
}

// of models "N of (...)", "any of them", "all of ($a*)" (with or without
// "at"/"in" after).
func (c *cparser) of(t []string) node {
	var ids []string
	rest := t[2:]
	switch {
	case rest[0] == "them":
		ids = c.r.order
		rest = rest[1:]
	case rest[0] == "(":
		i := 1
		for ; i < len(rest) && rest[i] != ")"; i++ {
			m := rest[i]
			switch {
			case m == ",":
			case strings.HasSuffix(m, "*") && strings.HasPrefix(m, "$"):
				for _, id := range c.r.order {
					if strings.HasPrefix(id, strings.TrimSuffix(m, "*")) {
						ids = append(ids, id)
					}
				}
			case strings.HasPrefix(m, "$"):
				ids = append(ids, m)
			default:
				return constNode(vMaybe) // rule sets, expressions
			}
		}
		if i == len(rest) {
			return constNode(vMaybe)
		}
		rest = rest[i+1:]
	default:
		return constNode(vMaybe)
	}
	if len(rest) > 0 && rest[0] != "at" && rest[0] != "in" {
		return constNode(vMaybe)
	}
	for _, id := range ids {
		if _, ok := c.r.strs[id]; !ok {
			return constNode(vMaybe)
		}
	}
	k := 0
	switch t[0] {
	case "any":
		k = 1
	case "all":
		k = len(ids)
	default:
		n, ok := number(t[0])
		if !ok {
			return constNode(vMaybe) // none, percentages
		}
		k = int(n)
	}
	if k < 1 || len(ids) == 0 {
		return constNode(vMaybe)
	}
	return ofNode{k: k, ids: ids}
}

func isCompare(op string) bool {
	switch op {
	case "<", "<=", ">", ">=", "==", "!=":
		return true
	}
	return false
}

// number parses YARA integers: decimal, 0x hex, 0o octal, KB/MB suffixes.
func number(s string) (int64, bool) {
	mul := int64(1)
	switch {
	case strings.HasSuffix(s, "KB"):
		mul, s = 1024, strings.TrimSuffix(s, "KB")
	case strings.HasSuffix(s, "MB"):
		mul, s = 1024*1024, strings.TrimSuffix(s, "MB")
	}
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n * mul, true
}
