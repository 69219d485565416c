// Package rpmfiles registers the analyzer that reads the file lists in the
// RPM database (Berkeley DB, NDB or SQLite, through go-rpmdb), marking the
// files each rpm package installed, as dpkgfiles and apkfiles do for their
// package managers.
package rpmfiles

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	rpmdb "github.com/erikvarga/go-rpmdb/pkg"
	_ "modernc.org/sqlite" // the SQLite driver go-rpmdb uses for rpmdb.sqlite

	"github.com/picket-cdr/picket/internal/analyzer"
)

// Name of the analyzer.
const Name = "rpmfiles"

const maxSize = 1 << 30

var (
	dirs  = map[string]bool{"/usr/lib/sysimage/rpm": true, "/var/lib/rpm": true, "/usr/share/rpm": true}
	files = map[string]bool{"Packages": true, "Packages.db": true, "rpmdb.sqlite": true}
)

func init() { analyzer.Register(rpmFiles{}) }

type rpmFiles struct{}

func (rpmFiles) Name() string { return Name }
func (rpmFiles) Version() int { return 1 }

func (rpmFiles) Required(p string, info fs.FileInfo) bool {
	return dirs[path.Dir(p)] && files[path.Base(p)] && info.Size() <= maxSize
}

// Analyze copies the database to a temporary file (the Berkeley DB, NDB and
// SQLite readers need a path) and lists every package's installed files.
func (rpmFiles) Analyze(ctx context.Context, in *analyzer.Input) (*analyzer.Result, error) {
	dir, err := os.MkdirTemp("", "picket-rpmdb-")
	if err != nil {
		return nil, fmt.Errorf("rpmfiles: %w", err)
	}
	defer os.RemoveAll(dir)
	tmp := path.Join(dir, path.Base(in.Path))
	f, err := os.Create(tmp)
	if err != nil {
		return nil, fmt.Errorf("rpmfiles: %w", err)
	}
	_, err = io.Copy(f, io.LimitReader(in.Content, maxSize))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("rpmfiles: %w", err)
	}
	db, err := rpmdb.Open(tmp)
	if err != nil {
		return nil, fmt.Errorf("rpmfiles: %s: %w", in.Path, err)
	}
	defer db.Close()
	pkgs, err := db.ListPackagesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("rpmfiles: %s: %w", in.Path, err)
	}
	res := &analyzer.Result{}
	for _, p := range pkgs {
		names, err := p.InstalledFileNames()
		if err != nil || len(names) == 0 {
			continue // packages without files (gpg-pubkey) or a damaged header
		}
		res.Owned = append(res.Owned, analyzer.Ownership{Owner: "rpm:" + p.Name, Paths: names})
	}
	return res, nil
}
