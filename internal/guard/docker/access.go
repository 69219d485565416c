package docker

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Identity is who sent a request.
type Identity struct {
	Name   string   // certificate CN, token subject, unix user name or "uid:N"
	Groups []string // from the access file, plus the certificate's O values
	Auth   string   // "unix", "cert", "token", "plugin"
	Source string   // remote address or "unix:uid=N,pid=P"
}

// Access is the access file: identities, bearer tokens and the endpoint
// ACL. The zero Access allows every endpoint to every identity (body policy
// still applies) and knows no tokens.
type Access struct {
	Users map[string]User `yaml:"users"`
	Unix  struct {
		UIDs map[int]string `yaml:"uids"` // peer uid -> identity name
	} `yaml:"unix"`
	Rules []ACLRule `yaml:"rules"`

	tokens map[[32]byte]string // sha256(token) -> user
}

// User is one identity's settings.
type User struct {
	Groups []string `yaml:"groups"`
	// Tokens are "sha256:<hex>" digests of the bearer tokens this identity
	// may present (the tokens themselves are not stored).
	Tokens []string `yaml:"tokens"`
}

// ACLRule grants or refuses endpoints to subjects. Entries are tried in
// order; in the first entry whose subjects include the identity and one of
// whose patterns matches, deny wins over allow. No decision means deny.
type ACLRule struct {
	Subjects []string `yaml:"subjects"` // "*", "group:NAME", "user:NAME" or NAME
	Allow    []string `yaml:"allow"`
	Deny     []string `yaml:"deny"`
}

// LoadAccess reads and validates an access file.
func LoadAccess(file string) (*Access, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("guard: access file: %w", err)
	}
	return ParseAccess(file, data)
}

// ParseAccess parses an access file; unknown keys and malformed patterns or
// token digests are errors.
func ParseAccess(name string, data []byte) (*Access, error) {
	a := &Access{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(a); err != nil && err.Error() != "EOF" {
		return nil, fmt.Errorf("guard: %s: %w", name, err)
	}
	if err := a.init(); err != nil {
		return nil, fmt.Errorf("guard: %s: %w", name, err)
	}
	return a, nil
}

func (a *Access) init() error {
	a.tokens = map[[32]byte]string{}
	for name, u := range a.Users {
		for _, t := range u.Tokens {
			hexd, ok := strings.CutPrefix(t, "sha256:")
			b, err := hex.DecodeString(hexd)
			if !ok || err != nil || len(b) != 32 {
				return fmt.Errorf("user %s: token %q: want sha256:<64 hex digits> (sha256 of the token)", name, t)
			}
			var k [32]byte
			copy(k[:], b)
			if other, dup := a.tokens[k]; dup {
				return fmt.Errorf("user %s: token also given to %s", name, other)
			}
			a.tokens[k] = name
		}
	}
	for i, r := range a.Rules {
		if len(r.Subjects) == 0 {
			return fmt.Errorf("rules[%d]: no subjects", i)
		}
		if len(r.Allow)+len(r.Deny) == 0 {
			return fmt.Errorf("rules[%d]: neither allow nor deny", i)
		}
		for _, p := range append(append([]string{}, r.Allow...), r.Deny...) {
			if err := checkPattern(p); err != nil {
				return fmt.Errorf("rules[%d]: %w", i, err)
			}
		}
	}
	return nil
}

// HasTokens reports whether any bearer token is configured.
func (a *Access) HasTokens() bool { return len(a.tokens) > 0 }

// TokenUser returns the identity a bearer token belongs to.
func (a *Access) TokenUser(token string) (string, bool) {
	sum := sha256.Sum256([]byte(token))
	for k, name := range a.tokens {
		if subtle.ConstantTimeCompare(k[:], sum[:]) == 1 {
			return name, true
		}
	}
	return "", false
}

// Groups returns the configured groups of an identity name.
func (a *Access) Groups(name string) []string { return a.Users[name].Groups }

// UnixName maps a peer uid to an identity name.
func (a *Access) UnixName(uid int, lookup func(int) string) string {
	if n, ok := a.Unix.UIDs[uid]; ok {
		return n
	}
	if lookup != nil {
		if n := lookup(uid); n != "" {
			return n
		}
	}
	return "uid:" + strconv.Itoa(uid)
}

// Check applies the ACL. It returns whether the request is allowed and a
// reason for a refusal.
func (a *Access) Check(id Identity, req *Request) (bool, string) {
	if len(a.Rules) == 0 {
		return true, ""
	}
	for _, r := range a.Rules {
		if !subjectMatch(r.Subjects, id) {
			continue
		}
		for _, p := range r.Deny {
			if patternMatch(p, req) {
				return false, fmt.Sprintf("access denied: %s may not %s %s (ACL deny %q)", id.Name, req.Method, req.Path, p)
			}
		}
		for _, p := range r.Allow {
			if patternMatch(p, req) {
				return true, ""
			}
		}
	}
	return false, fmt.Sprintf("access denied: %s may not %s %s", id.Name, req.Method, req.Path)
}

func subjectMatch(subjects []string, id Identity) bool {
	for _, s := range subjects {
		switch {
		case s == "*":
			return true
		case strings.HasPrefix(s, "group:"):
			for _, g := range id.Groups {
				if g == s[len("group:"):] {
					return true
				}
			}
		case strings.TrimPrefix(s, "user:") == id.Name:
			return true
		}
	}
	return false
}

// A pattern is "*" (everything), an endpoint name glob ("container.*"),
// or "METHOD PATH" where METHOD may be "*" and PATH is a path glob in which
// "*" matches one segment and "**" any number of segments. Paths are
// matched without the /v1.xx prefix.
func checkPattern(p string) error {
	if p == "*" {
		return nil
	}
	method, pth, ok := strings.Cut(p, " ")
	if !ok {
		if _, err := path.Match(p, "x"); err != nil || strings.Contains(p, "/") {
			return fmt.Errorf("pattern %q: want \"METHOD /path/glob\", an endpoint name glob or \"*\"", p)
		}
		return nil
	}
	switch method {
	case "*", "GET", "HEAD", "POST", "PUT", "DELETE":
	default:
		return fmt.Errorf("pattern %q: unknown method %q", p, method)
	}
	if pth != "**" && !strings.HasPrefix(pth, "/") {
		return fmt.Errorf("pattern %q: path must start with / (or be **)", p)
	}
	for _, seg := range strings.Split(pth, "/") {
		if _, err := path.Match(seg, "x"); err != nil {
			return fmt.Errorf("pattern %q: %w", p, err)
		}
	}
	return nil
}

func patternMatch(p string, req *Request) bool {
	if p == "*" {
		return true
	}
	method, pth, ok := strings.Cut(p, " ")
	if !ok {
		m, _ := path.Match(p, req.Endpoint)
		return m
	}
	if method != "*" && method != req.Method {
		return false
	}
	if pth == "**" {
		return true
	}
	return globSegs(strings.Split(strings.TrimPrefix(pth, "/"), "/"), strings.Split(strings.TrimPrefix(req.Path, "/"), "/"))
}

func globSegs(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			if len(pat) == 1 {
				return true
			}
			for i := 0; i <= len(segs); i++ {
				if globSegs(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if m, _ := path.Match(pat[0], segs[0]); !m {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
