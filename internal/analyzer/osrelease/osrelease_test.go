package osrelease

import (
	"reflect"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
)

func TestParse(t *testing.T) {
	in := `# comment
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME='Debian GNU/Linux'
VERSION_ID="12"
ID=debian
HOME_URL="https://www.debian.org/"
BROKEN
=novalue
ESCAPED="a \"quoted\" word"
`
	want := map[string]string{
		"PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)", "NAME": "Debian GNU/Linux", "VERSION_ID": "12",
		"ID": "debian", "HOME_URL": "https://www.debian.org/", "ESCAPED": `a "quoted" word`,
	}
	if got := Parse(in); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v", got)
	}
}

func TestAnalyze(t *testing.T) {
	res := analyzertest.Run(t, osRelease{}, "/etc/alpine-release", []byte("3.10.9\n"))
	if res.Facts["/etc/alpine-release:"+ContentKey] != "3.10.9" {
		t.Errorf("facts %v", res.Facts)
	}
	res = analyzertest.Run(t, osRelease{}, "/usr/lib/os-release", []byte("ID=alpine\nVERSION_ID=3.20.3\n"))
	if res.Facts["/usr/lib/os-release:VERSION_ID"] != "3.20.3" {
		t.Errorf("facts %v", res.Facts)
	}
}

func FuzzAnalyze(f *testing.F) {
	analyzertest.Fuzz(f, osRelease{}, "/etc/os-release", []byte("ID=x\nVERSION_ID=\"1\"\n"))
}
