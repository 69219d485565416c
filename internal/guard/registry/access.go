package registry

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/picket-cdr/picket/internal/guard/registry/token"
)

// Identity is an authenticated (or anonymous) client.
type Identity struct {
	Name string // user name, "robot$NAME", certificate CN, or "anonymous"
	// Method is how it authenticated: "password", "robot", "mtls",
	// "bearer", "anonymous".
	Method string
	// Expires is when a robot account stops working (zero otherwise).
	Expires time.Time
}

// Anonymous is the identity of unauthenticated clients.
const Anonymous = "anonymous"

// CertPrefix prefixes the identities of client certificates: a verified
// certificate with CN node-01 is "cert:node-01".
const CertPrefix = "cert:"

// ErrAuth is wrapped by authentication failures.
var ErrAuth = errors.New("registry: authentication failed")

// dummyHash is compared against when the user is unknown, so that the
// response time does not tell which user names exist.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("picket-dummy-password"), bcrypt.DefaultCost)

// Users holds htpasswd users (bcrypt hashes only).
type Users struct {
	hashes map[string][]byte
}

// LoadHtpasswd reads an htpasswd file. Only bcrypt entries ($2a$, $2b$,
// $2y$) are accepted; MD5, SHA1 and crypt entries are refused, as the
// distribution registry does.
func LoadHtpasswd(path string) (*Users, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("registry: htpasswd: %w", err)
	}
	return ParseHtpasswd(b)
}

// ParseHtpasswd parses htpasswd content.
func ParseHtpasswd(b []byte) (*Users, error) {
	u := &Users{hashes: map[string][]byte{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" || strings.HasPrefix(user, RobotPrefix) || user == Anonymous {
			return nil, fmt.Errorf("registry: htpasswd line %d: want user:bcrypt-hash (not a reserved name)", n)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("registry: htpasswd line %d (%s): only bcrypt hashes are supported: %w", n, user, err)
		}
		u.hashes[user] = []byte(hash)
	}
	return u, sc.Err()
}

// Authenticate checks a user's password.
func (u *Users) Authenticate(user, pass string) error {
	h, ok := u.hashes[user]
	if !ok {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(pass))
		return fmt.Errorf("%w: unknown user or wrong password", ErrAuth)
	}
	if err := bcrypt.CompareHashAndPassword(h, []byte(pass)); err != nil {
		return fmt.Errorf("%w: unknown user or wrong password", ErrAuth)
	}
	return nil
}

// authenticateBasic checks user:pass against robots (names starting with
// "robot$") or htpasswd users.
func (g *Guard) authenticateBasic(user, pass string, now time.Time) (Identity, error) {
	cfg := g.cfg()
	if name, ok := strings.CutPrefix(user, RobotPrefix); ok {
		for _, r := range cfg.Robots {
			if subtle.ConstantTimeCompare([]byte(r.Name), []byte(name)) == 1 {
				if err := bcrypt.CompareHashAndPassword([]byte(r.SecretHash), []byte(pass)); err != nil {
					return Identity{}, fmt.Errorf("%w: wrong robot secret", ErrAuth)
				}
				if !now.Before(r.Expires) {
					return Identity{}, fmt.Errorf("%w: robot account %s expired at %s", ErrAuth, name, r.Expires.UTC().Format(time.RFC3339))
				}
				return Identity{Name: user, Method: "robot", Expires: r.Expires}, nil
			}
		}
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(pass))
		return Identity{}, fmt.Errorf("%w: unknown robot account", ErrAuth)
	}
	users := g.users()
	if users == nil {
		return Identity{}, fmt.Errorf("%w: no users configured", ErrAuth)
	}
	if err := users.Authenticate(user, pass); err != nil {
		return Identity{}, err
	}
	return Identity{Name: user, Method: "password"}, nil
}

// robotExpiry returns a robot's expiry and whether it still exists.
func (c *Config) robotExpiry(name string) (time.Time, bool) {
	n, ok := strings.CutPrefix(name, RobotPrefix)
	if !ok {
		return time.Time{}, true
	}
	for _, r := range c.Robots {
		if r.Name == n {
			return r.Expires, true
		}
	}
	return time.Time{}, false
}

