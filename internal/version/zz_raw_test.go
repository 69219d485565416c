package version

import (
	"fmt"
	"testing"

	pep440 "github.com/aquasecurity/go-pep440-version"
	apkversion "github.com/knqyf263/go-apk-version"
	debversion "github.com/knqyf263/go-deb-version"
	rpmversion "github.com/knqyf263/go-rpm-version"
	mvn "github.com/masahiro331/go-mvn-version"
	"github.com/Masterminds/semver/v3"
	"github.com/google/osv-scalibr/semantic"
)

func rawCmp(lib, a, b string) (r int, ok bool) {
	switch lib {
	case "deb":
		x, e1 := debversion.NewVersion(a)
		y, e2 := debversion.NewVersion(b)
		if e1 != nil || e2 != nil {
			return 0, false
		}
		return sign(x.Compare(y)), true
	case "apk":
		if !apkversion.Valid(a) || !apkversion.Valid(b) {
			return 0, false
		}
		return apkversion.Version(a).Compare(apkversion.Version(b)), true
	case "rpm":
		return rpmversion.NewVersion(a).Compare(rpmversion.NewVersion(b)), true
	case "pep440":
		x, e1 := pep440.Parse(a)
		y, e2 := pep440.Parse(b)
		if e1 != nil || e2 != nil {
			return 0, false
		}
		return x.Compare(y), true
	case "mvn":
		x, _ := mvn.NewVersion(a)
		y, _ := mvn.NewVersion(b)
		return x.Compare(y), true
	case "semver":
		x, e1 := semver.StrictNewVersion(a)
		y, e2 := semver.StrictNewVersion(b)
		if e1 != nil || e2 != nil {
			return 0, false
		}
		return x.Compare(y), true
	case "nuget":
		r, _ := semantic.ParseNuGetVersion(a).CompareStr(b)
		return r, true
	case "packagist":
		r, _ := semantic.ParsePackagistVersion(a).CompareStr(b)
		return r, true
	}
	panic(lib)
}

func fuzzRaw(f *testing.F, lib, seedEco string) {
	for _, ch := range cases[seedEco].chains {
		for i := range ch {
			f.Add(ch[i], ch[(i+1)%len(ch)])
		}
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var ab, ba, aa int
		var ok bool
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("%s panics on %q %q: %v", lib, a, b, p)
				}
			}()
			ab, ok = rawCmp(lib, a, b)
			ba, _ = rawCmp(lib, b, a)
			aa, _ = rawCmp(lib, a, a)
		}()
		if !ok {
			return
		}
		if aa != 0 || ab != -ba {
			t.Fatal(fmt.Sprintf("%s: %q %q: ab %d ba %d aa %d", lib, a, b, ab, ba, aa))
		}
	})
}

func FuzzRawDeb(f *testing.F)       { fuzzRaw(f, "deb", "Debian") }
func FuzzRawApk(f *testing.F)       { fuzzRaw(f, "apk", "Alpine") }
func FuzzRawRpm(f *testing.F)       { fuzzRaw(f, "rpm", "Red Hat") }
func FuzzRawPep440(f *testing.F)    { fuzzRaw(f, "pep440", "PyPI") }
func FuzzRawMvn(f *testing.F)       { fuzzRaw(f, "mvn", "Maven") }
func FuzzRawSemver(f *testing.F)    { fuzzRaw(f, "semver", "SEMVER") }
func FuzzRawNuget(f *testing.F)     { fuzzRaw(f, "nuget", "NuGet") }
func FuzzRawPackagist(f *testing.F) { fuzzRaw(f, "packagist", "Packagist") }
