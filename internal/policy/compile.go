package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"
)

// DefaultCostLimit bounds the work one condition may do per evaluation
// (cel-go's abstract cost units). A condition over a request or an event
// needs a few hundred; the limit stops a hostile or careless rule (nested
// comprehensions over large lists) from stalling a proxy or an agent.
const DefaultCostLimit = 1_000_000

// reserved are CEL keywords and literals that cannot name a list or macro.
var reserved = map[string]bool{
	"true": true, "false": true, "null": true, "in": true, "as": true, "break": true,
	"const": true, "continue": true, "else": true, "for": true, "function": true, "if": true,
	"import": true, "let": true, "loop": true, "package": true, "namespace": true,
	"return": true, "var": true, "void": true, "while": true,
}

// CompiledRule is a rule of a Set with its expanded condition.
type CompiledRule struct {
	Rule
	// Expr is the condition after macro and list expansion.
	Expr string

	cond       cel.Program
	exceptions []cel.Program
}

// Set is a compiled, merged set of rules, safe for concurrent use.
type Set struct {
	rules   []*CompiledRule
	enabled []*CompiledRule
	lists   map[string][]string
}

// Match is one rule that matched.
type Match struct {
	Rule *CompiledRule
}

// EvalError is a rule whose condition or an exception failed to evaluate.
type EvalError struct {
	RuleID string
	Err    error
}

func (e *EvalError) Error() string { return fmt.Sprintf("policy: rule %s: %v", e.RuleID, e.Err) }
func (e *EvalError) Unwrap() error { return e.Err }

// Option changes how Compile builds programs.
type Option func(*options)

type options struct {
	costLimit uint64
}

// WithCostLimit sets the per-condition cost limit (0: DefaultCostLimit).
func WithCostLimit(n uint64) Option { return func(o *options) { o.costLimit = n } }

// Compile merges documents in order and compiles every rule against env,
// which declares the variables conditions may read. Conditions must be of
// type bool (or dyn, checked at evaluation). Every error is reported with
// its position.
func Compile(env *cel.Env, docs ...*Document) (*Set, error) {
	return CompileWith(env, nil, docs...)
}

