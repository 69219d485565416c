package docker

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"

	"github.com/picket-cdr/picket/internal/policy"
)

//go:embed default-policy.yaml
var defaultPolicy []byte

// DefaultPolicy returns the embedded default policy document's source.
func DefaultPolicy() []byte { return append([]byte(nil), defaultPolicy...) }

// Actions a rule may take.
const (
	ActionDeny = "deny"
	ActionWarn = "warn"
)

// NewEnv returns the CEL environment of Docker policies: the variables
// identity, request, container, exec, image, build, plugin, volume (maps of
// string to dyn) and body (the raw JSON body), plus the function
// path_overlaps(path, list) — true when path equals, lies below or is an
// ancestor of an entry ("/" only matches itself or is matched by "/").
func NewEnv() (*cel.Env, error) {
	m := cel.MapType(cel.StringType, cel.DynType)
	return cel.NewEnv(
		cel.Variable("identity", m),
		cel.Variable("request", m),
		cel.Variable("container", m),
		cel.Variable("exec", m),
		cel.Variable("image", m),
		cel.Variable("build", m),
		cel.Variable("plugin", m),
		cel.Variable("volume", m),
		cel.Variable("body", cel.DynType),
		cel.Function("path_overlaps",
			cel.Overload("path_overlaps_string_list", []*cel.Type{cel.StringType, cel.ListType(cel.StringType)}, cel.BoolType,
				cel.BinaryBinding(func(p, l ref.Val) ref.Val {
					s, ok := p.Value().(string)
					if !ok {
						return types.NewErr("path_overlaps: path is not a string")
					}
					it := l.(traits.Lister).Iterator()
					for it.HasNext() == types.True {
						x, ok := it.Next().Value().(string)
						if ok && PathOverlaps(s, x) {
							return types.True
						}
					}
					return types.False
				}))),
	)
}

// PathOverlaps reports whether mounting host path p exposes x: p is x, p
// lies below x (x not "/"), or p is an ancestor of x.
func PathOverlaps(p, x string) bool {
	p, x = path.Clean(p), path.Clean(x)
	switch {
	case p == x || p == "/":
		return true
	case x == "/":
		return false
	}
	return strings.HasPrefix(p, x+"/") || strings.HasPrefix(x, p+"/")
}

// Policy is a compiled Docker policy, safe for concurrent use.
type Policy struct {
	set *policy.Set
}

// LoadPolicy compiles the default policy (unless withDefault is false)
// followed by the given documents, and checks every rule's action.
func LoadPolicy(withDefault bool, docs ...*policy.Document) (*Policy, error) {
	env, err := NewEnv()
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	if withDefault {
		d, err := policy.Parse("default-policy.yaml (built in)", defaultPolicy)
		if err != nil {
			return nil, err
		}
		docs = append([]*policy.Document{d}, docs...)
	}
	set, err := policy.Compile(env, docs...)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, r := range set.Rules() {
		if r.Action != ActionDeny && r.Action != ActionWarn {
			errs = append(errs, &policy.Error{Pos: r.Pos, Msg: fmt.Sprintf("rule %s: action %q: want deny or warn", r.ID, r.Action)})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Policy{set: set}, nil
}

// Rules returns the compiled rules.
func (p *Policy) Rules() []*policy.CompiledRule { return p.set.Rules() }

// Decision is the outcome for one request.
type Decision struct {
	Allow   bool
	Status  int    // HTTP status of a refusal
	Rule    string // first deciding rule ("acl", "bad-request", "body", a policy rule id)
	Message string // shown to the client
	Warn    []string
	Denied  []string // every deny rule that matched
	Elapsed time.Duration
}

// evaluate runs the policy over in.
func (p *Policy) evaluate(ctx context.Context, in *Input) Decision {
	ms, err := p.set.Eval(ctx, in.vars())
	d := Decision{Allow: true}
	var msgs []string
	for _, m := range ms {
		switch m.Rule.Action {
		case ActionDeny:
			d.Denied = append(d.Denied, m.Rule.ID)
			msg := m.Rule.Message
			if msg == "" {
				msg = m.Rule.Description
			}
			msgs = append(msgs, fmt.Sprintf("%s [%s]", msg, m.Rule.ID))
		case ActionWarn:
			d.Warn = append(d.Warn, m.Rule.ID)
		}
	}
	if err != nil {
		// Fail closed: a rule that cannot be evaluated denies.
		var ee *policy.EvalError
		id := "policy-error"
		if errors.As(err, &ee) {
			id = ee.RuleID
		}
		d.Denied = append(d.Denied, id)
		msgs = append(msgs, fmt.Sprintf("policy evaluation failed, refusing: %v", err))
	}
	if len(d.Denied) > 0 {
		d.Allow = false
		d.Status = 403
		d.Rule = d.Denied[0]
		d.Message = "picket: denied by policy: " + strings.Join(msgs, "; ")
	}
	return d
}
