package vulndb

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is bumped on incompatible changes; a database of another
// version is refused with ErrSchema and rebuilt by the next update.
const SchemaVersion = 2

// FileName is the database file inside the data directory.
const FileName = "vulndb.db"

// Errors from opening a database.
var (
	ErrNoDB   = errors.New("vulndb: no vulnerability database (run `picket db update` or `picket db import`)")
	ErrSchema = errors.New("vulndb: database schema version differs (run `picket db update` to rebuild)")
)

var (
	bMeta    = []byte("meta")
	bSources = []byte("sources")
	bKEV     = []byte("kev")
	bRecords = []byte("records")
	bIndex   = []byte("index")
	kSchema  = []byte("schema")
	kInfo    = []byte("info")
)

// SourceInfo describes one loaded feed.
type SourceInfo struct {
	Name         string    `json:"name"` // "osv/Go", "secdb/v3.10/main", "kev", "import:/abs/path"
	Kind         string    `json:"kind"` // "osv", "secdb", "kev"
	Origin       string    `json:"origin"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"lastModified,omitempty"`
	SHA256       string    `json:"sha256,omitempty"`
	UpdatedAt    time.Time `json:"updatedAt"`
	Records      int       `json:"records"`
	Skipped      int       `json:"skipped"`
	SkipSamples  []string  `json:"skipSamples,omitempty"`
}

// DB is an open, read-only database.
type DB struct {
	db      *bolt.DB
	sources []SourceInfo
}

// Path returns the database path inside dir.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// Open opens the database in dir read-only. Updates replace the file
// atomically, so an open DB keeps reading the version it opened.
func Open(dir string) (*DB, error) {
	p := Path(dir)
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNoDB
		}
		return nil, fmt.Errorf("vulndb: %w", err)
	}
	db, err := bolt.Open(p, 0o600, &bolt.Options{ReadOnly: true, Timeout: 10 * time.Second})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("vulndb: %s is locked: %w", p, err)
		}
		return nil, fmt.Errorf("vulndb: open %s: %w", p, err)
	}
	d := &DB{db: db}
	if err := db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		if meta == nil {
			return ErrSchema
		}
		if v, _ := strconv.Atoi(string(meta.Get(kSchema))); v != SchemaVersion {
			return ErrSchema
		}
		srcs := tx.Bucket(bSources)
		if srcs == nil {
			return ErrSchema
		}
		return srcs.ForEachBucket(func(k []byte) error {
			var si SourceInfo
			if err := json.Unmarshal(srcs.Bucket(k).Get(kInfo), &si); err != nil {
				return fmt.Errorf("vulndb: source %s: %w", k, err)
			}
			d.sources = append(d.sources, si)
			return nil
		})
	}); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// Close releases the database.
func (d *DB) Close() error { return d.db.Close() }

// Sources lists the loaded feeds.
func (d *DB) Sources() []SourceInfo { return d.sources }

// Oldest returns the update time of the least recently updated source.
func (d *DB) Oldest() time.Time {
	var t time.Time
	for _, s := range d.sources {
		if t.IsZero() || s.UpdatedAt.Before(t) {
			t = s.UpdatedAt
		}
	}
	return t
}

func indexKey(eco, name string) []byte {
	eco = NormalizeEcosystem(eco)
	return []byte(eco + "\x00" + NormalizeName(eco, name))
}

