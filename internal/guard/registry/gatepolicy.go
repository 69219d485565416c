package registry

import (
	"context"
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/picket-cdr/picket/internal/policy"
)

// GateInput is what the pull gate's policy decides on.
type GateInput struct {
	Repository string
	Reference  string
	Digest     string
	Identity   string
	Verdict    *Verdict
	Signed     bool
}

// GatePolicy decides whether a scanned image may be pulled: it returns the
// reasons it must not be (none: allowed). An error denies the pull.
type GatePolicy interface {
	Evaluate(ctx context.Context, in GateInput) ([]string, error)
}

//go:embed policies/default.yaml
var defaultPolicy []byte

// Gate policy actions.
const (
	ActionDeny = "deny"
	ActionWarn = "warn"
)

// CELPolicy is a pull-gate policy written in Picket's policy language
// (internal/policy: YAML rules with CEL conditions).
type CELPolicy struct {
	set *policy.Set
}

// GateEnv is the CEL environment of gate conditions.
func GateEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("image", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("verdict", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("identity", cel.StringType),
	)
}

// DefaultGatePolicy is the built-in policy alone.
func DefaultGatePolicy() (*CELPolicy, error) { return LoadGatePolicy() }

// LoadGatePolicy compiles the built-in policy followed by user policy
// files (merged by rule id).
func LoadGatePolicy(paths ...string) (*CELPolicy, error) {
	base, err := policy.Parse("builtin:registry-gate.yaml", defaultPolicy)
	if err != nil {
		return nil, fmt.Errorf("registry: built-in gate policy: %w", err)
	}
	docs := []*policy.Document{base}
	if len(paths) > 0 {
		user, err := policy.ParsePaths(paths...)
		if err != nil {
			return nil, fmt.Errorf("registry: gate policy: %w", err)
		}
		docs = append(docs, user...)
	}
	env, err := GateEnv()
	if err != nil {
		return nil, fmt.Errorf("registry: gate policy: %w", err)
	}
	set, err := policy.Compile(env, docs...)
	if err != nil {
		return nil, fmt.Errorf("registry: gate policy: %w", err)
	}
	for _, r := range set.Rules() {
		if r.Action != ActionDeny && r.Action != ActionWarn {
			return nil, fmt.Errorf("registry: gate policy: rule %s: action %q (want deny or warn)", r.ID, r.Action)
		}
	}
	return &CELPolicy{set: set}, nil
}

// Evaluate implements GatePolicy. A rule that fails to evaluate denies
// (fail closed).
func (p *CELPolicy) Evaluate(ctx context.Context, in GateInput) ([]string, error) {
	matches, err := p.set.Eval(ctx, activation(in))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		if m.Rule.Action != ActionDeny {
			continue
		}
		msg := m.Rule.Message
		if msg == "" {
			msg = m.Rule.ID
		}
		out = append(out, fmt.Sprintf("%s [%s]%s", msg, m.Rule.ID, evidence(in.Verdict, m.Rule.ID)))
	}
	return out, nil
}

// evidence names a few findings behind a vulnerability rule, so the
// client sees what to fix.
func evidence(v *Verdict, rule string) string {
	sev := ""
	switch rule {
	case "no-critical-vulnerabilities":
		sev = "CRITICAL"
	case "no-high-vulnerabilities":
		sev = "HIGH"
	default:
		return ""
	}
	var ids []string
	for _, f := range v.Findings {
		if f.Kind == "vulnerability" && f.Severity == sev && !slices.Contains(ids, f.ID) {
			ids = append(ids, f.ID)
			if len(ids) == 5 {
				break
			}
		}
	}
	s := fmt.Sprintf(": %d %s", v.Vulnerabilities[sev], sev)
	if len(ids) > 0 {
		s += " (" + strings.Join(ids, ", ") + ")"
	}
	return s
}

func activation(in GateInput) map[string]any {
	v := in.Verdict
	sev := func(s string) int64 { return int64(v.Vulnerabilities[s]) }
	findings := make([]any, 0, len(v.Findings))
	for _, f := range v.Findings {
		attrs := map[string]any{}
		for k, x := range f.Attrs {
			attrs[k] = x
		}
		findings = append(findings, map[string]any{"kind": f.Kind, "severity": f.Severity, "id": f.ID, "title": f.Title, "attributes": attrs})
	}
	kinds := map[string]any{}
	for k, n := range v.Kinds {
		kinds[k] = int64(n)
	}
	age := -1.0
	if !v.DBUpdatedAt.IsZero() {
		age = time.Since(v.DBUpdatedAt).Hours()
	}
	return map[string]any{
		"identity": in.Identity,
		"image": map[string]any{
			"repository": in.Repository, "reference": in.Reference, "digest": in.Digest, "signed": in.Signed,
		},
		"verdict": map[string]any{
			"critical": sev("CRITICAL"), "high": sev("HIGH"), "medium": sev("MEDIUM"), "low": sev("LOW"),
			"unknown": sev("UNKNOWN"), "packages": int64(v.Packages), "scanned_at": v.ScannedAt,
			"db_age_hours": age, "kinds": kinds, "findings": findings,
		},
	}
}
