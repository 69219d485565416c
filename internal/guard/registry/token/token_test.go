package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		in      string
		want    Access
		wantErr string
	}{
		{"repository:team/app:pull", Access{"repository", "team/app", []string{"pull"}}, ""},
		{"repository:team/app:pull,push", Access{"repository", "team/app", []string{"pull", "push"}}, ""},
		{"repository:a/b/c:pull,pull,*", Access{"repository", "a/b/c", []string{"pull", "*"}}, ""},
		{"repository(plugin):x:pull", Access{"repository", "x", []string{"pull"}}, ""},
		{"registry:catalog:*", Access{"registry", "catalog", []string{"*"}}, ""},
		{"repository:localhost:5000/app:pull", Access{}, "invalid repository name"},
		{"repository:../etc:pull", Access{}, "invalid repository name"},
		{"repository:Team/app:pull", Access{}, "invalid repository name"},
		{"repository:a//b:pull", Access{}, "invalid repository name"},
		{"repository:app:", Access{}, "no actions"},
		{"repository:app:pull;rm", Access{}, "bad action"},
		{"repository:app", Access{}, "want type:name:actions"},
		{"registry:other:*", Access{}, "unknown registry resource"},
		{"image:app:pull", Access{}, "unknown resource type"},
		{"repository(Bad!):x:pull", Access{}, "bad resource class"},
		{"repository:" + strings.Repeat("a", 600) + ":pull", Access{}, "longer than"},
	}
	for _, tc := range tests {
		got, err := ParseScope(tc.in)
		if tc.wantErr != "" {
			if err == nil || !errors.Is(err, ErrScope) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseScope(%q) error %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseScope(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseScopesMerges(t *testing.T) {
	got, err := ParseScopes([]string{"repository:a:pull", "repository:a:push repository:b:pull"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Access{{"repository", "a", []string{"pull", "push"}}, {"repository", "b", []string{"pull"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}
	if _, err := ParseScopes([]string{strings.Repeat("repository:a:pull ", MaxScopes+1)}); err == nil {
		t.Error("too many scopes accepted")
	}
}

func TestIntersect(t *testing.T) {
	tests := []struct{ req, allowed, want []string }{
		{[]string{"pull", "push"}, []string{"pull"}, []string{"pull"}},
		{[]string{"pull", "push"}, []string{"pull", "push", "delete"}, []string{"pull", "push"}},
		{[]string{"*"}, []string{"pull", "push"}, []string{"pull", "push"}},
		{[]string{"delete"}, []string{"pull", "push"}, nil},
		{[]string{"pull"}, nil, nil},
		{[]string{"pull", "pull"}, []string{"pull"}, []string{"pull"}},
	}
	for _, tc := range tests {
		if got := Intersect(tc.req, tc.allowed); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Intersect(%v, %v) = %v, want %v", tc.req, tc.allowed, got, tc.want)
		}
	}
}

func newService(t *testing.T, opts ...Option) (*Service, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(key, "iss", "svc", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s, key
}

func TestIssueVerify(t *testing.T) {
	s, key := newService(t)
	acc := []Access{{"repository", "team/app", []string{"pull"}}}
	tok, jti, exp, err := s.Issue("alice", acc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || c.ID != jti || !c.ExpiresAt.Time.Equal(exp.Truncate(time.Second)) || !reflect.DeepEqual(c.Access, acc) {
		t.Errorf("claims %+v", c)
	}
	if !c.Grants("repository", "team/app", "pull") || c.Grants("repository", "team/app", "push") || c.Grants("repository", "team/other", "pull") {
		t.Error("Grants wrong")
	}

	past, _ := New(key, "iss", "svc", WithClock(func() time.Time { return time.Now().Add(-time.Hour) }))
	old, _, _, _ := past.Issue("alice", acc)
	other, _ := newService(t)
	forged, _, _, _ := other.Issue("alice", acc)
	aud, _ := New(key, "iss", "other-svc")
	wrongAud, _, _, _ := aud.Issue("alice", acc)
	iss, _ := New(key, "someone-else", "svc")
	wrongIss, _, _, _ := iss.Issue("alice", acc)
	noSub, _, _, _ := s.Issue("", acc)
	badRepo, _, _, _ := s.Issue("alice", []Access{{"repository", "../x", []string{"pull"}}})
	for name, tc := range map[string]struct {
		tok  string
		want error
	}{
		"expired":        {old, ErrExpired},
		"forged":         {forged, ErrInvalid},
		"audience":       {wrongAud, ErrInvalid},
		"issuer":         {wrongIss, ErrInvalid},
		"no subject":     {noSub, ErrInvalid},
		"invalid access": {badRepo, ErrInvalid},
		"garbage":        {"a.b.c", ErrInvalid},
		"huge":           {strings.Repeat("a", MaxTokenLength+1), ErrInvalid},
	} {
		if _, err := s.Verify(tc.tok); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", name, err, tc.want)
		}
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "key.pem")
	k1, err := LoadOrCreateKey(p)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKey(p)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) {
		t.Error("key not persisted")
	}
}

func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"repository:team/app:pull,push", "registry:catalog:*", "repository(plugin):a:pull", "repository:a::b:pull", ":::", "repository:a/../b:pull"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseScope(s)
		if err != nil {
			return
		}
		if a.Type == TypeRepository && !ValidRepository(a.Name) {
			t.Fatalf("accepted invalid repository %q", a.Name)
		}
		if strings.Contains(a.Name, "..") || strings.Contains(a.Name, "//") {
			t.Fatalf("accepted traversal %q", a.Name)
		}
		if len(a.Actions) == 0 {
			t.Fatal("no actions")
		}
		// Round trip.
		b, err := ParseScope(a.String())
		if err != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip %q -> %+v -> %+v, %v", s, a, b, err)
		}
	})
}

func FuzzVerify(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := New(key, "iss", "svc")
	good, _, _, _ := s.Issue("alice", []Access{{"repository", "a", []string{"pull"}}})
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.Verify(tok)
		if err == nil && tok != good {
			// Only a token this key signed verifies; ES256 signatures
			// are malleable in encoding, so check it is good's claims.
			if c.Subject != "alice" {
				t.Fatalf("foreign token accepted: %+v", c)
			}
		}
	})
}

// A cached token is still refused once it expires.
func TestVerifyCacheExpires(t *testing.T) {
	now := time.Now()
	s, _ := newService(t, WithClock(func() time.Time { return now }), WithTTL(time.Minute))
	tok, _, _, err := s.Issue("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.Verify(tok); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(2 * time.Minute)
	if _, err := s.Verify(tok); !errors.Is(err, ErrExpired) {
		t.Errorf("expired cached token: %v", err)
	}
}
