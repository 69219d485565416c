package secret

import (
	"bytes"
	"path"
	"regexp"
	"strings"
)

// skipDirs hold files that never carry an image's secrets: documentation,
// locales, fonts, icons, time zones, package manager state and caches
// (prefix match on the absolute path).
var skipDirs = []string{
	"/proc/", "/sys/", "/dev/",
	"/usr/share/doc/", "/usr/share/man/", "/usr/share/info/", "/usr/share/locale/",
	"/usr/share/i18n/", "/usr/share/zoneinfo/", "/usr/share/icons/", "/usr/share/fonts/",
	"/usr/share/mime/", "/usr/share/terminfo/", "/usr/share/common-licenses/",
	"/usr/share/X11/locale/", "/usr/share/keyrings/", "/usr/share/ca-certificates/",
	"/usr/share/gtk-doc/", "/usr/share/help/", "/usr/share/lintian/", "/usr/share/bug/",
	"/usr/share/zsh/", "/usr/share/bash-completion/", "/usr/share/pixmaps/",
	"/usr/lib/locale/", "/usr/include/", "/lib/terminfo/", "/usr/lib/terminfo/",
	"/var/lib/dpkg/info/", "/var/lib/apt/lists/", "/var/cache/apt/",
	"/var/cache/man/", "/var/cache/ldconfig/", "/var/cache/fontconfig/",
	"/lib/apk/db/", "/var/lib/rpm/", "/usr/lib/sysimage/rpm/",
}

// skipExts are extensions of binary, media, archive and compiled files.
var skipExts = wordSet(`
		.so .a .o .ko .lo .la .pyc .pyo .pyd .class .jar .war .ear .jmod .jsa .beam .wasm .dll .exe .node .dylib .lib .obj
		.zip .gz .tgz .bz2 .tbz2 .xz .txz .zst .lz4 .lzma .lz .7z .rar .tar .deb .udeb .rpm .apk .whl .egg .gem .cab .iso .img .qcow2 .vmdk
		.png .jpg .jpeg .gif .bmp .ico .icns .tif .tiff .webp .svg .svgz .xpm .xbm .pcx .psd
		.ttf .otf .ttc .woff .woff2 .eot .pfb .pfm .afm .pcf .bdf
		.mp3 .mp4 .m4a .ogg .oga .opus .wav .flac .avi .mov .mkv .webm .mpg .mpeg
		.pdf .mo .gmo .qm .db .sqlite .sqlite3 .gpg .kbx .pack .idx .map .hprof .pcap
		.md5sums .sha1sums .sha256sums .symbols .shlibs .triggers
	`)

// textExts are extensions of text files worth a partial scan when they are
// above the size limit (logs, dumps, data and configuration).
var textExts = wordSet(`
		.txt .log .sql .csv .tsv .json .jsonl .ndjson .yaml .yml .xml .toml .ini .conf .cfg .cnf .env .properties .config
		.js .mjs .cjs .ts .py .rb .php .go .java .kt .scala .cs .sh .bash .ps1 .pem .key .crt .dump .bak .har .ipynb
	`)

// ext returns the file's lower-case extension, treating "libfoo.so.1.2" as
// ".so".
func ext(p string) string {
	base := path.Base(p)
	if i := strings.Index(base, ".so."); i > 0 {
		return ".so"
	}
	e := path.Ext(base)
	if e == base { // ".env", ".npmrc": a dot file, no extension
		return ""
	}
	return strings.ToLower(e)
}

func skippedDir(p string) bool {
	for _, d := range skipDirs {
		if strings.HasPrefix(p, d) {
			return true
		}
	}
	return false
}

