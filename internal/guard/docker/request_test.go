package docker

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		method, uri                         string
		wantErr                             string
		wantPath, wantVersion, wantEndpoint string
		wantURI                             string
	}{
		{method: "POST", uri: "/v1.47/containers/create?name=x", wantPath: "/containers/create", wantVersion: "1.47", wantEndpoint: "container.create", wantURI: "/v1.47/containers/create?name=x"},
		{method: "POST", uri: "/containers/create", wantPath: "/containers/create", wantEndpoint: "container.create", wantURI: "/containers/create"},
		{method: "GET", uri: "/v1.41/containers/json?all=1&filters=%7B%7D", wantPath: "/containers/json", wantVersion: "1.41", wantEndpoint: "container.list", wantURI: "/v1.41/containers/json?all=1&filters=%7B%7D"},
		{method: "POST", uri: "/v1.41/containers/abc/exec", wantPath: "/containers/abc/exec", wantEndpoint: "exec.create", wantVersion: "1.41", wantURI: "/v1.41/containers/abc/exec"},
		{method: "POST", uri: "/v1.41/exec/e1/start", wantPath: "/exec/e1/start", wantEndpoint: "exec.start", wantVersion: "1.41", wantURI: "/v1.41/exec/e1/start"},
		{method: "GET", uri: "/v1.41/images/ghcr.io/org/app:1/json", wantPath: "/images/ghcr.io/org/app:1/json", wantEndpoint: "image.inspect", wantVersion: "1.41", wantURI: "/v1.41/images/ghcr.io/org/app:1/json"},
		{method: "POST", uri: "/v1.41/plugins/vieux/sshfs:latest/upgrade?remote=x", wantPath: "/plugins/vieux/sshfs:latest/upgrade", wantEndpoint: "plugin.upgrade", wantVersion: "1.41", wantURI: "/v1.41/plugins/vieux/sshfs:latest/upgrade?remote=x"},
		{method: "POST", uri: "/build?t=a&t=b", wantPath: "/build", wantEndpoint: "image.build", wantURI: "/build?t=a&t=b"},
		{method: "GET", uri: "/_ping", wantPath: "/_ping", wantEndpoint: "ping", wantURI: "/_ping"},
		{method: "GET", uri: "/v1.41/containers/abc/", wantPath: "/containers/abc", wantEndpoint: "other", wantVersion: "1.41", wantURI: "/v1.41/containers/abc"},
		{method: "GET", uri: "/", wantPath: "/", wantEndpoint: "other", wantURI: "/"},
		// Refusals.
		{method: "POST", uri: "/v1.47/../containers/create", wantErr: "not clean"},
		{method: "POST", uri: "/v1.47/./containers/create", wantErr: "not clean"},
		{method: "POST", uri: "/v1.47//containers/create", wantErr: "not clean"},
		{method: "POST", uri: "/containers/x/../create", wantErr: "not clean"},
		{method: "POST", uri: "/v1.47/containers%2Fcreate", wantErr: "encoded \"%2f\""},
		{method: "POST", uri: "/v1.47/%2e%2e/containers/create", wantErr: "encoded \"%2e\""},
		{method: "POST", uri: "/containers\\create", wantErr: "backslash"},
		{method: "POST", uri: "/containers/%00/start", wantErr: "encoded \"%00\""},
		{method: "POST", uri: "/containers/create?name=a&name=b", wantErr: "query key \"name\" given 2 times"},
		{method: "POST", uri: "/images/create?fromImage=a&fromImage=evil.io/x", wantErr: "given 2 times"},
		{method: "POST", uri: "/containers/create?name=a;b", wantErr: "';' in query"},
		{method: "POST", uri: "/containers/create?name=%zz", wantErr: "query"},
		{method: "POST", uri: "/v1.47.1/containers/create", wantErr: "malformed API version"},
		{method: "POST", uri: "/v.../containers/create", wantErr: "malformed API version"},
		{method: "PATCH", uri: "/containers/create", wantErr: "method"},
		{method: "GET", uri: "http://x/containers/json", wantErr: "must be a path"},
		{method: "GET", uri: "/" + strings.Repeat("a", MaxURI), wantErr: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.uri[:min(len(tt.uri), 60)], func(t *testing.T) {
			r, err := ParseRequest(tt.method, tt.uri)
			if tt.wantErr != "" {
				var be *BadRequestError
				if !errors.As(err, &be) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want BadRequestError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Path != tt.wantPath || r.Version != tt.wantVersion || r.Endpoint != tt.wantEndpoint || r.URI() != tt.wantURI {
				t.Errorf("got path %q version %q endpoint %q uri %q", r.Path, r.Version, r.Endpoint, r.URI())
			}
		})
	}
}

func TestClassifyParams(t *testing.T) {
	_, p := classify("DELETE", "/images/ghcr.io/a/b:1")
	if p["name"] != "ghcr.io/a/b:1" {
		t.Errorf("name = %q", p["name"])
	}
	name, p := classify("POST", "/containers/c1/exec")
	if name != "exec.create" || p["id"] != "c1" {
		t.Errorf("%s %v", name, p)
	}
}

// FuzzParseRequest: whatever the input, an accepted request has a clean
// path without dot segments and its forwarded URI parses back to the same
// request (what the policy saw is what the daemon gets).
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{"/v1.47/containers/create?name=x", "/v1.47/../containers/create", "/containers%2Fcreate",
		"/build?t=a&t=b", "/images/a/b:c/json", "/v1.41/exec/x/start", "/%2e%2e/", "/a//b", "/?a=1&a=2"} {
		f.Add("POST", s)
	}
	f.Fuzz(func(t *testing.T, method, uri string) {
		r, err := ParseRequest(method, uri)
		if err != nil {
			return
		}
		for _, seg := range strings.Split(r.Path, "/") {
			if seg == ".." || seg == "." {
				t.Fatalf("dot segment in %q from %q", r.Path, uri)
			}
		}
		r2, err := ParseRequest(method, r.URI())
		if err != nil {
			t.Fatalf("forwarded URI %q of %q does not parse: %v", r.URI(), uri, err)
		}
		if r2.Path != r.Path || r2.Version != r.Version || r2.Endpoint != r.Endpoint || r2.Query.Encode() != r.Query.Encode() {
			t.Fatalf("round trip changed the request: %+v vs %+v", r, r2)
		}
	})
}
