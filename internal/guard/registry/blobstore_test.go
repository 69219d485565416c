package registry_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/picket-cdr/picket/internal/audit"
	"github.com/picket-cdr/picket/internal/guard/registry"
)

// With --blob-storage the guard answers authorized blob downloads from the
// registry's files: same bytes and headers as the registry, ranges and
// conditional requests, and never a blob the repository does not link.
func TestBlobsFromStorage(t *testing.T) {
	e := newEnv(t, envOpts{blobStorage: true})
	ns := e.ns
	img, err := random.Image(300_000, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(e.parse(e.ref("app:v1")), img, e.remoteOpts("dev")...); err != nil {
		t.Fatalf("push: %v", err)
	}
	other, err := random.Image(2000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(e.parse(e.ref("other:1")), other, e.remoteOpts("dev")...); err != nil {
		t.Fatalf("push: %v", err)
	}
	layers, _ := img.Layers()
	layer := layers[0]
	ld, _ := layer.Digest()
	rc, _ := layer.Compressed()
	blob, _ := io.ReadAll(rc)
	cfgDigest, _ := img.ConfigName()
	otherLayers, _ := other.Layers()
	otherDigest, _ := otherLayers[0].Digest()
	tok := e.token("dev", "repository:"+ns+"/app:pull")

	fromStorage := func() int {
		rec := httptest.NewRecorder()
		e.guard.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		sc := bufio.NewScanner(rec.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "picket_registry_guard_blobs_from_storage_total "); ok {
				n, _ := strconv.ParseFloat(v, 64)
				return int(n)
			}
		}
		t.Fatal("no blobs_from_storage_total metric")
		return 0
	}
	get := func(method, repo, digest, tok string, hdr map[string]string) (*http.Response, []byte) {
		return e.request(method, "/v2/"+ns+"/"+repo+"/blobs/"+digest, tok, nil, hdr)
	}

	cases := []struct {
		name        string
		method      string
		repo        string
		digest      string
		tok         string
		hdr         map[string]string
		status      int
		body        []byte // nil: not checked
		fromStorage bool
	}{
		{name: "whole blob", method: "GET", repo: "app", digest: ld.String(), tok: tok, status: 200, body: blob, fromStorage: true},
		{name: "HEAD", method: "HEAD", repo: "app", digest: ld.String(), tok: tok, status: 200, body: []byte{}, fromStorage: true},
		{name: "range", method: "GET", repo: "app", digest: ld.String(), tok: tok, hdr: map[string]string{"Range": "bytes=100-199"},
			status: 206, body: blob[100:200], fromStorage: true},
		{name: "not modified", method: "GET", repo: "app", digest: ld.String(), tok: tok, hdr: map[string]string{"If-None-Match": `"` + ld.String() + `"`},
			status: 304, fromStorage: true},
		{name: "config blob", method: "GET", repo: "app", digest: cfgDigest.String(), tok: tok, status: 200, fromStorage: true},
		{name: "blob of another repository", method: "GET", repo: "app", digest: otherDigest.String(), tok: tok, status: 404},
		{name: "unknown digest", method: "GET", repo: "app", digest: "sha256:" + strings.Repeat("ab", 32), tok: tok, status: 404},
		{name: "no token", method: "GET", repo: "app", digest: ld.String(), status: 401},
		{name: "token for another repository", method: "GET", repo: "other", digest: otherDigest.String(), tok: tok, status: 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := fromStorage()
			resp, body := get(c.method, c.repo, c.digest, c.tok, c.hdr)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if c.body != nil && !bytes.Equal(body, c.body) {
				t.Fatalf("body of %d bytes differs from the blob's %d", len(body), len(c.body))
			}
			if got := fromStorage() - before; got != map[bool]int{true: 1}[c.fromStorage] {
				t.Fatalf("served from storage %d times, want storage=%v", got, c.fromStorage)
			}
			if c.status == 200 {
				if d := resp.Header.Get("Docker-Content-Digest"); d != c.digest {
					t.Errorf("Docker-Content-Digest %q, want %q", d, c.digest)
				}
				if c.method == "GET" {
					sum := sha256.Sum256(body)
					if "sha256:"+hex.EncodeToString(sum[:]) != c.digest {
						t.Errorf("body does not hash to %s", c.digest)
					}
				}
				if c.method == "HEAD" && resp.ContentLength != int64(len(blob)) {
					t.Errorf("HEAD Content-Length %d, want %d", resp.ContentLength, len(blob))
				}
			}
		})
	}

	// A whole pull through the guard: every blob verifies.
	pulled, err := remote.Image(e.parse(e.ref("app:v1")), e.remoteOpts("dev")...)
	if err != nil {
		t.Fatal(err)
	}
	before := fromStorage()
	if err := validate.Image(pulled); err != nil {
		t.Fatalf("pulled image does not validate: %v", err)
	}
	if fromStorage() == before {
		t.Fatal("the pull did not read blobs from storage")
	}
	e.verifyAudit()

	// A storage root that is not a directory is refused at start.
	cfg, err := registry.LoadConfig(filepath.Join(e.dir, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	aw, err := audit.Open(filepath.Join(t.TempDir(), "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer aw.Close()
	for bad, want := range map[string]string{
		filepath.Join(e.dir, "missing"):     "no such file or directory",
		filepath.Join(e.dir, "policy.yaml"): "not a directory",
	} {
		if _, err := registry.New(registry.Options{Upstream: "http://127.0.0.1:1", BlobStorage: bad, Config: cfg,
			StateDir: filepath.Join(t.TempDir(), "s"), Audit: aw}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New with --blob-storage %s: %v, want %q", bad, err, want)
		}
	}
}
