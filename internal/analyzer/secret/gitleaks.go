package secret

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/picket-cdr/picket/internal/finding"
)

// Limits on gitleaks configurations, which are untrusted input.
const (
	maxConfigBytes   = 8 << 20
	maxConfigRules   = 10000
	maxRuleKeywords  = 1000
	maxExtendDepth   = 2
	maxRegexBytes    = 64 << 10
	maxAllowlistSize = 10000
)

// GitleaksStats says how a gitleaks configuration loaded.
type GitleaksStats struct {
	Source     string      `json:"source"`
	Rules      int         `json:"rules"`      // [[rules]] entries read (extended configs included)
	Loaded     int         `json:"loaded"`     // rules in use
	PathOnly   int         `json:"pathOnly"`   // loaded rules that match file paths only
	Allowlists int         `json:"allowlists"` // global allowlists applied to the rules
	Failed     []RuleError `json:"failed,omitempty"`
	Skipped    []RuleError `json:"skipped,omitempty"` // disabled, skipReport, composite rules
	Notes      []string    `json:"notes,omitempty"`
}

// RuleError names a rule that was not loaded and why.
type RuleError struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

func (s *GitleaksStats) String() string {
	return fmt.Sprintf("%s: %d rules, %d loaded (%d path-only), %d failed, %d skipped, %d global allowlists",
		s.Source, s.Rules, s.Loaded, s.PathOnly, len(s.Failed), len(s.Skipped), s.Allowlists)
}

// The gitleaks TOML schema (v8.x), as far as it matters here.
type glConfig struct {
	Title      string        `toml:"title"`
	MinVersion string        `toml:"minVersion"`
	Extend     glExtend      `toml:"extend"`
	Allowlist  *glAllowlist  `toml:"allowlist"`
	Allowlists []glAllowlist `toml:"allowlists"`
	Rules      []glRule      `toml:"rules"`
}

type glExtend struct {
	Path          string   `toml:"path"`
	URL           string   `toml:"url"`
	UseDefault    bool     `toml:"useDefault"`
	DisabledRules []string `toml:"disabledRules"`
}

type glAllowlist struct {
	Description string   `toml:"description"`
	Condition   string   `toml:"condition"`
	Commits     []string `toml:"commits"`
	Paths       []string `toml:"paths"`
	RegexTarget string   `toml:"regexTarget"`
	Regexes     []string `toml:"regexes"`
	StopWords   []string `toml:"stopwords"`
	TargetRules []string `toml:"targetRules"`
}

type glRule struct {
	ID          string        `toml:"id"`
	Description string        `toml:"description"`
	Regex       string        `toml:"regex"`
	SecretGroup int           `toml:"secretGroup"`
	Entropy     float64       `toml:"entropy"`
	Keywords    []string      `toml:"keywords"`
	Path        string        `toml:"path"`
	Tags        []string      `toml:"tags"`
	SkipReport  bool          `toml:"skipReport"`
	Allowlist   *glAllowlist  `toml:"allowlist"`
	Allowlists  []glAllowlist `toml:"allowlists"`
	Required    []glRequired  `toml:"required"`
}

type glRequired struct {
	ID string `toml:"id"`
}

func readConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secret: gitleaks config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("secret: gitleaks config %s: %w", path, err)
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("secret: gitleaks config %s: larger than %d bytes", path, maxConfigBytes)
	}
	return data, nil
}

// LoadGitleaksConfig reads a gitleaks TOML configuration file (see
// ParseGitleaksConfig). An [extend] path is read relative to the file.
func LoadGitleaksConfig(path string) ([]*Rule, *GitleaksStats, error) {
	data, err := readConfig(path)
	if err != nil {
		return nil, nil, err
	}
	return ParseGitleaksConfig(data, path)
}

// ParseGitleaksConfig turns a gitleaks TOML configuration into rules. name
// labels the rules' Source ("gitleaks:<name>") and locates [extend] paths.
// Rules Go cannot use (regexes with look-arounds or back references, a
// secret group the regex lacks, neither regex nor path) are left out and
// listed in the stats; only an unreadable document is an error. Global
// allowlists become part of every rule they target.
//
// Gitleaks rules run with severity High (Medium for "generic*" ids: the
// gitleaks format has no severity). Composite rules ([[rules.required]])
// and skipReport rules are skipped and listed. [extend] useDefault cannot
// be honoured (gitleaks' default rules are not built in: load that file
// explicitly); it is noted in the stats.
func ParseGitleaksConfig(data []byte, name string) ([]*Rule, *GitleaksStats, error) {
	st := &GitleaksStats{Source: name}
	rules, err := parseGitleaks(data, name, st, 0)
	if err != nil {
		return nil, nil, err
	}
	st.Loaded = len(rules)
	for _, r := range rules {
		if r.Regex == nil {
			st.PathOnly++
		}
	}
	return rules, st, nil
}

