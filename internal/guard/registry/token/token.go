package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxTokenLength bounds a bearer token before it is parsed.
const MaxTokenLength = 8192

// Errors returned by Verify (wrapped with details).
var (
	ErrInvalid     = errors.New("token: invalid token")
	ErrExpired     = errors.New("token: expired token")
	ErrScopeDenied = errors.New("token: token does not grant this scope")
)

// Claims are the JWT claims of a registry token: the registered claims
// (iss, sub, aud, exp, nbf, iat, jti) plus the granted access.
type Claims struct {
	jwt.RegisteredClaims
	Access []Access `json:"access"`
}

// Grants reports whether the claims allow action on typ/name.
func (c *Claims) Grants(typ, name, action string) bool {
	for _, a := range c.Access {
		if a.Allows(typ, name, action) {
			return true
		}
	}
	return false
}

// Service signs and verifies tokens with one ECDSA P-256 key (ES256).
type Service struct {
	key      *ecdsa.PrivateKey
	kid      string
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time

	// verified caches the claims of tokens whose signature checked out
	// (keyed by the token's SHA-256): a client sends the same token with
	// every request, and ECDSA verification is the costly part.
	mu       sync.Mutex
	verified map[[32]byte]*Claims
}

// maxVerified bounds the verified-token cache; when full it is emptied.
const maxVerified = 10_000

// Option configures a Service.
type Option func(*Service)

// WithTTL sets the lifetime of issued tokens (default 5 minutes).
func WithTTL(d time.Duration) Option { return func(s *Service) { s.ttl = d } }

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New returns a Service signing with key. issuer is the "iss" claim,
// audience the registry service name ("aud", the token request's service
// parameter).
func New(key *ecdsa.PrivateKey, issuer, audience string, opts ...Option) (*Service, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return nil, errors.New("token: signing key must be ECDSA P-256")
	}
	if issuer == "" || audience == "" {
		return nil, errors.New("token: issuer and audience must be set")
	}
	s := &Service{key: key, issuer: issuer, audience: audience, ttl: 5 * time.Minute, now: time.Now, verified: map[[32]byte]*Claims{}}
	for _, o := range opts {
		o(s)
	}
	if s.ttl <= 0 {
		return nil, errors.New("token: TTL must be positive")
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	s.kid = KeyID(der)
	return s, nil
}

// KeyID is the libtrust-style key id of a DER public key (what docker
// distribution's token auth expects in the "kid" header): the first 240
// bits of its SHA-256, base32, in 12 groups of 4.
func KeyID(der []byte) string {
	sum := sha256.Sum256(der)
	b := base32.StdEncoding.EncodeToString(sum[:30])
	var parts []string
	for i := 0; i < len(b); i += 4 {
		parts = append(parts, b[i:i+4])
	}
	return strings.Join(parts, ":")
}

// Audience returns the service name tokens are issued for.
func (s *Service) Audience() string { return s.audience }

// TTL returns the lifetime of issued tokens.
func (s *Service) TTL() time.Duration { return s.ttl }

// Issue signs a token for subject with the given access. It returns the
// compact JWT, its id and its expiry.
func (s *Service) Issue(subject string, access []Access) (tok, jti string, exp time.Time, err error) {
	now := s.now()
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", "", time.Time{}, fmt.Errorf("token: %w", err)
	}
	jti = hex.EncodeToString(id[:])
	exp = now.Add(s.ttl)
	if access == nil {
		access = []Access{}
	}
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer,
			Subject:   subject,
			Audience:  jwt.ClaimStrings{s.audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Second)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        jti,
		},
		Access: access,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	t.Header["kid"] = s.kid
	tok, err = t.SignedString(s.key)
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("token: sign: %w", err)
	}
	return tok, jti, exp, nil
}

// Verify checks a bearer token: size, ES256 signature by this service's
// key (no other algorithm is accepted: "none" and HMAC confusion are
// refused), issuer, audience, expiry, not-before and the presence of a
// subject and id. It does not check scopes; see Claims.Grants.
func (s *Service) Verify(tok string) (*Claims, error) {
	if len(tok) > MaxTokenLength {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalid, MaxTokenLength)
	}
	sum := sha256.Sum256([]byte(tok))
	s.mu.Lock()
	c, ok := s.verified[sum]
	s.mu.Unlock()
	if ok {
		// Time-based claims are checked again on every use.
		now := s.now()
		if !now.Before(c.ExpiresAt.Time) {
			return nil, fmt.Errorf("%w: token has expired", ErrExpired)
		}
		if c.NotBefore != nil && now.Before(c.NotBefore.Time) {
			return nil, fmt.Errorf("%w: token is not valid yet", ErrInvalid)
		}
		return c, nil
	}
	c, err := s.verify(tok)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.verified) >= maxVerified {
		clear(s.verified)
	}
	s.verified[sum] = c
	s.mu.Unlock()
	return c, nil
}

func (s *Service) verify(tok string) (*Claims, error) {
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
		jwt.WithIssuer(s.issuer),
		jwt.WithAudience(s.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(s.now),
		jwt.WithStrictDecoding(),
	)
	c := &Claims{}
	_, err := p.ParseWithClaims(tok, c, func(*jwt.Token) (any, error) { return &s.key.PublicKey, nil })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, fmt.Errorf("%w: %v", ErrExpired, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	case c.Subject == "" || c.ID == "":
		return nil, fmt.Errorf("%w: missing sub or jti", ErrInvalid)
	}
	for _, a := range c.Access {
		if a.Type == TypeRepository && !ValidRepository(a.Name) {
			return nil, fmt.Errorf("%w: access for invalid repository %q", ErrInvalid, a.Name)
		}
	}
	return c, nil
}

// LoadOrCreateKey reads an ECDSA P-256 private key (PEM, "EC PRIVATE KEY"
// or PKCS#8) from path, creating one (mode 0600) when the file does not
// exist.
func LoadOrCreateKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("token: signing key: %w", err)
		}
		if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
			f.Close()
			return nil, fmt.Errorf("token: signing key: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("token: signing key: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("token: signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("token: signing key %s: no PEM block", path)
	}
	var key any
	switch blk.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	default:
		return nil, fmt.Errorf("token: signing key %s: unsupported PEM type %q", path, blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("token: signing key %s: %w", path, err)
	}
	ek, ok := key.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, fmt.Errorf("token: signing key %s: not an ECDSA P-256 key", path)
	}
	return ek, nil
}
