package vulndb

import (
	"archive/zip"
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func shared(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test data %s not available: %v", rel, err)
	}
	return p
}

// zipDir builds an OSV all.zip from a directory of records.
func zipDir(t testing.TB, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		w, _ := zw.Create(e.Name())
		w.Write(b)
	}
	zw.Close()
	return buf.Bytes()
}

func TestImportSharedData(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	infos, err := Import(dir,
		shared(t, "data/osv/Go"), shared(t, "data/osv/PyPI"), shared(t, "data/osv/crates.io"),
		shared(t, "data/secdb/alpine/v3.10"), shared(t, "data/kev"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imported all shared data in %v", time.Since(start))
	got := map[string]int{}
	for _, i := range infos {
		got[filepath.Base(i.Name)] = i.Records
		if i.Skipped > 0 {
			t.Errorf("%s: skipped %d: %v", i.Name, i.Skipped, i.SkipSamples)
		}
	}
	want := map[string]int{"Go": 4291, "PyPI": 2661, "crates.io": 1206, "kev": 1404}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d records, want %d", k, got[k], v)
		}
	}
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, err := db.Lookup("Alpine:v3.10", "musl")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, r := range recs {
		ids[r.ID] = r.Affected[0].Ranges[0].Events[1].Fixed
	}
	if ids["CVE-2019-14697"] != "1.1.22-r3" || ids["CVE-2016-8859"] != "1.1.15-r4" || len(ids) != 2 {
		t.Errorf("musl records %v", ids)
	}
	if recs, _ := db.Lookup("PyPI", "Django"); len(recs) == 0 {
		t.Error("PyPI lookup is not case- and separator-insensitive")
	}
	if k, ok := db.KEV("CVE-2021-44228"); !ok || k.VendorProject != "Apache" {
		t.Errorf("KEV %v %v", k, ok)
	}
	if len(db.Sources()) != 6 {
		t.Errorf("sources %d", len(db.Sources()))
	}
}

func TestImportErrors(t *testing.T) {
	dir := t.TempDir()
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "trunc.json"), []byte(`{"id": "X-1", "affected": [{"package": {"ecosystem": "Go", "name": "a"}`), 0o644)
	corruptZip := filepath.Join(t.TempDir(), "all.zip")
	z := zipDir(t, shared(t, "data/osv/crates.io"))
	z[len(z)/2] ^= 0xff
	os.WriteFile(corruptZip, z, 0o644)
	empty := t.TempDir()
	tests := []struct {
		name string
		path string
		want error
	}{
		{"every record truncated", bad, ErrInvalidRecord},
		{"corrupt zip", corruptZip, ErrUnsupported},
		{"nothing to import", empty, ErrUnsupported},
		{"missing path", "/nonexistent/feed", os.ErrNotExist},
	}
	for _, tt := range tests {
		if _, err := Import(dir, tt.path); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := Open(dir); !errors.Is(err, ErrNoDB) {
		t.Errorf("failed imports left a database behind: %v", err)
	}
}

