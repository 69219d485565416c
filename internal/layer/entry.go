// Package layer reads image layers as tar streams — never extracting them to
// disk — and turns each into a Table of entries, whiteouts and opaque
// directories. Merge applies the tables in order to give the final
// filesystem of an image with, for every file, the layer that last wrote it.
//
// Tar entries come from attackers: names are cleaned into the image root,
// entries whose names or link targets climb out with ".." are skipped and
// counted, and sizes and entry counts are bounded.
package layer

import (
	"io/fs"
	"path"
	"strings"
)

// Type is the kind of a filesystem entry.
type Type uint8

// Entry types.
const (
	TypeReg Type = iota + 1
	TypeDir
	TypeSymlink
	TypeHardlink
	TypeChar
	TypeBlock
	TypeFIFO
)

func (t Type) String() string {
	switch t {
	case TypeReg:
		return "file"
	case TypeDir:
		return "dir"
	case TypeSymlink:
		return "symlink"
	case TypeHardlink:
		return "hardlink"
	case TypeChar:
		return "char"
	case TypeBlock:
		return "block"
	case TypeFIFO:
		return "fifo"
	}
	return "unknown"
}

// Entry is one file, directory or link in a layer. Paths are absolute,
// cleaned and inside the image root ("/etc/passwd").
type Entry struct {
	Path string
	// Link is a symlink's target as written in the tar (relative or
	// absolute) or a hardlink's cleaned absolute target path.
	Link string
	Size int64
	Mode fs.FileMode // permission bits plus fs.ModeSetuid/Setgid/Sticky
	UID  uint32
	GID  uint32
	Type Type
}

// FileMode returns the entry's mode including its type bits.
func (e *Entry) FileMode() fs.FileMode {
	m := e.Mode
	switch e.Type {
	case TypeDir:
		m |= fs.ModeDir
	case TypeSymlink:
		m |= fs.ModeSymlink
	case TypeChar:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case TypeBlock:
		m |= fs.ModeDevice
	case TypeFIFO:
		m |= fs.ModeNamedPipe
	}
	return m
}

// Whiteout markers (OCI image spec, "Representing Changes").
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// CleanName turns a tar entry name into an absolute path inside the root.
// It reports ok=false for names that try to climb out of the root with ".."
// (after cleaning, such a name would alias another path: hostile input) and
// for empty names. Leading "/" and "./" are accepted, as Docker does.
func CleanName(name string) (string, bool) {
	if name == "" || strings.ContainsRune(name, 0) {
		return "", false
	}
	if hasDotDot(name) {
		return "", false
	}
	if isClean(name) {
		return "/" + name, true
	}
	return path.Clean("/" + name), true
}

// parent returns the parent directory of an absolute clean path.
func parent(p string) string { return path.Dir(p) }

// ancestors calls fn for every proper ancestor of p, nearest first,
// excluding "/". It stops when fn returns false.
func ancestors(p string, fn func(string) bool) {
	for d := parent(p); d != "/" && d != "."; d = parent(d) {
		if !fn(d) {
			return
		}
	}
}

// hasDotDot reports whether a slash-separated name has a ".." component.
func hasDotDot(name string) bool {
	for i := 0; ; {
		j := strings.IndexByte(name[i:], '/')
		end := len(name)
		if j >= 0 {
			end = i + j
		}
		if name[i:end] == ".." {
			return true
		}
		if j < 0 {
			return false
		}
		i = end + 1
	}
}

// isClean reports whether "/"+name is already clean: the common case of a
// relative name without "//", "." components or a trailing slash.
func isClean(name string) bool {
	if name == "" || name[0] == '/' || name[len(name)-1] == '/' {
		return false
	}
	if name == "." || strings.HasPrefix(name, "./") || strings.Contains(name, "//") ||
		strings.Contains(name, "/./") || strings.HasSuffix(name, "/.") {
		return false
	}
	return true
}
