// Package apkfiles registers the analyzer that reads the file lists in
// Alpine's package database (/lib/apk/db/installed: "P:" package, "F:"
// directory, "R:" file), marking the files each apk package installed.
package apkfiles

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"path"

	"github.com/picket-cdr/picket/internal/analyzer"
)

// Name of the analyzer.
const Name = "apkfiles"

const (
	dbPath  = "/lib/apk/db/installed"
	maxSize = 256 << 20
)

func init() { analyzer.Register(apkFiles{}) }

type apkFiles struct{}

func (apkFiles) Name() string { return Name }
func (apkFiles) Version() int { return 1 }

func (apkFiles) Required(p string, info fs.FileInfo) bool {
	return p == dbPath && info.Size() <= maxSize
}

func (apkFiles) Analyze(_ context.Context, in *analyzer.Input) (*analyzer.Result, error) {
	res := &analyzer.Result{}
	var cur *analyzer.Ownership
	dir := "/"
	flush := func() {
		if cur != nil && len(cur.Paths) > 0 {
			res.Owned = append(res.Owned, *cur)
		}
		cur, dir = nil, "/"
	}
	sc := bufio.NewScanner(in.Content)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			flush()
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			continue
		}
		val := line[2:]
		switch line[0] {
		case 'P':
			flush()
			cur = &analyzer.Ownership{Owner: "apk:" + val}
		case 'F':
			dir = path.Clean("/" + val)
		case 'R':
			if cur != nil && val != "" {
				cur.Paths = append(cur.Paths, path.Join(dir, val))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("apkfiles: %s: %w", in.Path, err)
	}
	flush()
	return res, nil
}
