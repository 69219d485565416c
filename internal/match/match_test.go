package match

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/inventory"
	"github.com/picket-cdr/picket/internal/vulndb"
)

func shared(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test data %s not available: %v", rel, err)
	}
	return p
}

var (
	dbOnce sync.Once
	dbDir  string
	dbErr  error
)

// sharedDB imports every shared feed plus the Debian fixtures once.
func sharedDB(t testing.TB) *vulndb.DB {
	t.Helper()
	paths := []string{
		shared(t, "data/osv/Go"), shared(t, "data/osv/PyPI"), shared(t, "data/osv/crates.io"),
		shared(t, "data/secdb/alpine/v3.10"), shared(t, "data/kev"), "testdata/debian",
	}
	dbOnce.Do(func() {
		dbDir, dbErr = os.MkdirTemp("", "picket-match-db")
		if dbErr == nil {
			_, dbErr = vulndb.Import(dbDir, paths...)
		}
	})
	if dbErr != nil {
		t.Fatal(dbErr)
	}
	db, err := vulndb.Open(dbDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type row struct{ id, fixed string }

func rows(fs []*finding.Finding, pkg string) []row {
	var out []row
	for _, f := range fs {
		if f.Attributes[AttrPackage] == pkg {
			out = append(out, row{f.RuleID, f.Attributes[AttrFixed]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// TestAlpineSecDB checks findings against secdb v3.10 entries read by hand
// (../shared/data/secdb/alpine/v3.10/main.yaml):
//
//	musl:    1.1.22-r3 CVE-2019-14697; 1.1.15-r4 CVE-2016-8859
//	openssl: 1.1.1d-r0 CVE-2019-1547 CVE-2019-1549 CVE-2019-1563;
//	         1.1.1b-r1 CVE-2019-1543; 1.1.1a-r0 CVE-2018-0734 CVE-2018-0735
//	busybox: 1.30.1-r2 CVE-2019-5747; 1.29.3-r10 CVE-2018-20679 CVE-2019-5747;
//	         1.27.2-r4 CVE-2017-16544 CVE-2017-15873 CVE-2017-15874
//
// The alpine:3.10.4 image ships musl 1.1.22-r3, libcrypto1.1 1.1.1d-r2 and
// busybox 1.30.1-r3, all at or past every fix: no finding. Older builds of
// the same packages must get exactly the advisories fixed after them.
func TestAlpineSecDB(t *testing.T) {
	db := sharedDB(t)
	d := inventory.Distro{ID: "alpine", VersionID: "3.10.4"}
	apk := func(name, origin, v string) *inventory.Package {
		return &inventory.Package{Name: name, SourceName: origin, Version: v, Ecosystem: inventory.Alpine, Path: "/lib/apk/db/installed@" + v}
	}
	tests := []struct {
		pkg  *inventory.Package
		want []row
	}{
		{apk("musl", "musl", "1.1.22-r3"), nil},
		{apk("libcrypto1.1", "openssl", "1.1.1d-r2"), nil},
		{apk("busybox", "busybox", "1.30.1-r3"), nil},
		{apk("musl", "musl", "1.1.22-r2"), []row{{"CVE-2019-14697", "1.1.22-r3"}}},
		{apk("musl", "musl", "1.1.15-r3"), []row{{"CVE-2016-8859", "1.1.15-r4"}, {"CVE-2019-14697", "1.1.22-r3"}}},
		{apk("libcrypto1.1", "openssl", "1.1.1c-r0"), []row{{"CVE-2019-1547", "1.1.1d-r0"}, {"CVE-2019-1549", "1.1.1d-r0"}, {"CVE-2019-1563", "1.1.1d-r0"}}},
		{apk("libssl1.1", "openssl", "1.1.1b-r0"), []row{{"CVE-2019-1543", "1.1.1b-r1"}, {"CVE-2019-1547", "1.1.1d-r0"}, {"CVE-2019-1549", "1.1.1d-r0"}, {"CVE-2019-1563", "1.1.1d-r0"}}},
		{apk("busybox", "busybox", "1.30.1-r1"), []row{{"CVE-2019-5747", "1.30.1-r2"}}},
		{apk("ssl_client", "busybox", "1.29.3-r9"), []row{{"CVE-2018-20679", "1.29.3-r10"}, {"CVE-2019-5747", "1.29.3-r10"}}},
	}
	for _, tt := range tests {
		fs, st, err := New(db).Match(context.Background(), []*inventory.Package{tt.pkg}, d, "alpine")
		if err != nil {
			t.Fatal(err)
		}
		if st.Errors != 0 || st.Packages != 1 {
			t.Errorf("%s %s: stats %+v", tt.pkg.Name, tt.pkg.Version, st)
		}
		if got := rows(fs, tt.pkg.Name); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %s:\n got %v\nwant %v", tt.pkg.Name, tt.pkg.Version, got, tt.want)
		}
		for _, f := range fs {
			if f.Location.Path != tt.pkg.Path || f.Attributes[AttrEcosystem] != "Alpine:v3.10" {
				t.Errorf("%s: location %+v ecosystem %s", f.RuleID, f.Location, f.Attributes[AttrEcosystem])
			}
		}
	}
	// Another release's data must not apply.
	fs, _, _ := New(db).Match(context.Background(), []*inventory.Package{apk("musl", "musl", "1.1.15-r3")}, inventory.Distro{ID: "alpine", VersionID: "3.11.2"}, "x")
	if len(fs) != 0 {
		t.Errorf("v3.10 advisories matched an Alpine 3.11 image: %v", rows(fs, "musl"))
	}
}

// TestDebianSourcePackages matches binary packages through their source
// package and Debian release, with Debian's own version order: the ~deb12u
// backports are fixes even though upstream numbering says otherwise.
func TestDebianSourcePackages(t *testing.T) {
	db := sharedDB(t)
	deb := func(name, src, srcVer, ver string) *inventory.Package {
		return &inventory.Package{Name: name, SourceName: src, SourceVersion: srcVer, Version: ver, Ecosystem: inventory.Debian, Path: "/var/lib/dpkg/status"}
	}
	bookworm := inventory.Distro{ID: "debian", VersionID: "12", Codename: "bookworm"}
	tests := []struct {
		pkg    *inventory.Package
		distro inventory.Distro
		want   []row
	}{
		{deb("libc6", "glibc", "2.36-9+deb12u1", "2.36-9+deb12u1"), bookworm, []row{{"CVE-2023-4911", "2.36-9+deb12u3"}}},
		{deb("libc-bin", "glibc", "2.36-9+deb12u3", "2.36-9+deb12u3"), bookworm, nil},
		{deb("libc6", "glibc", "2.36-9+deb12u14", "2.36-9+deb12u14"), bookworm, nil},
		// binNMU: the binary version has +b1, the source version decides.
		{deb("libssl3", "openssl", "3.0.11-1~deb12u1", "3.0.11-1~deb12u1+b1"), bookworm, []row{{"CVE-2023-5363", "3.0.11-1~deb12u2"}}},
		{deb("libssl3", "openssl", "3.0.11-1~deb12u2", "3.0.11-1~deb12u2"), bookworm, nil},
		// Debian 11 has no such advisory in the fixtures.
		{deb("libc6", "glibc", "2.31-13", "2.31-13"), inventory.Distro{ID: "debian", VersionID: "11"}, nil},
	}
	for _, tt := range tests {
		fs, st, err := New(db).Match(context.Background(), []*inventory.Package{tt.pkg}, tt.distro, "debian")
		if err != nil || st.Errors > 0 {
			t.Fatalf("%v %v", err, st.ErrorSample)
		}
		if got := rows(fs, tt.pkg.Name); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %s: got %v, want %v", tt.pkg.Name, tt.pkg.Version, got, tt.want)
		}
		for _, f := range fs {
			if f.RuleID == "CVE-2023-4911" && (f.Severity != finding.High || !strings.Contains(f.Attributes[AttrIDs], "DSA-5514-1")) {
				t.Errorf("CVE-2023-4911: severity %s ids %s", f.Severity, f.Attributes[AttrIDs])
			}
		}
	}
}
