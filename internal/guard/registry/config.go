package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Roles.
const (
	RoleAdmin      = "admin"
	RoleMaintainer = "maintainer"
	RoleDeveloper  = "developer"
	RoleScanner    = "scanner"
	RoleProduction = "production"
	RoleGuest      = "guest"
)

// Roles lists every role, most powerful first.
var Roles = []string{RoleAdmin, RoleMaintainer, RoleDeveloper, RoleScanner, RoleProduction, RoleGuest}

// roleActions are the repository actions each role may be granted.
var roleActions = map[string][]string{
	RoleAdmin:      {"pull", "push", "delete"},
	RoleMaintainer: {"pull", "push", "delete"},
	RoleDeveloper:  {"pull", "push"},
	RoleScanner:    {"pull"},
	RoleProduction: {"pull"},
	RoleGuest:      {"pull"},
}

// Config is the guard's policy file (YAML). See docs/guard-registry.md.
type Config struct {
	// Service is the token audience and the WWW-Authenticate service
	// parameter (default "picket-registry-guard").
	Service string `yaml:"service"`
	// Realm is the token endpoint URL clients are sent to. Default: the
	// request's own scheme and host + "/token".
	Realm string `yaml:"realm"`
	// TokenTTL is the lifetime of issued tokens (default 5m).
	TokenTTL time.Duration `yaml:"token_ttl"`
	// Htpasswd is a file of user:bcrypt-hash lines.
	Htpasswd string `yaml:"htpasswd"`
	// Anonymous lets unauthenticated clients pull public repositories as
	// guests.
	Anonymous bool `yaml:"anonymous"`
	// Public lists repository patterns guests may pull.
	Public []string `yaml:"public"`
	// Grants give subjects (user names, "robot$NAME", client certificate
	// common names, "anonymous") a role on repository patterns.
	Grants []Grant `yaml:"grants"`
	// Robots are robot accounts with a bcrypt-hashed secret and an expiry
	// (see `picket guard registry robot`).
	Robots []Robot `yaml:"robots"`
	// RoleRules hold per-role IP allow/deny lists and rate limits.
	RoleRules map[string]RoleRule `yaml:"roles"`
	// RateLimit applies per identity unless the role overrides it.
	RateLimit RateLimit `yaml:"rate_limit"`
	// ImmutableTags protects tags from being overwritten or deleted.
	ImmutableTags []TagRule `yaml:"immutable_tags"`
	// Gate is the pull gate.
	Gate GateConfig `yaml:"gate"`
	// Webhooks receive CloudEvents on push, pull, delete and deny.
	Webhooks []Webhook `yaml:"webhooks"`
	// MaxManifestBytes bounds manifest uploads (default 4 MiB).
	MaxManifestBytes int64 `yaml:"max_manifest_bytes"`

	public []*regexp.Regexp
}

// Grant gives subjects a role on repositories.
type Grant struct {
	Subjects     []string `yaml:"subjects"`
	Role         string   `yaml:"role"`
	Repositories []string `yaml:"repositories"`

	patterns []*regexp.Regexp
}

// Robot is a robot account. Its password is a generated secret whose
// bcrypt hash is stored here; it stops working at Expires.
type Robot struct {
	Name         string    `yaml:"name"`
	SecretHash   string    `yaml:"secret_hash"`
	Expires      time.Time `yaml:"expires"`
	Role         string    `yaml:"role"`
	Repositories []string  `yaml:"repositories"`
	Description  string    `yaml:"description,omitempty"`
}

// RoleRule restricts a role by client address and request rate.
type RoleRule struct {
	Allow     []string  `yaml:"allow"`
	Deny      []string  `yaml:"deny"`
	RateLimit RateLimit `yaml:"rate_limit"`

	allow, deny []netip.Prefix
}

