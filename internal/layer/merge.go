package layer

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
)

// ErrSymlinkLoop is returned when resolving a path meets too many symlinks.
var ErrSymlinkLoop = errors.New("layer: too many levels of symbolic links")

// maxSymlinkHops bounds path resolution, as Linux's MAXSYMLINKS does.
const maxSymlinkHops = 40

// FS is the final filesystem of an image: the merge of its layers' tables
// with whiteouts and opaque directories applied. It holds no file contents.
type FS struct {
	tables []*Table
	index  map[string]uint64 // path -> layer<<40 | entry index
}

func pack(layer, idx int) uint64    { return uint64(layer)<<40 | uint64(idx) }
func unpack(v uint64) (int, int)    { return int(v >> 40), int(v & (1<<40 - 1)) }
func (f *FS) entry(v uint64) *Entry { l, i := unpack(v); return &f.tables[l].Entries[i] }

// Merge applies the layer tables in order (index 0 is the base layer). It
// works top-down so that each entry is checked once against what the layers
// above it wrote, deleted or made opaque: O(entries × depth).
func Merge(tables []*Table) *FS {
	n := 0
	for _, t := range tables {
		n += len(t.Entries)
	}
	f := &FS{tables: tables, index: make(map[string]uint64, n)}
	deleted := map[string]struct{}{} // whiteouts from higher layers
	opaque := map[string]struct{}{}  // opaque dirs from higher layers
	for li := len(tables) - 1; li >= 0; li-- {
		t := tables[li]
		// Within a layer the last duplicate wins: walk entries backwards.
		for ei := len(t.Entries) - 1; ei >= 0; ei-- {
			e := &t.Entries[ei]
			if _, seen := f.index[e.Path]; seen {
				continue // overwritten by a higher layer or a later duplicate
			}
			if f.hidden(e.Path, deleted, opaque) {
				continue
			}
			f.index[e.Path] = pack(li, ei)
		}
		// This layer's whiteouts hide only what lies below it.
		for _, w := range t.Whiteouts {
			deleted[w] = struct{}{}
		}
		for _, o := range t.Opaques {
			opaque[o] = struct{}{}
		}
	}
	return f
}

// hidden reports whether a lower-layer entry at p is masked by higher layers.
func (f *FS) hidden(p string, deleted, opaque map[string]struct{}) bool {
	if _, ok := deleted[p]; ok {
		return true
	}
	hide := false
	ancestors(p, func(d string) bool {
		if _, ok := deleted[d]; ok {
			hide = true
			return false
		}
		if _, ok := opaque[d]; ok {
			hide = true
			return false
		}
		// A higher layer replaced an ancestor directory with a non-directory.
		if v, ok := f.index[d]; ok && f.entry(v).Type != TypeDir {
			hide = true
			return false
		}
		return true
	})
	return hide
}

// Len returns the number of entries in the final filesystem.
func (f *FS) Len() int { return len(f.index) }

// Layers returns the number of layers merged.
func (f *FS) Layers() int { return len(f.tables) }

// Lookup returns the entry at the exact path p (symlinks not followed) and
// the index of the layer that last wrote it.
func (f *FS) Lookup(p string) (*Entry, int, bool) {
	v, ok := f.index[path.Clean("/"+p)]
	if !ok {
		return nil, 0, false
	}
	l, _ := unpack(v)
	return f.entry(v), l, true
}

// Visible reports whether the entry that layer wrote at p survives in the
// final filesystem.
func (f *FS) Visible(p string, layer int) bool {
	v, ok := f.index[p]
	if !ok {
		return false
	}
	l, _ := unpack(v)
	return l == layer
}

// Resolve follows symlinks in every component of p, as the kernel would
// with the image root as "/": absolute targets restart at the image root and
// ".." never climbs above it. Missing components are left as they are (the
// result may not exist). It fails only on symlink loops.
func (f *FS) Resolve(p string) (string, error) {
	hops := 0
	return f.resolve(path.Clean("/"+p), &hops, true)
}

func (f *FS) resolve(p string, hops *int, followLast bool) (string, error) {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := "/"
	for i, part := range parts {
		if part == "" || part == "." {
			continue
		}
		if part == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, part)
		last := i == len(parts)-1
		e, _, ok := f.Lookup(next)
		if !ok || e.Type != TypeSymlink || (last && !followLast) {
			cur = next
			continue
		}
		*hops++
		if *hops > maxSymlinkHops {
			return "", fmt.Errorf("%w: %s", ErrSymlinkLoop, p)
		}
		target := e.Link
		if !strings.HasPrefix(target, "/") {
			target = path.Join(cur, target) // relative to the link's directory
		}
		// path.Clean on an absolute path never climbs above "/".
		resolved, err := f.resolve(path.Clean("/"+target), hops, true)
		if err != nil {
			return "", err
		}
		cur = resolved
	}
	return cur, nil
}

// Stat resolves p and returns the entry it leads to.
func (f *FS) Stat(p string) (*Entry, int, error) {
	r, err := f.Resolve(p)
	if err != nil {
		return nil, 0, err
	}
	e, l, ok := f.Lookup(r)
	if !ok {
		return nil, 0, fmt.Errorf("layer: %s: file does not exist", p)
	}
	return e, l, nil
}

// Walk calls fn for every entry of the final filesystem in path order,
// stopping when fn returns false.
func (f *FS) Walk(fn func(e *Entry, layer int) bool) {
	paths := make([]string, 0, len(f.index))
	for p := range f.index {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		v := f.index[p]
		l, _ := unpack(v)
		if !fn(f.entry(v), l) {
			return
		}
	}
}

// ForEach calls fn for every entry in no particular order; it is cheaper
// than Walk for counting and aggregation.
func (f *FS) ForEach(fn func(e *Entry, layer int)) {
	for _, v := range f.index {
		l, _ := unpack(v)
		fn(f.entry(v), l)
	}
}