// testPath reports whether p is in a test or fixture tree, or is a test
// source file: package test data are full of sample keys.
func testPath(p string) bool {
	for _, seg := range []string{"/test/", "/tests/", "/testdata/", "/test_data/", "/testing/", "/__tests__/", "/spec/", "/fixtures/", "/fixture/", "/__fixtures__/", "/__snapshots__/", "/mocks/", "/__mocks__/"} {
		if strings.Contains(p, seg) {
			return true
		}
	}
	base := path.Base(p)
	switch {
	case strings.HasSuffix(base, "_test.go"),
		strings.HasPrefix(base, "test_") && strings.HasSuffix(base, ".py"),
		strings.HasSuffix(base, "_test.py"),
		strings.HasSuffix(base, "_spec.rb"), strings.HasSuffix(base, "_test.rb"),
		strings.Contains(base, ".test.") || strings.Contains(base, ".spec."),
		strings.Contains(base, "testdata") || strings.Contains(base, "test_data") || strings.Contains(base, "fixture"):
		return true
	}
	return false
}

// weakWords are values that are placeholders in generic assignments
// ("password = changeme" in a sample config) but real, weak passwords in
// files that only hold live values; rules with ReportWeak keep them.
var weakWords = wordSet(`
		password passwd pass pwd secret token key apikey api_key changeme change_me changeit
		none null nil undefined true false yes no on off empty default required optional
		test testing sample string value foo bar foobar admin root user username
		mypassword yourpassword mysecret yoursecret secretkey my_secret your_secret
	`)

// templateMarks inside a secret make it a template or a masked value,
// whatever the rule.
var templateMarks = []string{
	"xxxxxxxx", "****", "....", "${", "{{", "}}", "<%", "%>", "$(", "%(", "#{", "[[",
}

// wordMarks inside a short secret (documentation values are short; a long
// random token may contain any four letters) make it a placeholder.
var wordMarks = []string{
	"xxxx", "____", "----", "example", "placeholder", "redacted", "dummy", "sample", "your_", "your-", "yourkey", "<your",
	"insert", "replace", "changeme", "change_me", "fake", "not-a-real", "notreal", "todo", "fixme",
}

// maxWordMarkLen is the longest secret checked for wordMarks.
const maxWordMarkLen = 64

// isPlaceholder reports whether a secret is a template, variable or
// documentation value rather than a credential.
func isPlaceholder(secret []byte, reportWeak bool) bool {
	s := bytes.TrimSpace(secret)
	if len(s) == 0 {
		return true
	}
	low := strings.ToLower(string(s))
	if weakWords[low] {
		return !reportWeak
	}
	for _, m := range templateMarks {
		if strings.Contains(low, m) {
			return true
		}
	}
	if len(low) <= maxWordMarkLen {
		for _, m := range wordMarks {
			if strings.Contains(low, m) {
				if reportWeak && (m == "changeme" || m == "change_me") {
					continue
				}
				return true
			}
		}
	}
	switch {
	case low[0] == '$' && isIdent(low[1:]), // $PASSWORD
		low[0] == '%' && low[len(low)-1] == '%' && len(low) > 2,                      // %PASSWORD%
		low[0] == '@' && low[len(low)-1] == '@' && len(low) > 2,                      // @PASSWORD@
		low[0] == '<' && low[len(low)-1] == '>',                                      // <password>
		low[0] == '[' && low[len(low)-1] == ']',                                      // [password]
		low[0] == '{' && low[len(low)-1] == '}' && !strings.ContainsAny(low, ":\"'"), // {password}
		printfVerb.MatchString(low),                                                  // %s, %[1]s, %v
		sameByte(s) && len(s) >= 3,
		sequential(low):
		return true
	}
	return false
}

var printfVerb = regexp.MustCompile(`^%[-+# 0-9.*\[\]]*[a-z]$`)

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '{' && s[len(s)-1] == '}' {
		s = s[1 : len(s)-1]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

func sameByte(s []byte) bool {
	for _, c := range s[1:] {
		if c != s[0] {
			return false
		}
	}
	return true
}

// sequential reports runs such as "0123456789" or "abcdefgh" that make up
// most of the value.
func sequential(low string) bool {
	for _, run := range []string{"0123456789", "123456789", "abcdefghij", "abcdefghijklmnop"} {
		if strings.Contains(low, run) && len(run)*2 >= len(low) {
			return true
		}
	}
	return strings.Contains(low, "abcdefghijklmnopqrstuvwxyz") || strings.Contains(low, "1234567890abcdef")
}

// wordSet is the set of the whitespace-separated words of s.
func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}
