package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxDocumentSize bounds one policy document; rule files come from users and
// may be hostile.
const MaxDocumentSize = 4 << 20

// Pos is a position in a policy document.
type Pos struct {
	File   string
	Line   int // 1-based
	Column int // 1-based
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Error is one problem in a document, at a position.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return "policy: " + e.Pos.String() + ": " + e.Msg }

// Priority orders rules and alerts.
type Priority string

// Priorities, most severe first.
const (
	Critical Priority = "critical"
	High     Priority = "high"
	Medium   Priority = "medium"
	Low      Priority = "low"
	Info     Priority = "info"
)

// Rank is 0 for critical ... 4 for info, 5 for anything else.
func (p Priority) Rank() int {
	switch p {
	case Critical:
		return 0
	case High:
		return 1
	case Medium:
		return 2
	case Low:
		return 3
	case Info:
		return 4
	}
	return 5
}

// List is a named list of strings.
type List struct {
	Name   string
	Items  []string
	Append bool // add to a list of the same name from an earlier document
	Pos    Pos
}

// Macro is a named CEL fragment.
type Macro struct {
	Name    string
	Expr    string
	Pos     Pos
	exprPos exprPos
}

// Exception is a CEL condition that, when true, stops a rule from matching.
type Exception struct {
	Expr    string
	Pos     Pos
	exprPos exprPos
}

// Rule is one policy rule as written in a document.
type Rule struct {
	ID          string
	Description string
	Message     string
	Condition   string
	Action      string
	Priority    Priority
	Tags        []string
	Exceptions  []Exception
	Enabled     bool
	Labels      map[string]string
	Pos         Pos // position of the rule's mapping

	toggleOnly bool // only id and enabled were given
	condPos    exprPos
}

// Document is one parsed policy file.
type Document struct {
	Name   string
	Lists  []List
	Macros []Macro
	Rules  []Rule
}

// exprPos locates a CEL expression's text in the YAML source so CEL error
// positions (line/column inside the expression) can be mapped back.
type exprPos struct {
	pos     Pos
	literal bool // block literal: expression line n is YAML line pos.Line+n
	indent  int  // column of the block's content (1-based) for literal blocks
	quoted  bool
}

func (e exprPos) at(line, col int) Pos {
	p := e.pos
	switch {
	case e.literal:
		p.Line += line
		p.Column = e.indent + col
	case line <= 1:
		p.Column += col
		if e.quoted {
			p.Column++
		}
	default:
		// Folded or multi-line flow scalars lose their layout; point at the
		// expression's first line.
	}
	return p
}

var namePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseFile reads and parses one document.
func ParseFile(path string) (*Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxDocumentSize+1)); err != nil {
		return nil, fmt.Errorf("policy: %s: %w", path, err)
	}
	return Parse(path, buf.Bytes())
}

// ParsePaths parses files and directories (every *.yaml / *.yml file in a
// directory, sorted by name, not recursive) in the order given.
func ParsePaths(paths ...string) ([]*Document, error) {
	var docs []*Document
	var errs []error
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("policy: %w", err))
			continue
		}
		files := []string{p}
		if st.IsDir() {
			files = nil
			ents, err := os.ReadDir(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("policy: %w", err))
				continue
			}
			for _, e := range ents {
				if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
					files = append(files, filepath.Join(p, e.Name()))
				}
			}
			sort.Strings(files)
		}
		for _, f := range files {
			d, err := ParseFile(f)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			docs = append(docs, d)
		}
	}
	return docs, errors.Join(errs...)
}

// Parse parses one policy document. name is used in error positions.
// Unknown keys, wrong types, duplicate ids or names, bad priorities and CEL
// syntax errors are all reported, each with its file:line:column.
func Parse(name string, data []byte) (*Document, error) {
	if len(data) > MaxDocumentSize {
		return nil, &Error{Pos{File: name}, fmt.Sprintf("document larger than %d bytes", MaxDocumentSize)}
	}
	p := &parser{name: name, doc: &Document{Name: name}}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &Error{Pos{File: name}, yamlErr(err)}
	}
	if root.Kind == 0 { // empty document
		return p.doc, nil
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		p.document(root.Content[0])
	} else {
		p.errf(&root, "expected one YAML document")
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return p.doc, nil
}