// RateLimit is a token bucket: Rate requests per second, Burst at once.
type RateLimit struct {
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

// TagRule makes tags matching Tags in repositories matching Repositories
// immutable: once pushed they can be neither moved nor deleted.
type TagRule struct {
	Repositories []string `yaml:"repositories"`
	Tags         []string `yaml:"tags"`

	repos []*regexp.Regexp
	tags  []*regexp.Regexp
}

// GateConfig is the pull gate.
type GateConfig struct {
	// Roles the gate applies to (default: production and guest). The
	// scanner role is never gated.
	Roles []string `yaml:"roles"`
	// RequireScan denies images never scanned (default true).
	RequireScan *bool `yaml:"require_scan"`
	// Policies are policy files (YAML documents with CEL conditions); the
	// built-in default denies critical and high vulnerabilities.
	Policies []string `yaml:"policies"`
	// Signatures requires cosign signatures by one of Keys on repositories
	// matching Repositories (default: all).
	Signatures SignatureConfig `yaml:"signatures"`
}

// SignatureConfig requires cosign signatures.
type SignatureConfig struct {
	Keys         []string `yaml:"keys"`
	Repositories []string `yaml:"repositories"`

	repos []*regexp.Regexp
}

// Webhook is a CloudEvents receiver.
type Webhook struct {
	URL    string   `yaml:"url"`
	Events []string `yaml:"events"` // push, pull, delete, deny (default all)
	// Secret, when set, signs each body: X-Picket-Signature: sha256=HMAC.
	Secret string `yaml:"secret"`
}

// Event types sent to webhooks.
const (
	EventPush   = "push"
	EventPull   = "pull"
	EventDelete = "delete"
	EventDeny   = "deny"
)

// LoadConfig reads and validates a policy file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("registry: config: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("registry: config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig parses and validates a policy document. Unknown keys are
// errors (a typo must not silently open the registry).
func ParseConfig(b []byte) (*Config, error) {
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) validate() error {
	if c.Service == "" {
		c.Service = "picket-registry-guard"
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = 5 * time.Minute
	}
	if c.TokenTTL < 0 || c.TokenTTL > 24*time.Hour {
		return fmt.Errorf("token_ttl %s: want between 1s and 24h", c.TokenTTL)
	}
	if c.Realm != "" {
		u, err := url.Parse(c.Realm)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("realm %q: want an http(s) URL", c.Realm)
		}
	}
	if c.MaxManifestBytes == 0 {
		c.MaxManifestBytes = 4 << 20
	}
	if c.MaxManifestBytes < 1024 || c.MaxManifestBytes > 64<<20 {
		return fmt.Errorf("max_manifest_bytes %d: want between 1 KiB and 64 MiB", c.MaxManifestBytes)
	}
	var err error
	if c.public, err = compilePatterns(c.Public); err != nil {
		return fmt.Errorf("public: %w", err)
	}
	for i := range c.Grants {
		g := &c.Grants[i]
		if _, ok := roleActions[g.Role]; !ok {
			return fmt.Errorf("grants[%d]: unknown role %q (want one of %v)", i, g.Role, Roles)
		}
		if len(g.Subjects) == 0 {
			return fmt.Errorf("grants[%d]: no subjects", i)
		}
		if len(g.Repositories) == 0 {
			return fmt.Errorf("grants[%d]: no repositories (use \"**\" for all)", i)
		}
		var err error
		if g.patterns, err = compilePatterns(g.Repositories); err != nil {
			return fmt.Errorf("grants[%d]: %w", i, err)
		}
	}
	seen := map[string]bool{}
	for i := range c.Robots {
		r := &c.Robots[i]
		if !robotNameRE.MatchString(r.Name) {
			return fmt.Errorf("robots[%d]: invalid name %q (want [a-z0-9][a-z0-9._-]{0,63})", i, r.Name)
		}
		if seen[r.Name] {
			return fmt.Errorf("robots[%d]: duplicate robot %q", i, r.Name)
		}
		seen[r.Name] = true
		if !strings.HasPrefix(r.SecretHash, "$2") {
			return fmt.Errorf("robot %s: secret_hash must be a bcrypt hash", r.Name)
		}
		if r.Expires.IsZero() {
			return fmt.Errorf("robot %s: expires is required", r.Name)
		}
		if _, ok := roleActions[r.Role]; !ok {
			return fmt.Errorf("robot %s: unknown role %q", r.Name, r.Role)
		}
		if len(r.Repositories) == 0 {
			return fmt.Errorf("robot %s: no repositories", r.Name)
		}
		pats, err := compilePatterns(r.Repositories)
		if err != nil {
			return fmt.Errorf("robot %s: %w", r.Name, err)
		}
		c.Grants = append(c.Grants, Grant{Subjects: []string{RobotPrefix + r.Name}, Role: r.Role, Repositories: r.Repositories, patterns: pats})
	}
	for role, rr := range c.RoleRules {
		if _, ok := roleActions[role]; !ok {
			return fmt.Errorf("roles: unknown role %q", role)
		}
		var err error
		if rr.allow, err = parsePrefixes(rr.Allow); err != nil {
			return fmt.Errorf("roles.%s.allow: %w", role, err)
		}
		if rr.deny, err = parsePrefixes(rr.Deny); err != nil {
			return fmt.Errorf("roles.%s.deny: %w", role, err)
		}
		if err := rr.RateLimit.validate(); err != nil {
			return fmt.Errorf("roles.%s.rate_limit: %w", role, err)
		}
		c.RoleRules[role] = rr
	}
	if err := c.RateLimit.validate(); err != nil {
		return fmt.Errorf("rate_limit: %w", err)
	}
	for i := range c.ImmutableTags {
		t := &c.ImmutableTags[i]
		var err error
		if t.repos, err = compilePatterns(t.Repositories); err != nil || len(t.repos) == 0 {
			return fmt.Errorf("immutable_tags[%d].repositories: %v", i, orEmpty(err))
		}
		if t.tags, err = compileTagPatterns(t.Tags); err != nil || len(t.tags) == 0 {
			return fmt.Errorf("immutable_tags[%d].tags: %v", i, orEmpty(err))
		}
	}
	if c.Gate.Roles == nil {
		c.Gate.Roles = []string{RoleProduction, RoleGuest}
	}
	for _, r := range c.Gate.Roles {
		if _, ok := roleActions[r]; !ok {
			return fmt.Errorf("gate.roles: unknown role %q", r)
		}
	}
	c.Gate.Roles = slices.DeleteFunc(c.Gate.Roles, func(r string) bool { return r == RoleScanner })
	if c.Gate.RequireScan == nil {
		t := true
		c.Gate.RequireScan = &t
	}
	if len(c.Gate.Signatures.Keys) > 0 {
		if len(c.Gate.Signatures.Repositories) == 0 {
			c.Gate.Signatures.Repositories = []string{"**"}
		}
		var err error
		if c.Gate.Signatures.repos, err = compilePatterns(c.Gate.Signatures.Repositories); err != nil {
			return fmt.Errorf("gate.signatures.repositories: %w", err)
		}
	}
	for i, w := range c.Webhooks {
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("webhooks[%d]: url %q: want an http(s) URL", i, w.URL)
		}
		for _, e := range w.Events {
			if !slices.Contains([]string{EventPush, EventPull, EventDelete, EventDeny}, e) {
				return fmt.Errorf("webhooks[%d]: unknown event %q", i, e)
			}
		}
	}
	return nil
}

