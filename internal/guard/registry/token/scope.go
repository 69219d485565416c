// Package token implements the registry side of the distribution token
// authentication specification for Picket's registry guard: parsing of
// requested scopes ("repository:team/app:pull,push"), signed JWT bearer
// tokens (ES256, github.com/golang-jwt/jwt/v5) whose "access" claim lists
// the granted resources and actions, and their verification on every
// request against the scope the request needs.
//
// Untrusted input — scope strings, bearer tokens — gets bounded sizes and
// a clear error; the parsers are fuzzed.
package token

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Actions on repositories and on the registry catalog.
const (
	ActionPull   = "pull"
	ActionPush   = "push"
	ActionDelete = "delete"
	ActionAll    = "*"
)

// Resource types.
const (
	TypeRepository = "repository"
	TypeRegistry   = "registry"
)

// Limits on untrusted scope input.
const (
	MaxScopes      = 32
	MaxScopeLength = 512
	MaxNameLength  = 255
)

// ErrScope is wrapped by every scope parsing error.
var ErrScope = errors.New("token: invalid scope")

// Access is one entry of a token's access claim (and of a requested scope):
// a resource and the actions granted on it.
type Access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// String renders the access as a scope string.
func (a Access) String() string {
	return a.Type + ":" + a.Name + ":" + strings.Join(a.Actions, ",")
}

// Allows reports whether the access grants action on typ/name.
func (a Access) Allows(typ, name, action string) bool {
	return a.Type == typ && a.Name == name && (slices.Contains(a.Actions, action) || slices.Contains(a.Actions, ActionAll))
}

// nameComponent is the distribution spec's path component grammar.
var (
	nameRE     = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*$`)
	actionRE   = regexp.MustCompile(`^(?:[a-z]+|\*)$`)
	resClassRE = regexp.MustCompile(`^[a-z0-9]+$`)
)

// ValidRepository reports whether name is a repository name the
// distribution specification allows (lower-case components separated by
// single slashes, at most 255 characters): no "..", no empty component,
// nothing percent-encoded.
func ValidRepository(name string) bool {
	return len(name) > 0 && len(name) <= MaxNameLength && nameRE.MatchString(name)
}

// ParseScope parses one scope string of the token request, e.g.
// "repository:team/app:pull,push", "repository(plugin):x:pull" or
// "registry:catalog:*". The repository name is validated; unknown actions
// are kept (they are never granted), duplicates removed.
func ParseScope(s string) (Access, error) {
	if len(s) > MaxScopeLength {
		return Access{}, fmt.Errorf("%w: longer than %d bytes", ErrScope, MaxScopeLength)
	}
	typ, rest, ok := strings.Cut(s, ":")
	i := strings.LastIndexByte(rest, ':')
	if !ok || i < 0 {
		return Access{}, fmt.Errorf("%w: %q: want type:name:actions", ErrScope, s)
	}
	name, acts := rest[:i], rest[i+1:]
	// "repository(plugin)" carries a resource class the spec allows.
	if base, class, found := strings.Cut(typ, "("); found {
		if !strings.HasSuffix(class, ")") || !resClassRE.MatchString(strings.TrimSuffix(class, ")")) {
			return Access{}, fmt.Errorf("%w: %q: bad resource class", ErrScope, s)
		}
		typ = base
	}
	switch typ {
	case TypeRepository:
		// A name may carry a registry host in some clients' scopes
		// ("host:5000/app"): that is never a valid repository here.
		if !ValidRepository(name) {
			return Access{}, fmt.Errorf("%w: %q: invalid repository name", ErrScope, s)
		}
	case TypeRegistry:
		if name != "catalog" {
			return Access{}, fmt.Errorf("%w: %q: unknown registry resource", ErrScope, s)
		}
	default:
		return Access{}, fmt.Errorf("%w: %q: unknown resource type %q", ErrScope, s, typ)
	}
	a := Access{Type: typ, Name: name}
	if acts == "" {
		return Access{}, fmt.Errorf("%w: %q: no actions", ErrScope, s)
	}
	for _, act := range strings.Split(acts, ",") {
		if !actionRE.MatchString(act) {
			return Access{}, fmt.Errorf("%w: %q: bad action %q", ErrScope, s, act)
		}
		if !slices.Contains(a.Actions, act) {
			a.Actions = append(a.Actions, act)
		}
	}
	return a, nil
}

// ParseScopes parses the scope parameters of a token request. Each
// parameter may itself hold several space-separated scopes (as some
// clients send them). Entries for the same resource are merged.
func ParseScopes(params []string) ([]Access, error) {
	var out []Access
	n := 0
	for _, p := range params {
		for _, s := range strings.Fields(p) {
			if n++; n > MaxScopes {
				return nil, fmt.Errorf("%w: more than %d scopes", ErrScope, MaxScopes)
			}
			a, err := ParseScope(s)
			if err != nil {
				return nil, err
			}
			out = Merge(out, a)
		}
	}
	return out, nil
}

// Merge adds a to list, merging actions with an existing entry for the
// same resource.
func Merge(list []Access, a Access) []Access {
	for i := range list {
		if list[i].Type == a.Type && list[i].Name == a.Name {
			for _, act := range a.Actions {
				if !slices.Contains(list[i].Actions, act) {
					list[i].Actions = append(list[i].Actions, act)
				}
			}
			return list
		}
	}
	return append(list, Access{Type: a.Type, Name: a.Name, Actions: slices.Clone(a.Actions)})
}

// Intersect returns the actions of requested that are in allowed; "*" in
// requested means every allowed action, "*" in allowed grants anything
// requested. The result keeps requested's order and drops duplicates.
func Intersect(requested, allowed []string) []string {
	var out []string
	add := func(a string) {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, r := range requested {
		switch {
		case r == ActionAll:
			for _, a := range allowed {
				if a != ActionAll {
					add(a)
				}
			}
		case slices.Contains(allowed, r) || slices.Contains(allowed, ActionAll):
			add(r)
		}
	}
	return out
}