func yamlErr(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

type parser struct {
	name string
	doc  *Document
	errs []error
}

func (p *parser) pos(n *yaml.Node) Pos { return Pos{File: p.name, Line: n.Line, Column: n.Column} }

func (p *parser) errf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, &Error{p.pos(n), fmt.Sprintf(format, args...)})
}

// fields walks a mapping node, calling f for each key; duplicate and
// non-string keys are errors.
func (p *parser) fields(n *yaml.Node, what string, f func(key string, k, v *yaml.Node)) bool {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		p.errf(n, "%s: expected a mapping, got %s", what, kind(n))
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.errf(k, "%s: keys must be strings", what)
			continue
		}
		if seen[k.Value] {
			p.errf(k, "%s: duplicate key %q", what, k.Value)
			continue
		}
		seen[k.Value] = true
		f(k.Value, k, v)
	}
	return true
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a scalar"
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errf(n, "%s: expected a string, got %s", what, kind(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) strs(n *yaml.Node, what string) []string {
	if n.Kind != yaml.SequenceNode {
		p.errf(n, "%s: expected a list of strings, got %s", what, kind(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		if s, ok := p.str(resolve(c), what); ok {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, true
		}
	}
	p.errf(n, "%s: expected true or false", what)
	return false, false
}

func (p *parser) expr(n *yaml.Node, what string) (string, exprPos, bool) {
	s, ok := p.str(n, what)
	if !ok {
		return "", exprPos{}, false
	}
	if strings.TrimSpace(s) == "" {
		p.errf(n, "%s: empty expression", what)
		return "", exprPos{}, false
	}
	ep := exprPos{pos: p.pos(n)}
	switch n.Style {
	case yaml.LiteralStyle:
		ep.literal = true
		ep.indent = n.Column + 1 // best effort: content is indented past the key
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		ep.quoted = true
	}
	ep.pos.Column-- // exprPos.at adds the 1-based CEL column
	return s, ep, true
}

func (p *parser) document(n *yaml.Node) {
	p.fields(n, "document", func(key string, k, v *yaml.Node) {
		switch key {
		case "lists":
			p.lists(v)
		case "macros":
			p.macros(v)
		case "rules":
			p.rules(v)
		default:
			p.errf(k, "unknown top-level key %q (want lists, macros, rules)", key)
		}
	})
}

func (p *parser) lists(n *yaml.Node) {
	seen := map[string]bool{}
	p.fields(n, "lists", func(name string, k, v *yaml.Node) {
		if !namePattern.MatchString(name) {
			p.errf(k, "list name %q: must be an identifier ([A-Za-z_][A-Za-z0-9_]*)", name)
			return
		}
		seen[name] = true
		l := List{Name: name, Pos: p.pos(k)}
		switch v.Kind {
		case yaml.SequenceNode:
			l.Items = p.strs(v, "list "+name)
		case yaml.MappingNode:
			gotItems := false
			p.fields(v, "list "+name, func(key string, kk, vv *yaml.Node) {
				switch key {
				case "items":
					gotItems = true
					l.Items = p.strs(vv, "list "+name+" items")
				case "append":
					l.Append, _ = p.boolean(vv, "list "+name+" append")
				default:
					p.errf(kk, "list %s: unknown key %q (want items, append)", name, key)
				}
			})
			if !gotItems {
				p.errf(v, "list %s: missing items", name)
			}
		default:
			p.errf(v, "list %s: expected a list of strings or {items, append}, got %s", name, kind(v))
			return
		}
		p.doc.Lists = append(p.doc.Lists, l)
	})
}

func (p *parser) macros(n *yaml.Node) {
	p.fields(n, "macros", func(name string, k, v *yaml.Node) {
		if !namePattern.MatchString(name) {
			p.errf(k, "macro name %q: must be an identifier ([A-Za-z_][A-Za-z0-9_]*)", name)
			return
		}
		for _, l := range p.doc.Lists {
			if l.Name == name {
				p.errf(k, "macro %s: a list of the same name is defined at %s", name, l.Pos)
				return
			}
		}
		s, ep, ok := p.expr(v, "macro "+name)
		if !ok {
			return
		}
		p.doc.Macros = append(p.doc.Macros, Macro{Name: name, Expr: s, Pos: p.pos(k), exprPos: ep})
	})
}

func (p *parser) rules(n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		p.errf(n, "rules: expected a list of rules, got %s", kind(n))
		return
	}
	ids := map[string]Pos{}
	for _, rn := range n.Content {
		rn = resolve(rn)
		r := Rule{Enabled: true, Priority: Medium, Pos: p.pos(rn)}
		var keys []string
		ok := p.fields(rn, "rule", func(key string, k, v *yaml.Node) {
			keys = append(keys, key)
			what := "rule"
			if r.ID != "" {
				what = "rule " + r.ID
			}
			switch key {
			case "id":
				if s, ok := p.str(v, "rule id"); ok {
					if s == "" || strings.ContainsAny(s, " \t\n") {
						p.errf(v, "rule id %q: must be non-empty without spaces", s)
					}
					r.ID = s
				}
			case "description":
				r.Description, _ = p.str(v, what+" description")
			case "message":
				r.Message, _ = p.str(v, what+" message")
			case "condition":
				r.Condition, r.condPos, _ = p.expr(v, what+" condition")
			case "action":
				r.Action, _ = p.str(v, what+" action")
			case "priority":
				if s, ok := p.str(v, what+" priority"); ok {
					r.Priority = Priority(strings.ToLower(s))
					if r.Priority.Rank() > 4 {
						p.errf(v, "%s priority %q: want critical, high, medium, low or info", what, s)
					}
				}
			case "tags":
				r.Tags = p.strs(v, what+" tags")
			case "exceptions":
				if v.Kind != yaml.SequenceNode {
					p.errf(v, "%s exceptions: expected a list of CEL expressions, got %s", what, kind(v))
					return
				}
				for _, en := range v.Content {
					if s, ep, ok := p.expr(resolve(en), what+" exception"); ok {
						r.Exceptions = append(r.Exceptions, Exception{Expr: s, Pos: p.pos(en), exprPos: ep})
					}
				}
			case "enabled":
				r.Enabled, _ = p.boolean(v, what+" enabled")
			case "labels":
				r.Labels = map[string]string{}
				p.fields(v, what+" labels", func(lk string, _, lv *yaml.Node) {
					r.Labels[lk], _ = p.str(lv, what+" label "+lk)
				})
			default:
				p.errf(k, "%s: unknown key %q (want id, description, message, condition, action, priority, tags, exceptions, enabled, labels)", what, key)
			}
		})
		if !ok {
			continue
		}
		if r.ID == "" {
			p.errf(rn, "rule: missing id")
			continue
		}
		if prev, dup := ids[r.ID]; dup {
			p.errf(rn, "rule %s: duplicate id (first defined at %s)", r.ID, prev)
			continue
		}
		ids[r.ID] = r.Pos
		r.toggleOnly = onlyKeys(keys, "id", "enabled")
		if r.Condition == "" && !r.toggleOnly {
			p.errf(rn, "rule %s: missing condition", r.ID)
			continue
		}
		p.doc.Rules = append(p.doc.Rules, r)
	}
}

func onlyKeys(keys []string, allowed ...string) bool {
	for _, k := range keys {
		found := false
		for _, a := range allowed {
			found = found || k == a
		}
		if !found {
			return false
		}
	}
	return true
}