func orEmpty(err error) string {
	if err == nil {
		return "at least one pattern is required"
	}
	return err.Error()
}

func (r RateLimit) validate() error {
	if r.Rate < 0 || r.Burst < 0 || (r.Rate > 0 && r.Burst == 0) {
		return fmt.Errorf("want rate >= 0 and burst >= 1 when rate is set (got %v/%d)", r.Rate, r.Burst)
	}
	return nil
}

// RobotPrefix prefixes robot account names ("robot$ci").
const RobotPrefix = "robot$"

var robotNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

func parsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// compilePatterns turns repository globs into anchored expressions: "*"
// matches within one path component, "**" any number of components
// ("team/**" matches "team/a" and "team/a/b", not "team"; "**" matches
// everything).
func compilePatterns(pats []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, p := range pats {
		if p == "" || len(p) > 255 || strings.ContainsAny(p, " \\") {
			return nil, fmt.Errorf("invalid repository pattern %q", p)
		}
		var b strings.Builder
		b.WriteString("^")
		for i := 0; i < len(p); i++ {
			switch {
			case strings.HasPrefix(p[i:], "/**"):
				b.WriteString("/.+")
				i += 2
			case strings.HasPrefix(p[i:], "**"):
				b.WriteString(".*")
				i++
			case p[i] == '*':
				b.WriteString("[^/]*")
			case p[i] == '?':
				b.WriteString("[^/]")
			default:
				b.WriteString(regexp.QuoteMeta(p[i : i+1]))
			}
		}
		b.WriteString("$")
		re, err := regexp.Compile(b.String())
		if err != nil {
			return nil, fmt.Errorf("invalid repository pattern %q: %w", p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func compileTagPatterns(pats []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, p := range pats {
		if p == "" || len(p) > 128 {
			return nil, fmt.Errorf("invalid tag pattern %q", p)
		}
		q := regexp.QuoteMeta(p)
		q = strings.ReplaceAll(q, `\*`, ".*")
		q = strings.ReplaceAll(q, `\?`, ".")
		re, err := regexp.Compile("^" + q + "$")
		if err != nil {
			return nil, fmt.Errorf("invalid tag pattern %q: %w", p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}
