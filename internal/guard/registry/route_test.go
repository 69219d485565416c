package registry

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRoute(t *testing.T) {
	d := "sha256:" + strings.Repeat("a", 64)
	tests := []struct {
		path    string
		want    Route
		wantErr string
	}{
		{"/v2/", Route{Kind: KindBase}, ""},
		{"/v2", Route{Kind: KindBase}, ""},
		{"/v2/_catalog", Route{Kind: KindCatalog}, ""},
		{"/v2/app/manifests/latest", Route{KindManifest, "app", "latest"}, ""},
		{"/v2/team/sub/app/manifests/" + d, Route{KindManifest, "team/sub/app", d}, ""},
		{"/v2/team/app/blobs/" + d, Route{KindBlob, "team/app", d}, ""},
		{"/v2/team/app/blobs/uploads/", Route{KindUpload, "team/app", ""}, ""},
		{"/v2/team/app/blobs/uploads/0a1b-2c", Route{KindUpload, "team/app", "0a1b-2c"}, ""},
		{"/v2/team/app/tags/list", Route{KindTags, "team/app", ""}, ""},
		{"/v2/team/app/referrers/" + d, Route{KindReferrers, "team/app", d}, ""},
		// A repository may itself be called "manifests" or "blobs".
		{"/v2/manifests/manifests/v1", Route{KindManifest, "manifests", "v1"}, ""},
		{"/v2/team/../x/manifests/v1", Route{}, "dot segment"},
		{"/v2/team/./x/manifests/v1", Route{}, "dot segment"},
		{"/v2/team//x/manifests/v1", Route{}, "dot segment"},
		{"/v2/team/%2e%2e/x/manifests/v1", Route{}, "encoded"},
		{"/v2/team%2Fx/manifests/v1", Route{}, "encoded"},
		{`/v2/team\..\x/manifests/v1`, Route{}, "encoded"},
		{"/v2/Team/x/manifests/v1", Route{}, "invalid repository name"},
		{"/v2/team/x-/manifests/v1", Route{}, "invalid repository name"},
		{"/v2/manifests/v1", Route{}, "unknown endpoint"},
		{"/v2/team/x/manifests/.v1", Route{}, "invalid reference"},
		{"/v2/team/x/manifests/" + strings.Repeat("a", 129), Route{}, "invalid reference"},
		{"/v2/team/x/blobs/latest", Route{}, "invalid digest"},
		{"/v2/team/x/blobs/uploads/a/b", Route{}, "unknown endpoint"},
		{"/v2/team/x/tags", Route{}, "unknown endpoint"},
		{"/v3/x/manifests/v1", Route{}, "not under /v2/"},
		{"/v2/" + strings.Repeat("a/", 1100) + "manifests/v1", Route{}, "longer than"},
		{"/v2/" + strings.Repeat("a", 256) + "/manifests/v1", Route{}, "invalid repository name"},
	}
	for _, tc := range tests {
		got, err := ParseRoute(tc.path)
		if tc.wantErr != "" {
			if err == nil || !errors.Is(err, ErrRoute) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseRoute(%q) = %+v, %v; want error %q", tc.path, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRoute(%q) = %+v, %v; want %+v", tc.path, got, err, tc.want)
		}
	}
}

func TestRouteAction(t *testing.T) {
	tests := []struct {
		r      Route
		method string
		want   string
		ok     bool
	}{
		{Route{Kind: KindManifest, Repo: "a", Reference: "v1"}, "GET", "pull", true},
		{Route{Kind: KindManifest, Repo: "a", Reference: "v1"}, "HEAD", "pull", true},
		{Route{Kind: KindManifest, Repo: "a", Reference: "v1"}, "PUT", "push", true},
		{Route{Kind: KindManifest, Repo: "a", Reference: "v1"}, "DELETE", "delete", true},
		{Route{Kind: KindManifest, Repo: "a", Reference: "v1"}, "POST", "", false},
		{Route{Kind: KindBlob, Repo: "a"}, "DELETE", "delete", true},
		{Route{Kind: KindBlob, Repo: "a"}, "PUT", "", false},
		{Route{Kind: KindUpload, Repo: "a"}, "POST", "push", true},
		{Route{Kind: KindUpload, Repo: "a"}, "PATCH", "", false},
		{Route{Kind: KindUpload, Repo: "a", Reference: "u"}, "PATCH", "push", true},
		{Route{Kind: KindUpload, Repo: "a", Reference: "u"}, "GET", "push", true},
		{Route{Kind: KindTags, Repo: "a"}, "GET", "pull", true},
		{Route{Kind: KindTags, Repo: "a"}, "DELETE", "", false},
		{Route{Kind: KindCatalog}, "GET", "*", true},
	}
	for _, tc := range tests {
		got, ok := tc.r.Action(tc.method)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("%+v %s: %q %v, want %q %v", tc.r, tc.method, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{"/v2/", "/v2/a/b/manifests/latest", "/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/x", "/v2/a/../b/tags/list",
		"/v2/a/referrers/sha256:" + strings.Repeat("0", 64), "/v2/%2e/manifests/x", "/v2/_catalog"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r, err := ParseRoute(p)
		if err != nil {
			return
		}
		if r.Kind == KindBase || r.Kind == KindCatalog {
			return
		}
		for _, c := range strings.Split(r.Repo, "/") {
			if c == "" || c == "." || c == ".." {
				t.Fatalf("%q: repository %q has a bad component", p, r.Repo)
			}
		}
		if strings.ContainsAny(r.Repo+r.Reference, "%\\?#") {
			t.Fatalf("%q: encoded or special characters in %+v", p, r)
		}
		// The route names the path: rebuilding it gives the same route.
		if !strings.HasPrefix(p, "/v2/"+r.Repo+"/") {
			t.Fatalf("%q: repository %q is not a prefix", p, r.Repo)
		}
	})
}

func FuzzValidateManifest(f *testing.F) {
	d := "sha256:" + strings.Repeat("a", 64)
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"`+d+`","size":1},"layers":[{"digest":"`+d+`","size":2}]}`), "application/vnd.oci.image.manifest.v1+json")
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"`+d+`","size":2}]}`), "")
	f.Add([]byte(`{"schemaVersion":1}`), "application/json")
	f.Fuzz(func(t *testing.T, b []byte, ct string) {
		m, err := ValidateManifest(b, ct)
		if err != nil {
			return
		}
		if m.SchemaVersion != 2 || !manifestTypes[m.MediaType] {
			t.Fatalf("accepted %+v", m)
		}
		for _, l := range append(append([]ociDescriptor{}, m.Layers...), m.Manifests...) {
			if !digestRE.MatchString(l.Digest) || l.Size < 0 {
				t.Fatalf("accepted descriptor %+v", l)
			}
		}
	})
}