func parseGitleaks(data []byte, name string, st *GitleaksStats, depth int) ([]*Rule, error) {
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("secret: gitleaks config %s: larger than %d bytes", name, maxConfigBytes)
	}
	var cfg glConfig
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		return nil, fmt.Errorf("secret: gitleaks config %s: %w", name, err)
	}
	if len(cfg.Rules) > maxConfigRules {
		return nil, fmt.Errorf("secret: gitleaks config %s: %d rules (limit %d)", name, len(cfg.Rules), maxConfigRules)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, 0, min(len(und), 5))
		for _, k := range und[:min(len(und), 5)] {
			keys = append(keys, k.String())
		}
		st.Notes = append(st.Notes, fmt.Sprintf("%s: ignored keys: %s", name, strings.Join(keys, ", ")))
	}

	var base []*Rule
	if cfg.Extend.UseDefault {
		st.Notes = append(st.Notes, name+": [extend] useDefault is not supported: load gitleaks' default config file explicitly")
	}
	if cfg.Extend.URL != "" {
		st.Notes = append(st.Notes, name+": [extend] url is not supported (no network access)")
	}
	if cfg.Extend.Path != "" {
		if depth >= maxExtendDepth {
			st.Notes = append(st.Notes, fmt.Sprintf("%s: [extend] deeper than %d ignored", name, maxExtendDepth))
		} else {
			p := cfg.Extend.Path
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(name), p)
			}
			sub, err := readConfig(p)
			if err != nil {
				return nil, err
			}
			if base, err = parseGitleaks(sub, p, st, depth+1); err != nil {
				return nil, err
			}
		}
	}

	source := "gitleaks:" + filepath.Base(name)
	var own []*Rule
	for i := range cfg.Rules {
		g := &cfg.Rules[i]
		st.Rules++
		id := g.ID
		if id == "" {
			id = fmt.Sprintf("rule#%d", i+1)
		}
		switch {
		case g.SkipReport:
			st.Skipped = append(st.Skipped, RuleError{id, "skipReport (only used by composite rules)"})
			continue
		case len(g.Required) > 0:
			st.Skipped = append(st.Skipped, RuleError{id, "composite rule ([[rules.required]]) not supported"})
			continue
		}
		r, err := convertRule(g, id, source)
		if err != nil {
			st.Failed = append(st.Failed, RuleError{id, err.Error()})
			continue
		}
		own = append(own, r)
	}

	// Global allowlists: [allowlist] and [[allowlists]].
	var globals []glAllowlist
	if cfg.Allowlist != nil {
		globals = append(globals, *cfg.Allowlist)
	}
	globals = append(globals, cfg.Allowlists...)
	for i := range globals {
		al, err := convertAllowlist(&globals[i])
		if errors.Is(err, errCommitsOnly) {
			continue
		}
		if err != nil {
			st.Notes = append(st.Notes, fmt.Sprintf("%s: global allowlist %d dropped: %v", name, i+1, err))
			continue
		}
		st.Allowlists++
		targets := map[string]bool{}
		for _, t := range globals[i].TargetRules {
			targets[t] = true
		}
		for _, r := range append(base, own...) {
			if len(targets) == 0 || targets[r.ID] {
				r.Allowlists = append(r.Allowlists, al)
			}
		}
	}

	// An extending config's rules replace the base's rules of the same id.
	byID := map[string]bool{}
	for _, r := range own {
		byID[r.ID] = true
	}
	disabled := map[string]bool{}
	for _, id := range cfg.Extend.DisabledRules {
		disabled[id] = true
	}
	var out []*Rule
	for _, r := range base {
		if byID[r.ID] {
			continue
		}
		if disabled[r.ID] {
			st.Skipped = append(st.Skipped, RuleError{r.ID, "disabled by [extend] disabledRules"})
			continue
		}
		out = append(out, r)
	}
	return append(out, own...), nil
}

