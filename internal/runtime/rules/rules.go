// Package rules is the runtime agent's detection: YAML rule documents (the
// shared internal/policy format) whose CEL conditions read one event.Event
// and its container. The built-in rules (default_rules.yaml, embedded) are
// merged with user files; lists of network indicators (mining pools,
// known-malicious hosts and addresses, maltrail "trails" files) are loaded at
// run time from configurable paths and reached from conditions through the
// mining_pool, malicious and malicious_addr functions (see Env).
//
// Rules are indexed by the event kinds their condition requires (a top-level
// `kind == "exec"` or `kind in [...]`, through macros), so an event is
// evaluated only against the rules that can match it.
package rules

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/policy"
	"github.com/picket-cdr/picket/internal/runtime/event"
)

//go:embed default_rules.yaml
var defaultRules []byte

// DefaultRulesName is the document name of the built-in rules in errors.
const DefaultRulesName = "builtin:default_rules.yaml"

// DefaultRules returns the built-in rules document's text.
func DefaultRules() []byte { return append([]byte(nil), defaultRules...) }

// Options configure Load.
type Options struct {
	// NoDefaults leaves the built-in rules out.
	NoDefaults bool
	// Files are user rule files (or directories of *.yaml), merged in order
	// after the built-in rules.
	Files []string
	// Documents are extra rule documents (name -> YAML), merged after Files.
	Documents map[string][]byte
	// MiningPools are trails files of mining-pool hosts and addresses (e.g.
	// ../shared/data/trails/crypto_mining.txt).
	MiningPools []string
	// Malicious are trails files of known-malicious hosts and addresses.
	Malicious []string
	// NoMemo evaluates every rule for every event, without the decision
	// memo (see memo.go); for comparisons.
	NoMemo bool
}

// Engine evaluates compiled rules over events. It is safe for concurrent use.
type Engine struct {
	set    *policy.Set
	byKind map[event.Kind]*policy.Set
	any    *policy.Set // rules whose kinds are not known statically
	memos  map[event.Kind]*memo
	anyMem *memo
	mining *Intel
	bad    *Intel
}

// Load parses and compiles the built-in rules and the user's, and loads the
// indicator files. Every problem is reported with its file and line.
func Load(opts Options) (*Engine, error) {
	mining, bad := NewIntel(), NewIntel()
	var errs []error
	for _, p := range opts.MiningPools {
		if err := mining.LoadFile(p); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range opts.Malicious {
		if err := bad.LoadFile(p); err != nil {
			errs = append(errs, err)
		}
	}
	var docs []*policy.Document
	if !opts.NoDefaults {
		d, err := policy.Parse(DefaultRulesName, defaultRules)
		if err != nil {
			errs = append(errs, err)
		}
		docs = append(docs, d)
	}
	if len(opts.Files) > 0 {
		ds, err := policy.ParsePaths(opts.Files...)
		if err != nil {
			errs = append(errs, err)
		}
		docs = append(docs, ds...)
	}
	for _, name := range sortedKeys(opts.Documents) {
		d, err := policy.Parse(name, opts.Documents[name])
		if err != nil {
			errs = append(errs, err)
		}
		docs = append(docs, d)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("rules: %w", errors.Join(errs...))
	}
	env, err := Env(mining, bad)
	if err != nil {
		return nil, fmt.Errorf("rules: CEL environment: %w", err)
	}
	set, err := policy.Compile(env, nonNil(docs)...)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	e := &Engine{set: set, byKind: map[event.Kind]*policy.Set{}, mining: mining, bad: bad}
	kinds := map[string]map[event.Kind]bool{}
	for _, r := range set.Rules() {
		ks, err := ruleKinds(env, r.Expr)
		if err != nil {
			return nil, fmt.Errorf("rules: rule %s: %w", r.ID, err)
		}
		kinds[r.ID] = ks
	}
	e.any = set.Select(func(r *policy.CompiledRule) bool { return kinds[r.ID] == nil })
	seen := map[event.Kind]bool{}
	for _, ks := range kinds {
		for k := range ks {
			seen[k] = true
		}
	}
	for k := range seen {
		e.byKind[k] = set.Select(func(r *policy.CompiledRule) bool { return kinds[r.ID] == nil || kinds[r.ID][k] })
	}
	if !opts.NoMemo {
		macros := map[string]string{}
		lists := map[string]bool{}
		for _, d := range docs {
			if d == nil {
				continue
			}
			for _, m := range d.Macros {
				macros[m.Name] = m.Expr
			}
			for _, l := range d.Lists {
				lists[l.Name] = true
			}
		}
		paths := map[string][]string{}
		order := map[*policy.CompiledRule]int{}
		for i, r := range set.Rules() {
			order[r] = i
			if ps, ok := rulePaths(env, r, macros, lists); ok {
				paths[r.ID] = ps
			}
		}
		e.memos = map[event.Kind]*memo{}
		for k, s := range e.byKind {
			e.memos[k] = newMemo(s, paths, order)
		}
		e.anyMem = newMemo(e.any, paths, order)
	}
	return e, nil
}

func nonNil(ds []*policy.Document) []*policy.Document {
	out := ds[:0:0]
	for _, d := range ds {
		if d != nil {
			out = append(out, d)
		}
	}
	return out
}

func sortedKeys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}

