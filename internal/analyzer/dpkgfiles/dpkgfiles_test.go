package dpkgfiles_test

import (
	"reflect"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
	"github.com/picket-cdr/picket/internal/analyzer/dpkgfiles"
)

func get(t testing.TB) analyzer.Analyzer {
	t.Helper()
	as, _, err := analyzer.Select([]string{dpkgfiles.Name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return as[0]
}

func TestList(t *testing.T) {
	list := "/.\n/usr\n/usr/lib/python3/dist-packages/requests\n/usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO\n\nrelative\n"
	res := analyzertest.Run(t, get(t), "/var/lib/dpkg/info/python3-requests.list", []byte(list))
	want := []analyzer.Ownership{{Owner: "deb:python3-requests", Paths: []string{
		"/usr", "/usr/lib/python3/dist-packages/requests", "/usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO",
	}}}
	if !reflect.DeepEqual(res.Owned, want) {
		t.Errorf("got %+v", res.Owned)
	}
	res = analyzertest.Run(t, get(t), "/var/lib/dpkg/info/libc6:amd64.list", []byte("/lib/x86_64-linux-gnu/libc.so.6\n"))
	if res.Owned[0].Owner != "deb:libc6" {
		t.Errorf("multiarch owner %q", res.Owned[0].Owner)
	}
	if get(t).Required("/var/lib/dpkg/info/sub/x.list", analyzertest.Info{Length: 1}) {
		t.Error("nested path required")
	}
}

func FuzzList(f *testing.F) {
	analyzertest.Fuzz(f, get(f), "/var/lib/dpkg/info/x.list", []byte("/usr/bin/x\n/etc\n"))
}