// Decision is the outcome of authorising one identity on one repository.
type Decision struct {
	Actions []string // allowed actions
	Roles   []string // roles that apply (after IP rules)
	Gated   bool     // pulls go through the gate
	Reason  string   // why actions are missing (IP rule, no grant)
}

// Authorize returns what id may do on repo from ip: the union of the
// actions of every role granted on a matching pattern whose IP rules admit
// ip. Guests only pull repositories listed as public. The gate applies
// when no ungated role remains (scanner is never gated).
func (c *Config) Authorize(id string, repo string, ip netip.Addr) Decision {
	var d Decision
	var ipDenied []string
	for _, g := range c.Grants {
		if !subjectMatch(g.Subjects, id) || !matchAny(g.patterns, repo) {
			continue
		}
		if g.Role == RoleGuest && !c.isPublic(repo) {
			continue
		}
		if !c.ipAllowed(g.Role, ip) {
			ipDenied = append(ipDenied, g.Role)
			continue
		}
		if !slices.Contains(d.Roles, g.Role) {
			d.Roles = append(d.Roles, g.Role)
		}
		for _, a := range roleActions[g.Role] {
			if !slices.Contains(d.Actions, a) {
				d.Actions = append(d.Actions, a)
			}
		}
	}
	if id == Anonymous && c.Anonymous && c.isPublic(repo) && !slices.Contains(d.Roles, RoleGuest) {
		if c.ipAllowed(RoleGuest, ip) {
			d.Roles = append(d.Roles, RoleGuest)
			if !slices.Contains(d.Actions, token.ActionPull) {
				d.Actions = append(d.Actions, token.ActionPull)
			}
		} else {
			ipDenied = append(ipDenied, RoleGuest)
		}
	}
	d.Gated = len(d.Roles) > 0
	for _, r := range d.Roles {
		if !slices.Contains(c.Gate.Roles, r) {
			d.Gated = false
		}
	}
	switch {
	case len(d.Roles) == 0 && len(ipDenied) > 0:
		d.Reason = fmt.Sprintf("client address %s is not allowed for role %s", ip, strings.Join(ipDenied, ", "))
	case len(d.Roles) == 0:
		d.Reason = fmt.Sprintf("%s has no role on repository %s", id, repo)
	}
	return d
}

// IsAdmin reports whether id holds the admin role (on any repository)
// from ip; admins may list the catalog and use the admin API.
func (c *Config) IsAdmin(id string, ip netip.Addr) bool {
	for _, g := range c.Grants {
		if g.Role == RoleAdmin && subjectMatch(g.Subjects, id) && c.ipAllowed(RoleAdmin, ip) {
			return true
		}
	}
	return false
}

// rolesOf lists every role id holds anywhere (for rate limits).
func (c *Config) rolesOf(id string) []string {
	var out []string
	for _, g := range c.Grants {
		if subjectMatch(g.Subjects, id) && !slices.Contains(out, g.Role) {
			out = append(out, g.Role)
		}
	}
	if id == Anonymous && c.Anonymous && !slices.Contains(out, RoleGuest) {
		out = append(out, RoleGuest)
	}
	return out
}

func subjectMatch(subjects []string, id string) bool {
	return slices.Contains(subjects, id)
}

func (c *Config) isPublic(repo string) bool {
	return matchAny(c.public, repo)
}

func (c *Config) ipAllowed(role string, ip netip.Addr) bool {
	rr, ok := c.RoleRules[role]
	if !ok {
		return true
	}
	ip = ip.Unmap()
	for _, p := range rr.deny {
		if p.Contains(ip) {
			return false
		}
	}
	if len(rr.allow) == 0 {
		return true
	}
	for _, p := range rr.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// immutable reports whether tag in repo is protected by a rule.
func (c *Config) immutable(repo, tag string) bool {
	for _, t := range c.ImmutableTags {
		if matchAny(t.repos, repo) && matchAny(t.tags, tag) {
			return true
		}
	}
	return false
}

// signaturesRequired reports whether pulls of repo need a signature.
func (c *Config) signaturesRequired(repo string) bool {
	return len(c.Gate.Signatures.Keys) > 0 && matchAny(c.Gate.Signatures.repos, repo)
}
