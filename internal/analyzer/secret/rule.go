package secret

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/picket-cdr/picket/internal/finding"
)

// Rule is one secret detector. A rule fires where its Regex matches inside a
// file whose path passes Path/PathFunc (when set) and that contains one of
// its Keywords (when set); the secret is the SecretGroup capture (or, when
// SecretGroup is 0, the first non-empty capture, or the whole match), and it
// must pass Entropy, Validate, the placeholder filter and the allowlists.
// A rule with a path filter and no Regex fires once for every file whose
// path matches (key stores such as *.p12).
type Rule struct {
	ID          string // stable, kebab-case ("aws-access-key-id"); the finding's RuleID
	Title       string // short human title; Description is used when empty
	Description string
	Severity    finding.Severity // Unknown means High
	// Keywords are literal strings, matched ASCII-case-insensitively, one of
	// which must occur for the regex to run; the regex then runs only around
	// the lines holding them. Rules without keywords run over whole files
	// (cheap only with a path filter).
	Keywords    []string
	Regex       *regexp.Regexp
	SecretGroup int
	// Entropy is the minimum Shannon entropy (bits per byte) of the secret:
	// a secret at or below it is ignored (gitleaks' semantics). 0: no check.
	Entropy float64
	// Path, when set, restricts the rule to files whose absolute path
	// ("/etc/redis/redis.conf") matches. PathFunc is the same for Go code.
	Path     *regexp.Regexp
	PathFunc func(path string) bool
	// Allowlists drop matches (gitleaks' [[rules.allowlists]] semantics).
	Allowlists []Allowlist
	// MultiLine lets the regex see up to 64 KiB after a keyword (PEM blocks);
	// other rules see the keyword's line and the next one.
	MultiLine bool
	// WholeFile runs the regex over the whole file once a keyword is found,
	// for rules whose keywords are context words that need not sit next to
	// the match (gitleaks' semantics for every rule).
	WholeFile bool
	// Binary also searches files that look binary (NUL bytes in the first
	// 8 KiB); meant for private key blocks.
	Binary bool
	// ReportWeak keeps secrets that look like common words ("changeme",
	// "password"): right for files where any value is a live password
	// (redis.conf requirepass), wrong for generic assignments.
	ReportWeak bool
	// Validate, when set, must accept the secret (base64 decodes, has a
	// user:password shape, ...); match is the whole regex match.
	Validate    func(secret, match []byte) bool
	Tags        []string
	Remediation string
	// Source says where the rule came from: "builtin", "user" or
	// "gitleaks:<file>"; it is reported as the finding attribute "source".
	Source string
}

// Allowlist drops matches of a rule. With Condition "OR" (the default) any
// check that is set and holds drops the match; with "AND" all checks that
// are set must hold.
type Allowlist struct {
	Description string
	Condition   string // "OR" (default) or "AND"
	Paths       []*regexp.Regexp
	Regexes     []*regexp.Regexp
	// RegexTarget is what Regexes are matched against: "secret" (default),
	// "match" (the whole rule match) or "line" (the line(s) holding it).
	RegexTarget string
	// StopWords drop a secret that contains one of them (case-insensitive).
	StopWords []string
}

// Validate checks a rule for errors that would make it misbehave.
func (r *Rule) validate() error {
	if r.ID == "" {
		return errors.New("rule without an id")
	}
	if r.Regex == nil && r.Path == nil && r.PathFunc == nil {
		return fmt.Errorf("rule %s: needs a regex or a path", r.ID)
	}
	if r.Regex != nil && r.SecretGroup > r.Regex.NumSubexp() {
		return fmt.Errorf("rule %s: secret group %d but the regex has %d groups", r.ID, r.SecretGroup, r.Regex.NumSubexp())
	}
	if r.SecretGroup < 0 {
		return fmt.Errorf("rule %s: negative secret group", r.ID)
	}
	for _, k := range r.Keywords {
		if k == "" {
			return fmt.Errorf("rule %s: empty keyword", r.ID)
		}
	}
	for _, a := range r.Allowlists {
		if err := a.validate(); err != nil {
			return fmt.Errorf("rule %s: %w", r.ID, err)
		}
	}
	return nil
}

func (a *Allowlist) validate() error {
	switch strings.ToUpper(a.Condition) {
	case "", "OR", "AND":
	default:
		return fmt.Errorf("allowlist condition %q (want OR or AND)", a.Condition)
	}
	switch a.RegexTarget {
	case "", "secret", "match", "line":
	default:
		return fmt.Errorf("allowlist regexTarget %q (want secret, match or line)", a.RegexTarget)
	}
	return nil
}

// allowed reports whether the allowlist drops a match. line is computed
// lazily: only line-targeted regexes need it.
func (a *Allowlist) allowed(path string, secret, match []byte, line func() []byte) bool {
	and := strings.EqualFold(a.Condition, "AND")
	checks, hits := 0, 0
	if len(a.Paths) > 0 {
		checks++
		if anyMatchString(a.Paths, path) {
			if !and {
				return true
			}
			hits++
		} else if and {
			return false
		}
	}
	if len(a.Regexes) > 0 {
		checks++
		target := secret
		switch a.RegexTarget {
		case "match":
			target = match
		case "line":
			target = line()
		}
		if anyMatch(a.Regexes, target) {
			if !and {
				return true
			}
			hits++
		} else if and {
			return false
		}
	}
	if len(a.StopWords) > 0 {
		checks++
		if containsStopWord(a.StopWords, secret) {
			if !and {
				return true
			}
			hits++
		} else if and {
			return false
		}
	}
	return and && checks > 0 && hits == checks
}

// pathAllowed reports whether an allowlist drops every match in path by
// its path alone (gitleaks checks this before path-only rules fire): an OR
// allowlist whose paths match, or an AND one made only of paths.
func (r *Rule) pathAllowed(path string) bool {
	for i := range r.Allowlists {
		al := &r.Allowlists[i]
		if len(al.Paths) == 0 || !anyMatchString(al.Paths, path) {
			continue
		}
		if strings.EqualFold(al.Condition, "AND") && (len(al.Regexes) > 0 || len(al.StopWords) > 0) {
			continue
		}
		return true
	}
	return false
}

func anyMatch(res []*regexp.Regexp, b []byte) bool {
	for _, re := range res {
		if re.Match(b) {
			return true
		}
	}
	return false
}

func anyMatchString(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// containsStopWord reports whether secret contains one of words, ignoring
// ASCII case. Words are expected in lower case (they are lowered on load).
func containsStopWord(words []string, secret []byte) bool {
	if len(words) == 0 {
		return false
	}
	low := strings.ToLower(string(secret))
	for _, w := range words {
		if w != "" && strings.Contains(low, w) {
			return true
		}
	}
	return false
}

// pathOK reports whether the rule applies to path.
func (r *Rule) pathOK(path string) bool {
	if r.PathFunc != nil && !r.PathFunc(path) {
		return false
	}
	if r.Path != nil && !r.Path.MatchString(path) {
		return false
	}
	return true
}

func (r *Rule) hasPathFilter() bool { return r.Path != nil || r.PathFunc != nil }

func (r *Rule) title() string {
	if r.Title != "" {
		return r.Title
	}
	if r.Description != "" {
		return r.Description
	}
	return r.ID
}

func (r *Rule) severity() finding.Severity {
	if r.Severity == finding.Unknown {
		return finding.High
	}
	return r.Severity
}