// Lookup returns the records of every source that affect the named package
// in the ecosystem ("Go", "PyPI", "Alpine:v3.10", "Debian:12").
func (d *DB) Lookup(eco, name string) ([]*Record, error) {
	key := indexKey(eco, name)
	var out []*Record
	err := d.db.View(func(tx *bolt.Tx) error {
		srcs := tx.Bucket(bSources)
		return srcs.ForEachBucket(func(src []byte) error {
			sb := srcs.Bucket(src)
			ids := sb.Bucket(bIndex).Get(key)
			if ids == nil {
				return nil
			}
			recs := sb.Bucket(bRecords)
			for _, id := range strings.Split(string(ids), "\n") {
				raw := recs.Get([]byte(id))
				if raw == nil {
					return fmt.Errorf("vulndb: corrupt index in %s: %s missing", src, id)
				}
				r, err := decodeRecord(raw)
				if err != nil {
					return fmt.Errorf("vulndb: corrupt record %s/%s: %w", src, id, err)
				}
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}

// KEV returns the catalogue entry for a CVE.
func (d *DB) KEV(cve string) (*KEV, bool) {
	var k *KEV
	_ = d.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bKEV)
		if b == nil {
			return nil
		}
		if raw := b.Get([]byte(cve)); raw != nil {
			var v KEV
			if json.Unmarshal(raw, &v) == nil {
				k = &v
			}
		}
		return nil
	})
	return k, k != nil
}

// Counts returns the number of records per source.
func (d *DB) Counts() map[string]int {
	out := map[string]int{}
	for _, s := range d.sources {
		out[s.Name] = s.Records
	}
	return out
}

// Builder writes a new database next to the current one and swaps it in on
// Commit. Sources not replaced are carried over from the current database.
type Builder struct {
	dir, tmp string
	db       *bolt.DB
}

// NewBuilder starts a new database in dir, copying the current one's
// sources when it is readable and of this schema.
func NewBuilder(dir string) (*Builder, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("vulndb: %w", err)
	}
	f, err := os.CreateTemp(dir, ".vulndb-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("vulndb: %w", err)
	}
	tmp := f.Name()
	f.Close()
	if cur, err := Open(dir); err == nil {
		err = cur.db.View(func(tx *bolt.Tx) error { return tx.CopyFile(tmp, 0o600) })
		cur.Close()
		if err != nil {
			os.Remove(tmp)
			return nil, fmt.Errorf("vulndb: copy current database: %w", err)
		}
	} else {
		os.Remove(tmp) // start empty; bolt creates the file
	}
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true})
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("vulndb: create %s: %w", tmp, err)
	}
	b := &Builder{dir: dir, tmp: tmp, db: db}
	if err := db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(kSchema, []byte(strconv.Itoa(SchemaVersion))); err != nil {
			return err
		}
		_, err = tx.CreateBucketIfNotExists(bSources)
		return err
	}); err != nil {
		b.Abort()
		return nil, fmt.Errorf("vulndb: init: %w", err)
	}
	return b, nil
}

