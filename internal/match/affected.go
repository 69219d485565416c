package match

import (
	"fmt"
	"sort"

	"github.com/picket-cdr/picket/internal/version"
	"github.com/picket-cdr/picket/internal/vulndb"
)

// verdict is the outcome of checking one version against one affected entry.
type verdict struct {
	affected bool
	fixed    string // the first fixed version above the installed one, if any
}

// evaluate applies OSV's range semantics: listed versions match exactly;
// in each SEMVER or ECOSYSTEM range the events, sorted by version, switch
// the state on ("introduced") and off ("fixed", past "last_affected", at
// "limit"). GIT ranges need commit graphs and are ignored here.
func evaluate(cmp, semver version.Comparer, v string, a vulndb.Affected) (verdict, error) {
	if a.HasVersion(v) {
		return verdict{affected: true, fixed: firstFixed(cmp, semver, v, a.Ranges)}, nil
	}
	for _, r := range a.Ranges {
		var c version.Comparer
		switch r.Type {
		case "SEMVER":
			c = semver
		case "ECOSYSTEM":
			c = cmp
		default:
			continue
		}
		hit, err := inRange(c, v, r.Events)
		if err != nil {
			return verdict{}, err
		}
		if hit {
			return verdict{affected: true, fixed: firstFixed(cmp, semver, v, []vulndb.Range{r})}, nil
		}
	}
	return verdict{}, nil
}

type event struct {
	kind string // "introduced", "fixed", "last_affected", "limit"
	ver  string
}

func events(evs []vulndb.Event) []event {
	out := make([]event, 0, len(evs))
	for _, e := range evs {
		switch {
		case e.Introduced != "":
			out = append(out, event{"introduced", e.Introduced})
		case e.Fixed != "":
			out = append(out, event{"fixed", e.Fixed})
		case e.LastAffected != "":
			out = append(out, event{"last_affected", e.LastAffected})
		case e.Limit != "":
			out = append(out, event{"limit", e.Limit})
		}
	}
	return out
}

func inRange(c version.Comparer, v string, evs []vulndb.Event) (bool, error) {
	if !c.Valid(v) {
		return false, fmt.Errorf("match: installed version %q is not valid for this ecosystem", v)
	}
	list := events(evs)
	for _, e := range list {
		if e.ver != "0" && e.ver != "*" && !c.Valid(e.ver) {
			return false, fmt.Errorf("match: range event version %q is not valid for this ecosystem", e.ver)
		}
	}
	var sortErr error
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.ver == "0" || b.ver == "0" {
			return a.ver == "0" && b.ver != "0"
		}
		n, err := c.Compare(a.ver, b.ver)
		if err != nil {
			sortErr = err
		}
		return n < 0
	})
	if sortErr != nil {
		return false, sortErr
	}
	affected := false
	for _, e := range list {
		if e.kind == "introduced" && e.ver == "0" {
			affected = true
			continue
		}
		if e.ver == "*" { // limit "*": no upper limit
			continue
		}
		n, err := c.Compare(v, e.ver)
		if err != nil {
			return false, err
		}
		switch e.kind {
		case "introduced":
			if n < 0 {
				return affected, nil
			}
			affected = true
		case "fixed", "limit":
			if n < 0 {
				return affected, nil
			}
			affected = false
		case "last_affected":
			if n <= 0 {
				return affected, nil
			}
			affected = false
		}
	}
	return affected, nil
}

// firstFixed returns the lowest fixed version above v in the ranges.
func firstFixed(c, semver version.Comparer, v string, ranges []vulndb.Range) string {
	best := ""
	for _, r := range ranges {
		cc := c
		if r.Type == "SEMVER" {
			cc = semver
		}
		for _, e := range r.Events {
			if e.Fixed == "" {
				continue
			}
			if n, err := cc.Compare(e.Fixed, v); err != nil || n <= 0 {
				continue
			}
			if best == "" {
				best = e.Fixed
			} else if n, err := cc.Compare(e.Fixed, best); err == nil && n < 0 {
				best = e.Fixed
			}
		}
	}
	return best
}