func TestParseOSVErrors(t *testing.T) {
	tests := map[string]string{
		"not json":        `{"id":`,
		"no id":           `{"affected":[{"package":{"ecosystem":"Go","name":"x"}}]}`,
		"no affected":     `{"id":"X-1"}`,
		"empty event":     `{"id":"X-1","affected":[{"package":{"ecosystem":"Go","name":"x"},"ranges":[{"type":"SEMVER","events":[{}]}]}]}`,
		"two fields":      `{"id":"X-1","affected":[{"package":{"ecosystem":"Go","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1"}]}]}]}`,
		"no events":       `{"id":"X-1","affected":[{"package":{"ecosystem":"Go","name":"x"},"ranges":[{"type":"SEMVER","events":[]}]}]}`,
		"bad time":        `{"id":"X-1","modified":"yesterday","affected":[{"package":{"ecosystem":"Go","name":"x"}}]}`,
		"nameless affect": `{"id":"X-1","affected":[{"package":{"ecosystem":"Go"}}]}`,
	}
	for name, doc := range tests {
		if _, err := ParseOSV([]byte(doc)); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	w, err := ParseOSV([]byte(`{"id":"X-2","withdrawn":"2024-01-01T00:00:00Z","affected":[]}`))
	if err != nil || w.Withdrawn == nil {
		t.Errorf("withdrawn record: %v %v", w, err)
	}
}

func TestSecDBNotAffected(t *testing.T) {
	doc := `distroversion: v3.18
reponame: main
packages:
  - pkg:
      name: curl
      secfixes:
        8.1.0-r0:
          - CVE-2023-28319 CVE-2023-28320
        0:
          - CVE-2021-22945
        7.79.0-r0:
          - CVE-2021-22947 (only on some arches)
`
	recs, name, err := ParseSecDB([]byte(doc))
	if err != nil || name != "secdb/v3.18/main" {
		t.Fatal(err, name)
	}
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	if got := strings.Join(ids, " "); got != "CVE-2021-22947 CVE-2023-28319 CVE-2023-28320" {
		t.Errorf("ids %s", got)
	}
	if _, _, err := ParseSecDB([]byte("packages: []\n")); !errors.Is(err, ErrInvalidRecord) {
		t.Errorf("secdb without distroversion: %v", err)
	}
}

// feedServer serves OSV zips, a secdb and KEV with ETags, counting hits.
type feedServer struct {
	files  map[string][]byte
	hits   atomic.Int64
	cut    atomic.Int64 // when > 0, the next full response is cut after this many bytes
	badMD5 atomic.Bool
	ranges atomic.Int64
}

func (s *feedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	b, ok := s.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	etag := fmt.Sprintf(`"%x"`, md5.Sum(b))
	sum := md5.Sum(b)
	md := base64.StdEncoding.EncodeToString(sum[:])
	if s.badMD5.Load() {
		md = base64.StdEncoding.EncodeToString(make([]byte, 16))
	}
	w.Header().Set("X-Goog-Hash", "crc32c=AAAAAA==,md5="+md)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	if rg := r.Header.Get("Range"); rg != "" {
		s.ranges.Add(1)
		var off int
		fmt.Sscanf(rg, "bytes=%d-", &off)
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, len(b)-1, len(b)))
		w.Header().Set("Content-Length", fmt.Sprint(len(b)-off))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(b[off:])
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	if n := s.cut.Swap(0); n > 0 {
		w.WriteHeader(http.StatusOK)
		w.Write(b[:n])
		if hj, ok := w.(http.Hijacker); ok {
			conn, _, _ := hj.Hijack()
			conn.Close()
		}
		return
	}
	w.Write(b)
}

