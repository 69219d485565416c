package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// FailOn is a gate over a report: any of its conditions failing fails it.
type FailOn struct {
	conds []failCond
}

type failCond struct {
	text string
	eval func(r *Report) (bool, string)
}

// ParseFailOn parses a comma-separated list of conditions:
//
//	warn       any WARN
//	warn>N     more than N WARNs
//	level1     any WARN on a level-1 check
//	scored     any WARN on a scored check
//	skip       any SKIP (checks that could not run)
//	score<P    scored checks passed below P percent
//
// An empty spec never fails.
func ParseFailOn(spec string) (FailOn, error) {
	var f FailOn
	for _, raw := range strings.Split(spec, ",") {
		c := strings.ToLower(strings.TrimSpace(raw))
		if c == "" {
			continue
		}
		switch {
		case c == "warn":
			f.conds = append(f.conds, failCond{c, func(r *Report) (bool, string) {
				return r.Summary.Warn > 0, fmt.Sprintf("%d WARN", r.Summary.Warn)
			}})
		case strings.HasPrefix(c, "warn>"):
			n, err := strconv.Atoi(strings.TrimSpace(c[5:]))
			if err != nil || n < 0 {
				return FailOn{}, fmt.Errorf("bench: --fail-on %q: want warn>N with N >= 0", raw)
			}
			f.conds = append(f.conds, failCond{c, func(r *Report) (bool, string) {
				return r.Summary.Warn > n, fmt.Sprintf("%d WARN, more than %d", r.Summary.Warn, n)
			}})
		case c == "level1" || c == "scored":
			lvl1 := c == "level1"
			f.conds = append(f.conds, failCond{c, func(r *Report) (bool, string) {
				var ids []string
				for _, x := range r.Results {
					if x.Result == Warn && ((lvl1 && x.Level == 1) || (!lvl1 && x.Scored)) {
						ids = append(ids, x.ID)
					}
				}
				return len(ids) > 0, fmt.Sprintf("WARN on %s checks %s", c, strings.Join(ids, ", "))
			}})
		case c == "skip":
			f.conds = append(f.conds, failCond{c, func(r *Report) (bool, string) {
				return r.Summary.Skip > 0, fmt.Sprintf("%d checks could not run", r.Summary.Skip)
			}})
		case strings.HasPrefix(c, "score<"):
			p, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(c[6:], "%")), 64)
			if err != nil || p < 0 || p > 100 {
				return FailOn{}, fmt.Errorf("bench: --fail-on %q: want score<P with 0 <= P <= 100", raw)
			}
			f.conds = append(f.conds, failCond{c, func(r *Report) (bool, string) {
				return r.Summary.Percent < p, fmt.Sprintf("score %.1f%% below %g%%", r.Summary.Percent, p)
			}})
		default:
			return FailOn{}, fmt.Errorf("bench: --fail-on %q: unknown condition (want warn, warn>N, level1, scored, skip, score<P)", raw)
		}
	}
	return f, nil
}

// Empty reports whether the gate has no conditions.
func (f FailOn) Empty() bool { return len(f.conds) == 0 }

// Evaluate returns whether the report fails the gate and why.
func (f FailOn) Evaluate(r *Report) (bool, string) {
	var why []string
	for _, c := range f.conds {
		if bad, reason := c.eval(r); bad {
			why = append(why, c.text+": "+reason)
		}
	}
	return len(why) > 0, strings.Join(why, "; ")
}