// Rules returns every compiled rule (enabled or not) in merged order.
func (e *Engine) Rules() []*policy.CompiledRule { return e.set.Rules() }

// IntelSizes reports how many indicators were loaded.
func (e *Engine) IntelSizes() (mining, malicious int) { return e.mining.Len(), e.bad.Len() }

// Hit is a rule that matched an event.
type Hit struct {
	Rule *policy.CompiledRule
	// Message is the rule's message with {field.path} placeholders filled
	// from the event.
	Message string
}

// Eval returns the rules that match ev, in rule order. Rules that fail to
// evaluate are skipped and reported in err (as *policy.EvalError values).
func (e *Engine) Eval(ctx context.Context, ev *event.Event) ([]Hit, error) {
	act := Activation(ev)
	evalSet := func(s *policy.Set) ([]*policy.CompiledRule, error) {
		ms, err := s.Eval(ctx, act)
		if len(ms) == 0 {
			return nil, err
		}
		rs := make([]*policy.CompiledRule, len(ms))
		for i, m := range ms {
			rs[i] = m.Rule
		}
		return rs, err
	}
	var rs []*policy.CompiledRule
	var err error
	if e.memos != nil {
		m := e.memos[ev.Kind]
		if m == nil {
			m = e.anyMem
		}
		rs, err = m.eval(ev, evalSet)
	} else {
		set := e.byKind[ev.Kind]
		if set == nil {
			set = e.any
		}
		rs, err = evalSet(set)
	}
	if len(rs) == 0 {
		return nil, err
	}
	hits := make([]Hit, len(rs))
	for i, r := range rs {
		hits[i] = Hit{Rule: r, Message: Render(r.Message, ev)}
		if hits[i].Message == "" {
			hits[i].Message = r.Description
		}
	}
	return hits, err
}

// Severity maps a rule priority to a finding severity.
func Severity(p policy.Priority) finding.Severity {
	switch p {
	case policy.Critical:
		return finding.Critical
	case policy.High:
		return finding.High
	case policy.Medium:
		return finding.Medium
	case policy.Low:
		return finding.Low
	case policy.Info:
		return finding.Info
	}
	return finding.Unknown
}

// ruleKinds returns the event kinds a condition can match, or nil when any.
func ruleKinds(env *cel.Env, expr string) (map[event.Kind]bool, error) {
	ast, iss := env.Parse(expr)
	if iss != nil && iss.Err() != nil {
		return nil, iss.Err()
	}
	return kindsOf(ast.NativeRep().Expr()), nil
}

func kindsOf(e celast.Expr) map[event.Kind]bool {
	if e.Kind() != celast.CallKind {
		return nil
	}
	c := e.AsCall()
	args := c.Args()
	switch c.FunctionName() {
	case operators.LogicalAnd:
		a, b := kindsOf(args[0]), kindsOf(args[1])
		switch {
		case a == nil:
			return b
		case b == nil:
			return a
		}
		out := map[event.Kind]bool{}
		for k := range a {
			if b[k] {
				out[k] = true
			}
		}
		return out
	case operators.LogicalOr:
		a, b := kindsOf(args[0]), kindsOf(args[1])
		if a == nil || b == nil {
			return nil
		}
		for k := range b {
			a[k] = true
		}
		return a
	case operators.Equals:
		if isKindIdent(args[0]) {
			if s, ok := stringLit(args[1]); ok {
				return map[event.Kind]bool{event.Kind(s): true}
			}
		}
		if isKindIdent(args[1]) {
			if s, ok := stringLit(args[0]); ok {
				return map[event.Kind]bool{event.Kind(s): true}
			}
		}
	case operators.In:
		if isKindIdent(args[0]) && args[1].Kind() == celast.ListKind {
			out := map[event.Kind]bool{}
			for _, el := range args[1].AsList().Elements() {
				s, ok := stringLit(el)
				if !ok {
					return nil
				}
				out[event.Kind(s)] = true
			}
			return out
		}
	}
	return nil
}

func isKindIdent(e celast.Expr) bool { return e.Kind() == celast.IdentKind && e.AsIdent() == "kind" }

func stringLit(e celast.Expr) (string, bool) {
	if e.Kind() != celast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().Value().(string)
	return s, ok
}

// Render fills {a.b} placeholders of msg with the event's fields (json
// names, as in conditions); unknown names are left as they are.
func Render(msg string, ev *event.Event) string {
	if !strings.Contains(msg, "{") {
		return msg
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(msg, '{')
		if i < 0 {
			b.WriteString(msg)
			break
		}
		j := strings.IndexByte(msg[i:], '}')
		if j < 0 {
			b.WriteString(msg)
			break
		}
		name := msg[i+1 : i+j]
		b.WriteString(msg[:i])
		if v, ok := field(ev, name); ok {
			b.WriteString(v)
		} else {
			b.WriteString(msg[i : i+j+1])
		}
		msg = msg[i+j+1:]
	}
	return b.String()
}