func TestUpdate(t *testing.T) {
	secdb, err := os.ReadFile(filepath.Join(shared(t, "data/secdb/alpine/v3.10"), "main.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	kev, _ := os.ReadFile(filepath.Join(shared(t, "data/kev"), "known_exploited_vulnerabilities.json"))
	fs := &feedServer{files: map[string][]byte{
		"/osv/Go/all.zip":        zipDir(t, shared(t, "data/osv/Go")),
		"/osv/crates.io/all.zip": zipDir(t, shared(t, "data/osv/crates.io")),
		"/secdb/v3.10/main.json": secdb,
		"/kev.json":              kev,
	}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	dir := t.TempDir()
	opts := UpdateOptions{
		OSVBase: srv.URL + "/osv", Ecosystems: []string{"Go", "crates.io"},
		SecDBBase: srv.URL + "/secdb", SecDBReleases: []string{"v3.10"}, SecDBRepos: []string{"main"},
		KEVURL: srv.URL + "/kev.json",
	}
	status := func(res []Result) string {
		var s []string
		for _, r := range res {
			s = append(s, r.Feed+"="+r.Status)
		}
		return strings.Join(s, " ")
	}
	// First update: everything downloaded, a cut-off download resumed.
	fs.cut.Store(100_000)
	res, err := Update(t.Context(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := status(res); got != "osv/Go=updated osv/crates.io=updated secdb/v3.10/main=updated kev=updated" {
		t.Errorf("first update: %s", got)
	}
	if fs.ranges.Load() != 1 {
		t.Errorf("interrupted download resumed %d times with a range request, want 1", fs.ranges.Load())
	}
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c := db.Counts(); c["osv/Go"] != 4291 || c["osv/crates.io"] != 1206 || c["kev"] != 1404 || c["secdb/v3.10/main"] == 0 {
		t.Errorf("counts %v", c)
	}
	// A reader keeps working while updates swap the file.
	defer db.Close()

	// Second update: nothing changed, conditional requests say so.
	res, err = Update(t.Context(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := status(res); !strings.Contains(got, "osv/Go=not-modified") || strings.Contains(got, "=updated") {
		t.Errorf("second update: %s", got)
	}

	// A feed that turns corrupt fails the update and leaves the database.
	good := fs.files["/osv/Go/all.zip"]
	fs.files["/osv/Go/all.zip"] = []byte("PK\x03\x04 this is not a zip")
	os.Remove(filepath.Join(dir, "downloads", "osv_Go")) // force a full download
	if _, err := Update(t.Context(), dir, opts); err == nil {
		t.Fatal("corrupt feed accepted")
	}
	fs.files["/osv/Go/all.zip"] = good
	fs.badMD5.Store(true)
	os.Remove(filepath.Join(dir, "downloads", "osv_Go"))
	if _, err := Update(t.Context(), dir, opts); err == nil || !strings.Contains(err.Error(), "integrity") {
		t.Fatalf("md5 mismatch: %v", err)
	}
	fs.badMD5.Store(false)
	db2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if c := db2.Counts(); c["osv/Go"] != 4291 {
		t.Errorf("database damaged by failed updates: %v", c)
	}
	if recs, err := db.Lookup("Go", "golang.org/x/text"); err != nil || len(recs) == 0 {
		t.Errorf("old reader: %d records, %v", len(recs), err)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	dir := shared(t, "data/osv/crates.io")
	ents, _ := os.ReadDir(dir)
	for _, e := range ents[:200] {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		r, err := ParseOSV(b)
		if err != nil {
			t.Fatal(err)
		}
		r.Source = "s"
		got, err := decodeRecord(encodeRecord(r))
		if err != nil {
			t.Fatal(err)
		}
		// Empty and nil slices are the same record: compare the JSON forms.
		gj, _ := json.Marshal(got)
		rj, _ := json.Marshal(r)
		if !bytes.Equal(gj, rj) {
			t.Fatalf("%s: round trip differs\n got %+v\nwant %+v", r.ID, got, r)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord(&Record{ID: "X", Affected: []Affected{{Package: Package{Ecosystem: "Go", Name: "a"}, Ranges: []Range{{Type: "SEMVER", Events: []Event{{Introduced: "0"}, {Fixed: "1"}}}}, Versions: []string{"0.1"}}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err == nil && r == nil {
			t.Fatal("nil record without error")
		}
	})
}

func FuzzParseOSV(f *testing.F) {
	f.Add([]byte(`{"id":"GO-1","affected":[{"package":{"ecosystem":"Go","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"}]}],"versions":["1.0.0"]}],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`))
	f.Add([]byte(`{"id":"X","withdrawn":"2024-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseOSV(b)
		if err != nil {
			return
		}
		if r.ID == "" || len(r.Affected) == 0 && r.Withdrawn == nil {
			t.Fatalf("invalid record accepted: %+v", r)
		}
		if _, err := decodeRecord(encodeRecord(r)); err != nil {
			t.Fatalf("stored form does not decode: %v", err)
		}
	})
}

func FuzzParseSecDB(f *testing.F) {
	f.Add([]byte("distroversion: v3.10\nreponame: main\npackages:\n  - pkg:\n      name: musl\n      secfixes:\n        1.1.22-r3:\n          - CVE-2019-14697\n"))
	f.Add([]byte(`{"distroversion":"v3.10","reponame":"main","packages":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, _, err := ParseSecDB(b)
		if err != nil {
			return
		}
		for _, r := range recs {
			if len(r.Affected) == 0 || r.Affected[0].Package.Name == "" {
				t.Fatalf("bad record %+v", r)
			}
		}
	})
}

func TestImportUnsupportedEcosystems(t *testing.T) {
	dir := t.TempDir()
	feed := t.TempDir()
	os.WriteFile(filepath.Join(feed, "a.json"), []byte(`{"id":"X-1","affected":[{"package":{"ecosystem":"Hex","name":"plug"},"versions":["1.0"]},{"package":{"ecosystem":"Go","name":"a"},"versions":["1.0.0"]}]}`), 0o644)
	os.WriteFile(filepath.Join(feed, "b.json"), []byte(`{"id":"X-2","affected":[{"package":{"ecosystem":"GitHub Actions","name":"x/y"},"versions":["1"]}]}`), 0o644)
	infos, err := Import(dir, feed)
	if err != nil {
		t.Fatal(err)
	}
	if infos[0].Records != 1 || infos[0].Skipped != 1 || !strings.Contains(infos[0].SkipSamples[0], "GitHub Actions") {
		t.Errorf("info %+v", infos[0])
	}
	db, _ := Open(dir)
	defer db.Close()
	if recs, _ := db.Lookup("Go", "a"); len(recs) != 1 || len(recs[0].Affected) != 1 {
		t.Errorf("Go entry lost or Hex entry kept: %+v", recs)
	}
	only := t.TempDir()
	os.WriteFile(filepath.Join(only, "b.json"), []byte(`{"id":"X-2","affected":[{"package":{"ecosystem":"Hex","name":"plug"},"versions":["1"]}]}`), 0o644)
	if _, err := Import(t.TempDir(), only); !errors.Is(err, ErrInvalidRecord) {
		t.Errorf("feed of unsupported ecosystems only: %v", err)
	}
}
