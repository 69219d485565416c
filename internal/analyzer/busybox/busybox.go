// Package busybox registers the analyzer that identifies BusyBox binaries
// by the version banner compiled into them ("BusyBox v1.36.1"). Static
// busybox images (FROM scratch, distroless) have no package database, so
// the binary itself is the only record of what runs there.
package busybox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"

	"github.com/package-url/packageurl-go"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/inventory"
)

// Name of the analyzer.
const Name = "busybox"

// maxSize bounds the binary read: busybox is 1-3 MiB.
const maxSize = 16 << 20

var banner = regexp.MustCompile(`BusyBox v(\d+\.\d+(?:\.\d+)?)(?:[.\-][0-9A-Za-z.]+)?[ \x00]`)

func init() { analyzer.Register(busyBox{}) }

type busyBox struct{}

func (busyBox) Name() string { return Name }
func (busyBox) Version() int { return 1 }

// minAppletSize tells a busybox binary from coreutils' small "[" (~50 KiB).
const minAppletSize = 256 << 10

// Required wants executables named busybox and large "[" binaries in bin
// directories: busybox images hardlink every applet to one inode, and tar
// stores its content under the first name in path order, which is "[".
func (busyBox) Required(p string, info fs.FileInfo) bool {
	if !info.Mode().IsRegular() || info.Mode()&0o111 == 0 || info.Size() > maxSize {
		return false
	}
	switch path.Base(p) {
	case "busybox":
		return true
	case "[":
		return path.Base(path.Dir(p)) == "bin" && info.Size() >= minAppletSize
	}
	return false
}

func (busyBox) Analyze(_ context.Context, in *analyzer.Input) (*analyzer.Result, error) {
	b, err := io.ReadAll(io.LimitReader(in.Content, maxSize))
	if err != nil {
		return nil, fmt.Errorf("busybox: %s: %w", in.Path, err)
	}
	if !bytes.HasPrefix(b, []byte("\x7fELF")) {
		return &analyzer.Result{}, nil
	}
	m := banner.FindSubmatch(b)
	if m == nil {
		return &analyzer.Result{}, nil
	}
	v := string(m[1])
	return &analyzer.Result{Packages: []*inventory.Package{{
		Name:      "busybox",
		Version:   v,
		Ecosystem: inventory.Binary,
		PURL:      packageurl.NewPackageURL(packageurl.TypeGeneric, "", "busybox", v, nil, "").ToString(),
		Path:      in.Path,
		Analyzer:  Name,
	}}}, nil
}
