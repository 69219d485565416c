package docker

import (
	"os"
	"strings"
	"testing"
)

func TestAccessACL(t *testing.T) {
	data, err := os.ReadFile("testdata/access.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseAccess("access.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if name, ok := a.TokenUser("ci-secret-token"); !ok || name != "ci" {
		t.Errorf("TokenUser = %q %v", name, ok)
	}
	if _, ok := a.TokenUser("wrong"); ok {
		t.Error("wrong token accepted")
	}
	if n := a.UnixName(4242, nil); n != "alice" {
		t.Errorf("UnixName(4242) = %q", n)
	}
	if n := a.UnixName(7, func(int) string { return "" }); n != "uid:7" {
		t.Errorf("UnixName(7) = %q", n)
	}
	alice := Identity{Name: "alice", Groups: a.Groups("alice")}
	ci := Identity{Name: "ci", Groups: a.Groups("ci")}
	root := Identity{Name: "root", Groups: a.Groups("root")}
	nobody := Identity{Name: "nobody"}
	tests := []struct {
		id          Identity
		method, uri string
		want        bool
	}{
		{alice, "GET", "/v1.41/containers/json", true},
		{alice, "POST", "/v1.41/containers/create", true},
		{alice, "POST", "/v1.41/containers/abc/start", true},
		{alice, "DELETE", "/v1.41/containers/abc", true},
		{alice, "POST", "/v1.41/exec/e1/start", true},
		{alice, "POST", "/v1.41/swarm/init", false},
		{alice, "POST", "/v1.41/plugins/pull", false},
		{alice, "GET", "/v1.41/plugins", false}, // deny plugin.* wins over GET **
		{alice, "POST", "/v1.41/volumes/create", false},
		{ci, "POST", "/build", true},
		{root, "POST", "/v1.41/swarm/init", true},
		{nobody, "GET", "/_ping", true},
		{nobody, "GET", "/v1.41/version", true},
		{nobody, "GET", "/v1.41/containers/json", false},
	}
	for _, tt := range tests {
		req, err := ParseRequest(tt.method, tt.uri)
		if err != nil {
			t.Fatal(err)
		}
		ok, reason := a.Check(tt.id, req)
		if ok != tt.want {
			t.Errorf("%s %s %s: allowed=%v (%s), want %v", tt.id.Name, tt.method, tt.uri, ok, reason, tt.want)
		}
		if !ok && !strings.Contains(reason, "access denied: "+tt.id.Name) {
			t.Errorf("reason %q", reason)
		}
	}
	// No rules: everything allowed.
	empty, _ := ParseAccess("empty", nil)
	req, _ := ParseRequest("POST", "/swarm/init")
	if ok, _ := empty.Check(nobody, req); !ok {
		t.Error("empty access file refused a request")
	}
}

func TestAccessErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"userz: {}", "field userz not found"},
		{"users: {a: {tokens: [abc]}}", "want sha256:<64 hex digits>"},
		{"users: {a: {tokens: [\"sha256:" + strings.Repeat("a", 64) + "\"]}, b: {tokens: [\"sha256:" + strings.Repeat("a", 64) + "\"]}}", "token also given to"},
		{"rules: [{allow: ['*']}]", "no subjects"},
		{"rules: [{subjects: ['*']}]", "neither allow nor deny"},
		{"rules: [{subjects: ['*'], allow: ['FETCH /x']}]", "unknown method"},
		{"rules: [{subjects: ['*'], allow: ['GET x']}]", "path must start with /"},
		{"rules: [{subjects: ['*'], allow: ['GET /[']}]", "syntax error in pattern"},
		{"rules: [{subjects: ['*'], allow: ['containers/json']}]", "want \"METHOD /path/glob\""},
	}
	for _, tt := range tests {
		if _, err := ParseAccess("a.yaml", []byte(tt.src)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseAccess(%q) = %v, want %q", tt.src, err, tt.want)
		}
	}
}
