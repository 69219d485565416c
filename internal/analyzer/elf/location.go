package elf

import (
	"path"
	"strings"

	"github.com/picket-cdr/picket/internal/finding"
)

// trustedHidden are hidden directories where toolchains and package
// managers legitimately keep executables and shared objects (rustup, pyenv,
// virtualenvs, node package managers, Terraform providers, Homebrew, debug
// symbols, ...). Binaries below them are not reported for their location.
var trustedHidden = map[string]bool{
	".android": true, ".arduino15": true, ".asdf": true, ".build-id": true, ".bun": true,
	".bundle": true, ".cabal": true, ".cache": true, ".cargo": true, ".conda": true,
	".config": true, ".coursier": true, ".cpan": true, ".cpanm": true, ".dart_tool": true,
	".deno": true, ".docker": true, ".dotnet": true, ".elan": true, ".espressif": true,
	".gem": true, ".ghcup": true, ".git": true, ".goenv": true, ".gradle": true,
	".hex": true, ".ivy2": true, ".jbang": true, ".jenv": true, ".julia": true,
	".krew": true, ".lein": true, ".libs": true, ".linuxbrew": true, ".local": true,
	".m2": true, ".mamba": true, ".mix": true, ".mozilla": true, ".nix-profile": true,
	".node-gyp": true, ".nox": true, ".npm": true, ".nuget": true, ".nvm": true,
	".opam": true, ".platformio": true, ".plenv": true, ".pnpm": true, ".pnpm-store": true,
	".pub-cache": true, ".pulumi": true, ".pyenv": true, ".rbenv": true, ".rustup": true,
	".sbt": true, ".sdkman": true, ".stack": true, ".swiftpm": true, ".terraform": true,
	".terraform.d": true, ".tfenv": true, ".tflint.d": true, ".tox": true, ".venv": true,
	".volta": true, ".vscode": true, ".vscode-server": true, ".wasmer": true, ".wasmtime": true,
	".yarn": true, ".bin": true,
}

// place is why a path is an unusual home for a binary.
type place struct {
	reason string
	sev    finding.Severity
	tags   []string
}

// tmpDirs are world-writable scratch directories; shmDirs are tmpfs
// directories that exist only at run time.
var (
	shmDirs = []string{"/dev/shm/", "/run/shm/"}
	tmpDirs = []string{"/tmp/", "/var/tmp/", "/usr/tmp/"}
)

// oddPlace reports whether an executable at p sits where packaged software
// does not put executables: tmpfs and temporary directories, and hidden
// directories or names outside trustedHidden.
func oddPlace(p string) (place, bool) {
	for _, d := range shmDirs {
		if strings.HasPrefix(p, d) {
			return place{reason: "in shared memory " + strings.TrimSuffix(d, "/"), sev: finding.High,
				tags: []string{"T1036.005"}}, true
		}
	}
	for _, d := range tmpDirs {
		if rest, ok := strings.CutPrefix(p, d); ok {
			if hiddenIn(rest) != "" {
				return place{reason: "in a hidden directory under " + strings.TrimSuffix(d, "/"), sev: finding.High,
					tags: []string{"T1564.001", "T1036.005"}}, true
			}
			return place{reason: "in the temporary directory " + strings.TrimSuffix(d, "/"), sev: finding.Medium,
				tags: []string{"T1036.005"}}, true
		}
	}
	if h := hiddenIn(p); h != "" {
		if strings.Trim(h, ". ") == "" {
			return place{reason: "under a name made of dots and spaces (" + quoteName(h) + ")", sev: finding.High,
				tags: []string{"T1564.001"}}, true
		}
		return place{reason: "under the hidden name " + quoteName(h), sev: finding.Medium,
			tags: []string{"T1564.001"}}, true
	}
	return place{}, false
}

// hiddenIn returns the first hidden component of p, or "" when there is
// none or a trusted hidden directory comes first.
func hiddenIn(p string) string {
	for p != "" {
		var c string
		c, p, _ = strings.Cut(p, "/")
		if c == "" || c == "." || c == ".." || c[0] != '.' {
			if c != "" && strings.Trim(c, " ") == "" {
				return c // a name made of spaces
			}
			continue
		}
		if p != "" && trustedHidden[c] {
			return ""
		}
		return c
	}
	return ""
}

func quoteName(s string) string { return "\"" + s + "\"" }

// isLibName reports whether name looks like a shared object (libx.so,
// libx.so.1.2): rootkits loaded with LD_PRELOAD are often not executable.
func isLibName(name string) bool {
	return strings.HasSuffix(name, ".so") || strings.Contains(name, ".so.")
}

// systemLib reports whether a shared object is the C library or the dynamic
// loader, which define every libc symbol and mention /etc/ld.so.preload by
// design.
func systemLib(p, soname string) bool {
	for _, n := range []string{path.Base(p), soname} {
		for _, pre := range []string{"libc.so", "libc-", "ld-linux", "ld64.so", "ld-musl", "libc.musl", "ld.so", "libpthread.so", "libdl.so"} {
			if strings.HasPrefix(n, pre) {
				return true
			}
		}
	}
	return false
}
