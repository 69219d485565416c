package registry

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParseConfigErrors(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"grants: [{subjects: [a], role: wizard, repositories: ['**']}]", "unknown role"},
		{"grants: [{subjects: [a], role: admin}]", "no repositories"},
		{"grants: [{role: admin, repositories: ['**']}]", "no subjects"},
		{"grantz: []", "field grantz not found"},
		{"roles: {admin: {allow: [not-an-ip]}}", "roles.admin.allow"},
		{"roles: {nobody: {}}", "unknown role"},
		{"rate_limit: {rate: 5}", "burst"},
		{"robots: [{name: 'Bad Name', secret_hash: '$2a$', expires: 2030-01-01T00:00:00Z, role: developer, repositories: [x]}]", "invalid name"},
		{"robots: [{name: ci, secret_hash: plain, expires: 2030-01-01T00:00:00Z, role: developer, repositories: [x]}]", "bcrypt"},
		{"robots: [{name: ci, secret_hash: '$2a$x', role: developer, repositories: [x]}]", "expires is required"},
		{"immutable_tags: [{repositories: [x]}]", "immutable_tags[0].tags"},
		{"webhooks: [{url: 'ftp://x'}]", "http(s) URL"},
		{"webhooks: [{url: 'http://x', events: [boot]}]", "unknown event"},
		{"token_ttl: 48h", "token_ttl"},
		{"max_manifest_bytes: 10", "max_manifest_bytes"},
		{"gate: {roles: [king]}", "gate.roles"},
		{"realm: 'not a url'", "realm"},
	}
	for _, tc := range tests {
		if _, err := ParseConfig([]byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.yaml, err, tc.want)
		}
	}
	c, err := ParseConfig(nil)
	if err != nil || c.Service != "picket-registry-guard" || !*c.Gate.RequireScan || !reflect.DeepEqual(c.Gate.Roles, []string{RoleProduction, RoleGuest}) {
		t.Errorf("empty config: %+v, %v", c, err)
	}
}

func TestAuthorize(t *testing.T) {
	c, err := ParseConfig([]byte(`
anonymous: true
public: ["library/*"]
grants:
  - {subjects: [alice], role: developer, repositories: ["team/**"]}
  - {subjects: [alice], role: production, repositories: ["**"]}
  - {subjects: [bob], role: production, repositories: ["prod/*"]}
  - {subjects: [maint], role: maintainer, repositories: ["team/*"]}
  - {subjects: [scan], role: scanner, repositories: ["**"]}
  - {subjects: [gina], role: guest, repositories: ["**"]}
roles:
  production: {allow: [10.0.0.0/8], deny: [10.9.0.0/16]}
immutable_tags:
  - {repositories: ["prod/**"], tags: ["v*", "release-?"]}
`))
	if err != nil {
		t.Fatal(err)
	}
	in := netip.MustParseAddr("10.1.2.3")
	out := netip.MustParseAddr("192.168.1.1")
	denied := netip.MustParseAddr("10.9.1.1")
	tests := []struct {
		id, repo string
		ip       netip.Addr
		actions  []string
		gated    bool
		reason   string
	}{
		{"alice", "team/app", in, []string{"pull", "push"}, false, ""},
		{"alice", "team/a/b", out, []string{"pull", "push"}, false, ""},
		{"alice", "other/app", in, []string{"pull"}, true, ""},
		{"alice", "other/app", out, nil, false, "not allowed for role production"},
		{"bob", "prod/app", in, []string{"pull"}, true, ""},
		{"bob", "prod/app", denied, nil, false, "not allowed for role production"},
		{"bob", "prod/a/b", in, nil, false, "has no role"},
		{"maint", "team/app", out, []string{"pull", "push", "delete"}, false, ""},
		{"maint", "team/a/b", out, nil, false, "has no role"},
		{"scan", "anything/at/all", out, []string{"pull"}, false, ""},
		{"gina", "library/alpine", out, []string{"pull"}, true, ""},
		{"gina", "team/app", out, nil, false, "has no role"},
		{"anonymous", "library/alpine", out, []string{"pull"}, true, ""},
		{"anonymous", "team/app", out, nil, false, "has no role"},
		{"mallory", "team/app", in, nil, false, "has no role"},
	}
	for _, tc := range tests {
		d := c.Authorize(tc.id, tc.repo, tc.ip)
		if !reflect.DeepEqual(d.Actions, tc.actions) || d.Gated != tc.gated || !strings.Contains(d.Reason, tc.reason) {
			t.Errorf("Authorize(%s, %s, %s) = %+v; want %v gated %v reason %q", tc.id, tc.repo, tc.ip, d, tc.actions, tc.gated, tc.reason)
		}
	}
	for _, tc := range []struct {
		repo, tag string
		want      bool
	}{{"prod/app", "v1.2", true}, {"prod/app", "release-1", true}, {"prod/app", "release-12", false}, {"prod/app", "latest", false}, {"team/app", "v1", false}} {
		if got := c.immutable(tc.repo, tc.tag); got != tc.want {
			t.Errorf("immutable(%s:%s) = %v", tc.repo, tc.tag, got)
		}
	}
}

func TestCompilePatterns(t *testing.T) {
	tests := []struct {
		pat   string
		match []string
		miss  []string
	}{
		{"team/*", []string{"team/a"}, []string{"team/a/b", "team", "teams/a"}},
		{"team/**", []string{"team/a", "team/a/b/c"}, []string{"team", "teamx/a"}},
		{"**", []string{"a", "a/b"}, nil},
		{"a?c", []string{"abc"}, []string{"a/c", "abbc"}},
		{"lib.x/*", []string{"lib.x/a"}, []string{"libyx/a"}},
	}
	for _, tc := range tests {
		res, err := compilePatterns([]string{tc.pat})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range tc.match {
			if !matchAny(res, m) {
				t.Errorf("%q should match %q", tc.pat, m)
			}
		}
		for _, m := range tc.miss {
			if matchAny(res, m) {
				t.Errorf("%q should not match %q", tc.pat, m)
			}
		}
	}
}