// SourceNames lists the sources currently in the builder.
func (b *Builder) SourceNames() []string {
	var out []string
	_ = b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bSources).ForEachBucket(func(k []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	return out
}

// Source returns a source's info from the builder.
func (b *Builder) Source(name string) (SourceInfo, bool) {
	var si SourceInfo
	found := false
	_ = b.db.View(func(tx *bolt.Tx) error {
		if sb := tx.Bucket(bSources).Bucket([]byte(name)); sb != nil {
			found = json.Unmarshal(sb.Get(kInfo), &si) == nil
		}
		return nil
	})
	return si, found
}

// ReplaceSource drops the named source and writes recs in its place.
// Records with the same id within a source are merged (their affected
// entries appended), as feeds split one advisory across files.
func (b *Builder) ReplaceSource(info SourceInfo, recs []*Record) error {
	merged := map[string]*Record{}
	var order []string
	for _, r := range recs {
		r.Source = info.Name
		if m, ok := merged[r.ID]; ok {
			m.Affected = append(m.Affected, r.Affected...)
			m.Aliases = appendUnique(m.Aliases, r.Aliases...)
			continue
		}
		merged[r.ID] = r
		order = append(order, r.ID)
	}
	info.Records = len(order)
	err := b.db.Update(func(tx *bolt.Tx) error {
		srcs := tx.Bucket(bSources)
		if srcs.Bucket([]byte(info.Name)) != nil {
			if err := srcs.DeleteBucket([]byte(info.Name)); err != nil {
				return err
			}
		}
		sb, err := srcs.CreateBucket([]byte(info.Name))
		if err != nil {
			return err
		}
		rb, err := sb.CreateBucket(bRecords)
		if err != nil {
			return err
		}
		ib, err := sb.CreateBucket(bIndex)
		if err != nil {
			return err
		}
		index := map[string][]string{}
		for _, id := range order {
			r := merged[id]
			if err := rb.Put([]byte(id), encodeRecord(r)); err != nil {
				return err
			}
			seen := map[string]bool{}
			for _, a := range r.Affected {
				k := string(indexKey(a.Package.Ecosystem, a.Package.Name))
				if !seen[k] {
					seen[k] = true
					index[k] = append(index[k], id)
				}
			}
		}
		keys := make([]string, 0, len(index))
		for k := range index {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := ib.Put([]byte(k), []byte(strings.Join(index[k], "\n"))); err != nil {
				return err
			}
		}
		raw, _ := json.Marshal(info)
		return sb.Put(kInfo, raw)
	})
	if err != nil {
		return fmt.Errorf("vulndb: write source %s: %w", info.Name, err)
	}
	return nil
}

// RemoveSource drops a source.
func (b *Builder) RemoveSource(name string) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bSources).Bucket([]byte(name)) == nil {
			return nil
		}
		return tx.Bucket(bSources).DeleteBucket([]byte(name))
	})
}

// ReplaceKEV replaces the KEV catalogue. It is recorded as source "kev".
func (b *Builder) ReplaceKEV(info SourceInfo, kevs []KEV) error {
	info.Records = len(kevs)
	err := b.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bKEV) != nil {
			if err := tx.DeleteBucket(bKEV); err != nil {
				return err
			}
		}
		kb, err := tx.CreateBucket(bKEV)
		if err != nil {
			return err
		}
		for _, k := range kevs {
			raw, _ := json.Marshal(k)
			if err := kb.Put([]byte(k.CVE), raw); err != nil {
				return err
			}
		}
		// Keep the KEV source visible in Sources with an empty index.
		srcs := tx.Bucket(bSources)
		if srcs.Bucket([]byte(info.Name)) != nil {
			if err := srcs.DeleteBucket([]byte(info.Name)); err != nil {
				return err
			}
		}
		sb, err := srcs.CreateBucket([]byte(info.Name))
		if err != nil {
			return err
		}
		if _, err := sb.CreateBucket(bRecords); err != nil {
			return err
		}
		if _, err := sb.CreateBucket(bIndex); err != nil {
			return err
		}
		raw, _ := json.Marshal(info)
		return sb.Put(kInfo, raw)
	})
	if err != nil {
		return fmt.Errorf("vulndb: write kev: %w", err)
	}
	return nil
}

// Commit makes the new database current: it is synced, closed and renamed
// over the old file, so readers see either the old or the new one whole.
func (b *Builder) Commit() error {
	if err := b.db.Sync(); err != nil {
		b.Abort()
		return fmt.Errorf("vulndb: sync: %w", err)
	}
	if err := b.db.Close(); err != nil {
		os.Remove(b.tmp)
		return fmt.Errorf("vulndb: close: %w", err)
	}
	if err := os.Rename(b.tmp, Path(b.dir)); err != nil {
		os.Remove(b.tmp)
		return fmt.Errorf("vulndb: swap in new database: %w", err)
	}
	if d, err := os.Open(b.dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Abort discards the new database.
func (b *Builder) Abort() {
	b.db.Close()
	os.Remove(b.tmp)
}

func appendUnique(list []string, add ...string) []string {
	for _, a := range add {
		found := false
		for _, l := range list {
			if l == a {
				found = true
				break
			}
		}
		if !found {
			list = append(list, a)
		}
	}
	return list
}
