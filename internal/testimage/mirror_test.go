package testimage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMirrorFromAptDeb822(t *testing.T) {
	apt := t.TempDir()
	// Security first, a disabled stanza and a deb-src stanza before the
	// real one, as on Debian's images; a .disabled file must be ignored.
	writeFile(t, filepath.Join(apt, "sources.list.d", "debian.sources"), `# comment
Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main

Types: deb
Enabled: no
URIs: http://disabled.example/debian
Suites: bookworm

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm

Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian/
Suites: bookworm
 bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`)
	writeFile(t, filepath.Join(apt, "sources.list.d", "other.sources.disabled-by-farm"),
		"Types: deb\nURIs: http://wrong.example/debian\nSuites: bookworm\n")
	got, err := mirrorFromApt(apt, "bookworm")
	if err != nil {
		t.Fatal(err)
	}
	if want := "http://mirror.example/debian"; got != want {
		t.Errorf("mirror = %q, want %q", got, want)
	}
	// The continuation line made bookworm-updates a suite of the same source.
	if got, err := mirrorFromApt(apt, "bookworm-updates"); err != nil || got != "http://mirror.example/debian" {
		t.Errorf("bookworm-updates: mirror = %q, %v", got, err)
	}
}

func TestMirrorFromAptOneLine(t *testing.T) {
	apt := t.TempDir()
	writeFile(t, filepath.Join(apt, "sources.list"), `
# deb http://commented.example/debian bookworm main
deb-src http://src.example/debian bookworm main
deb [ arch=amd64 signed-by=/usr/share/keyrings/x.gpg ] http://security.example/debian-security bookworm-security main
deb [arch=amd64] http://one.example/debian bookworm main contrib # trailing comment
`)
	got, err := mirrorFromApt(apt, "bookworm")
	if err != nil {
		t.Fatal(err)
	}
	if want := "http://one.example/debian"; got != want {
		t.Errorf("mirror = %q, want %q", got, want)
	}
}

func TestMirrorFromAptNone(t *testing.T) {
	apt := t.TempDir()
	writeFile(t, filepath.Join(apt, "sources.list.d", "x.list"), "deb http://a.example/debian trixie main\n")
	_, err := mirrorFromApt(apt, "bookworm")
	if err == nil || !strings.Contains(err.Error(), MirrorEnv) || !strings.Contains(err.Error(), "http://a.example/debian") {
		t.Fatalf("err = %v, want one naming %s and the sources seen", err, MirrorEnv)
	}
}

func TestMirrorFromAptMalformed(t *testing.T) {
	apt := t.TempDir()
	writeFile(t, filepath.Join(apt, "sources.list.d", "bad.sources"), "Types deb\n")
	if _, err := mirrorFromApt(apt, "bookworm"); err == nil || !strings.Contains(err.Error(), "bad.sources") {
		t.Fatalf("err = %v, want a parse error naming the file", err)
	}
}

func TestDebianMirrorEnv(t *testing.T) {
	t.Setenv(MirrorEnv, " http://override.example/debian ")
	got, err := DebianMirror("bookworm")
	if err != nil || got != "http://override.example/debian" {
		t.Fatalf("DebianMirror = %q, %v", got, err)
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/var/tmp/a\040b/proc`: "/var/tmp/a b/proc",
		`/plain`:               "/plain",
		`/x\01`:                `/x\01`,
		`/tab\011x\134`:        "/tab\tx\\",
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}