func convertRule(g *glRule, id, source string) (*Rule, error) {
	if len(g.Regex) > maxRegexBytes || len(g.Path) > maxRegexBytes {
		return nil, errors.New("regex too long")
	}
	if len(g.Keywords) > maxRuleKeywords {
		return nil, fmt.Errorf("%d keywords (limit %d)", len(g.Keywords), maxRuleKeywords)
	}
	r := &Rule{
		ID: id, Description: g.Description, SecretGroup: g.SecretGroup, Entropy: g.Entropy,
		Tags: g.Tags, Source: source, Severity: finding.High,
	}
	if strings.HasPrefix(id, "generic") {
		r.Severity = finding.Medium
	}
	for _, k := range g.Keywords {
		if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
			r.Keywords = append(r.Keywords, k)
		}
	}
	if g.Regex == "" && g.Path == "" {
		return nil, errors.New("neither regex nor path")
	}
	if g.Regex != "" {
		re, err := regexp.Compile(g.Regex)
		if err != nil {
			return nil, fmt.Errorf("regex: %s", goRegexpReason(err))
		}
		r.Regex = re
		if g.SecretGroup > re.NumSubexp() {
			return nil, fmt.Errorf("secretGroup %d but the regex has %d groups", g.SecretGroup, re.NumSubexp())
		}
		r.MultiLine = strings.Contains(g.Regex, `[\s\S`) || strings.Contains(g.Regex, `(?s`) || strings.Contains(g.Regex, `\n`)
		r.WholeFile = len(r.Keywords) > 0 && !keywordsInRegex(g.Regex, r.Keywords)
	}
	if g.SecretGroup < 0 {
		return nil, errors.New("negative secretGroup")
	}
	if g.Path != "" {
		re, err := regexp.Compile(g.Path)
		if err != nil {
			return nil, fmt.Errorf("path: %s", goRegexpReason(err))
		}
		r.Path = re
	}
	lists := g.Allowlists
	if g.Allowlist != nil {
		lists = append([]glAllowlist{*g.Allowlist}, lists...)
	}
	for i := range lists {
		al, err := convertAllowlist(&lists[i])
		if errors.Is(err, errCommitsOnly) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("allowlist %d: %w", i+1, err)
		}
		r.Allowlists = append(r.Allowlists, al)
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// errCommitsOnly marks an allowlist with nothing that applies to files.
var errCommitsOnly = errors.New("allowlist holds only commits (or nothing)")

func convertAllowlist(g *glAllowlist) (Allowlist, error) {
	al := Allowlist{Description: g.Description, Condition: strings.ToUpper(g.Condition), RegexTarget: g.RegexTarget}
	if n := len(g.Paths) + len(g.Regexes) + len(g.StopWords); n > maxAllowlistSize {
		return al, fmt.Errorf("%d entries (limit %d)", n, maxAllowlistSize)
	}
	for _, p := range g.Paths {
		re, err := regexp.Compile(p)
		if err != nil {
			return al, fmt.Errorf("path %q: %s", p, goRegexpReason(err))
		}
		al.Paths = append(al.Paths, re)
	}
	for _, p := range g.Regexes {
		re, err := regexp.Compile(p)
		if err != nil {
			return al, fmt.Errorf("regex %q: %s", p, goRegexpReason(err))
		}
		al.Regexes = append(al.Regexes, re)
	}
	for _, w := range g.StopWords {
		al.StopWords = append(al.StopWords, strings.ToLower(w))
	}
	if err := al.validate(); err != nil {
		return al, err
	}
	if len(al.Paths)+len(al.Regexes)+len(al.StopWords) == 0 {
		// Commit allowlists mean nothing in an image.
		return al, errCommitsOnly
	}
	return al, nil
}

// goRegexpReason explains why Go's RE2 syntax rejected a pattern.
func goRegexpReason(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "(?=") || strings.Contains(msg, "(?!") || strings.Contains(msg, "(?<"):
		return msg + " (look-arounds are not supported by Go's RE2 syntax)"
	case strings.Contains(msg, `\1`) || strings.Contains(msg, "escape sequence"):
		return msg + " (back references and some escapes are not supported by Go's RE2 syntax)"
	}
	return msg
}

// regexNoise is regex syntax that sits between the letters of a keyword in
// a pattern ("linked[_-]?in", "dp\.pt\.", "(?i)xoxe").
var regexNoise = strings.NewReplacer(`\`, "", "(?i)", "", "(?-i:", "", "(?i:", "", "(?:", "", "[_-]?", "", "[-_]?", "", "[_.-]?", "", "[ _-]?", "")

// keywordsInRegex reports whether one of the keywords shows in the pattern
// as a literal, so that matches hold it and the regex can run around the
// keyword alone. When none does (gitleaks' "facebook" keyword for a token
// made of digits), the keyword is context somewhere in the file and the
// rule must see the whole file, as gitleaks runs it. Unsure cases (keywords
// split by alternations) fall on the whole-file side: slower, never less.
func keywordsInRegex(re string, keywords []string) bool {
	src := regexNoise.Replace(strings.ToLower(re))
	for _, k := range keywords {
		if strings.Contains(src, regexNoise.Replace(k)) {
			return true
		}
	}
	return false
}