// CompileWith is Compile with options.
func CompileWith(env *cel.Env, opts []Option, docs ...*Document) (*Set, error) {
	o := options{costLimit: DefaultCostLimit}
	for _, f := range opts {
		f(&o)
	}
	if o.costLimit == 0 {
		o.costLimit = DefaultCostLimit
	}
	var errs []error
	fail := func(p Pos, format string, args ...any) {
		errs = append(errs, &Error{p, fmt.Sprintf(format, args...)})
	}

	// Merge lists and macros.
	lists := map[string][]string{}
	listPos := map[string]Pos{}
	macros := map[string]string{}
	macroPos := map[string]exprPos{}
	macroDecl := map[string]Pos{}
	for _, d := range docs {
		for _, l := range d.Lists {
			if reserved[l.Name] {
				fail(l.Pos, "list name %q is a CEL keyword", l.Name)
				continue
			}
			if _, ok := macros[l.Name]; ok {
				fail(l.Pos, "list %s: a macro of the same name is defined at %s", l.Name, macroDecl[l.Name])
				continue
			}
			if l.Append {
				if _, ok := lists[l.Name]; !ok {
					fail(l.Pos, "list %s: append to a list that no earlier document defines", l.Name)
					continue
				}
				lists[l.Name] = append(lists[l.Name], l.Items...)
			} else {
				lists[l.Name] = append([]string(nil), l.Items...)
			}
			listPos[l.Name] = l.Pos
		}
		for _, m := range d.Macros {
			if reserved[m.Name] {
				fail(m.Pos, "macro name %q is a CEL keyword", m.Name)
				continue
			}
			if _, ok := lists[m.Name]; ok {
				fail(m.Pos, "macro %s: a list of the same name is defined at %s", m.Name, listPos[m.Name])
				continue
			}
			macros[m.Name] = m.Expr
			macroPos[m.Name] = m.exprPos
			macroDecl[m.Name] = m.Pos
		}
	}
	// Splice lists named inside lists (one level, then recursively, with a
	// depth bound against cycles).
	for name := range lists {
		items, err := spliceList(lists, name, 0)
		if err != nil {
			fail(listPos[name], "list %s: %v", name, err)
			continue
		}
		lists[name] = items
	}
	for name, ex := range macros {
		if _, iss := env.Parse(ex); iss != nil && iss.Err() != nil {
			errs = append(errs, celErrors(macroPos[name], "macro "+name, iss)...)
			delete(macros, name)
		}
	}
	exp := newExpander(macros, lists)
	for name := range macros {
		if _, err := exp.macro(name); err != nil {
			fail(macroDecl[name], "macro %s: %v", name, err)
		}
	}

	// Merge rules.
	var order []string
	byID := map[string]*Rule{}
	for _, d := range docs {
		for i := range d.Rules {
			r := d.Rules[i]
			prev, seen := byID[r.ID]
			switch {
			case r.toggleOnly && seen:
				prev.Enabled = r.Enabled
			case r.toggleOnly:
				fail(r.Pos, "rule %s: enables or disables a rule that no earlier document defines", r.ID)
			case seen:
				*prev = r
			default:
				rr := r
				byID[r.ID] = &rr
				order = append(order, r.ID)
			}
		}
	}

	s := &Set{lists: lists}
	progOpts := []cel.ProgramOption{
		cel.EvalOptions(cel.OptOptimize),
		cel.CostLimit(o.costLimit),
	}
	compile := func(ep exprPos, what, src string) (cel.Program, string, bool) {
		if _, iss := env.Parse(src); iss != nil && iss.Err() != nil {
			errs = append(errs, celErrors(ep, what, iss)...)
			return nil, "", false
		}
		expanded, err := exp.expand(src)
		if err != nil {
			fail(ep.at(1, 1), "%s: %v", what, err)
			return nil, "", false
		}
		ast, iss := env.Compile(expanded)
		if iss != nil && iss.Err() != nil {
			if expanded == src {
				errs = append(errs, celErrors(ep, what, iss)...)
			} else {
				var msgs []string
				for _, e := range iss.Errors() {
					msgs = append(msgs, e.Message)
				}
				fail(ep.at(1, 1), "%s (after expanding macros and lists): %s", what, strings.Join(msgs, "; "))
			}
			return nil, "", false
		}
		if t := ast.OutputType(); !t.IsExactType(types.BoolType) && !t.IsExactType(types.DynType) {
			fail(ep.at(1, 1), "%s: must be a bool expression, is %s", what, t)
			return nil, "", false
		}
		prg, err := env.Program(ast, progOpts...)
		if err != nil {
			fail(ep.at(1, 1), "%s: %v", what, err)
			return nil, "", false
		}
		return prg, expanded, true
	}
	for _, id := range order {
		r := byID[id]
		cr := &CompiledRule{Rule: *r}
		ok := true
		cr.cond, cr.Expr, ok = compile(r.condPos, "rule "+id+" condition", r.Condition)
		for _, ex := range r.Exceptions {
			prg, _, eok := compile(ex.exprPos, "rule "+id+" exception", ex.Expr)
			ok = ok && eok
			cr.exceptions = append(cr.exceptions, prg)
		}
		if !ok {
			continue
		}
		s.rules = append(s.rules, cr)
		if cr.Enabled {
			s.enabled = append(s.enabled, cr)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func spliceList(lists map[string][]string, name string, depth int) ([]string, error) {
	if depth > 16 {
		return nil, errors.New("lists nested too deeply or in a cycle")
	}
	var out []string
	for _, it := range lists[name] {
		if _, ok := lists[it]; ok && it != name {
			items, err := spliceList(lists, it, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, items...)
			continue
		}
		out = append(out, it)
	}
	return out, nil
}

func celErrors(ep exprPos, what string, iss *cel.Issues) []error {
	var out []error
	for _, e := range iss.Errors() {
		p := ep.at(e.Location.Line(), e.Location.Column()+1)
		out = append(out, &Error{p, what + ": " + e.Message})
	}
	return out
}

// Rules returns every compiled rule (enabled or not) in merged order.
func (s *Set) Rules() []*CompiledRule { return s.rules }

// List returns a merged list by name.
func (s *Set) List(name string) ([]string, bool) {
	l, ok := s.lists[name]
	return l, ok
}

// Select returns a Set holding the rules for which keep is true, sharing
// the compiled programs (e.g. the runtime rules for one event type).
func (s *Set) Select(keep func(*CompiledRule) bool) *Set {
	out := &Set{lists: s.lists}
	for _, r := range s.rules {
		if keep(r) {
			out.rules = append(out.rules, r)
			if r.Enabled {
				out.enabled = append(out.enabled, r)
			}
		}
	}
	return out
}

// Activation converts vars (a map[string]any or an
// interpreter.Activation) once, so that a caller evaluating several Sets over
// the same input pays for the conversion only once.
func Activation(vars any) (interpreter.Activation, error) {
	if a, ok := vars.(interpreter.Activation); ok {
		return a, nil
	}
	a, err := interpreter.NewActivation(vars)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return a, nil
}

// Eval evaluates every enabled rule over vars (a map[string]any or an
// interpreter.Activation) and returns the matches in merged order. Rules
// that fail to evaluate are skipped and reported as *EvalError values joined
// into err; matches are returned either way.
func (s *Set) Eval(ctx context.Context, vars any) ([]Match, error) {
	act, err := Activation(vars)
	if err != nil {
		return nil, err
	}
	var matches []Match
	var errs []error
	for _, r := range s.enabled {
		if err := ctx.Err(); err != nil {
			return matches, fmt.Errorf("policy: %w", err)
		}
		ok, err := r.Matches(act)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			matches = append(matches, Match{Rule: r})
		}
	}
	return matches, errors.Join(errs...)
}

// First returns the first enabled rule that matches, or nil. Evaluation
// stops at the first match or the first evaluation error, which a gate
// treats as a denial (fail closed).
func (s *Set) First(ctx context.Context, vars any) (*CompiledRule, error) {
	act, err := Activation(vars)
	if err != nil {
		return nil, err
	}
	for _, r := range s.enabled {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		ok, err := r.Matches(act)
		if err != nil {
			return r, err
		}
		if ok {
			return r, nil
		}
	}
	return nil, nil
}

// Matches evaluates the rule's condition and exceptions over act.
func (r *CompiledRule) Matches(act interpreter.Activation) (bool, error) {
	ok, err := evalBool(r.cond, act)
	if err != nil || !ok {
		if err != nil {
			return false, &EvalError{RuleID: r.ID, Err: err}
		}
		return false, nil
	}
	for i, ex := range r.exceptions {
		hit, err := evalBool(ex, act)
		if err != nil {
			return false, &EvalError{RuleID: r.ID, Err: fmt.Errorf("exception %d: %w", i+1, err)}
		}
		if hit {
			return false, nil
		}
	}
	return true, nil
}

func evalBool(p cel.Program, act interpreter.Activation) (bool, error) {
	v, _, err := p.Eval(act)
	if err != nil {
		return false, err
	}
	b, ok := v.Value().(bool)
	if !ok {
		return false, fmt.Errorf("condition returned %s, not bool", v.Type().TypeName())
	}
	return b, nil
}
