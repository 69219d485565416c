package vulndb

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/picket-cdr/picket/internal/version"
)

// Limits on feed archives (zip bombs and runaway feeds).
const (
	maxZipEntries   = 2_000_000
	maxZipTotal     = 8 << 30
	maxSkipSamples  = 10
	maxFeedFileSize = 64 << 20
)

// Feed is one parsed feed, ready to be written as a source.
type Feed struct {
	Info    SourceInfo
	Records []*Record
	KEV     []KEV
}

func (f *Feed) skip(name string, err error) {
	f.Info.Skipped++
	if len(f.Info.SkipSamples) < maxSkipSamples {
		f.Info.SkipSamples = append(f.Info.SkipSamples, fmt.Sprintf("%s: %v", name, err))
	}
}

// check refuses a feed that had input but yielded nothing usable: a
// corrupt download must not become a silently empty source.
func (f *Feed) check() error {
	if f.Info.Kind == "kev" {
		return nil
	}
	if len(f.Records) == 0 && f.Info.Skipped > 0 {
		return fmt.Errorf("%w: %s: none of %d records could be read (first: %s)", ErrInvalidRecord, f.Info.Name, f.Info.Skipped, f.Info.SkipSamples[0])
	}
	return nil
}

// LoadOSVZip reads an OSV all.zip (one JSON record per entry).
func LoadOSVZip(r io.ReaderAt, size int64, name string) (*Feed, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: not a zip archive: %v", ErrUnsupported, name, err)
	}
	if len(zr.File) > maxZipEntries {
		return nil, fmt.Errorf("%w: %s: %d entries (limit %d)", ErrUnsupported, name, len(zr.File), maxZipEntries)
	}
	f := &Feed{Info: SourceInfo{Name: name, Kind: "osv"}}
	var total int64
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() || !strings.HasSuffix(zf.Name, ".json") {
			continue
		}
		if zf.UncompressedSize64 > maxRecordSize {
			f.skip(zf.Name, fmt.Errorf("entry of %d bytes exceeds the record size limit", zf.UncompressedSize64))
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %s: %v", ErrUnsupported, name, zf.Name, err)
		}
		// The declared size can lie; read one byte past the limit to know.
		b, err := io.ReadAll(io.LimitReader(rc, maxRecordSize+1))
		rc.Close()
		if err != nil {
			// CRC or deflate errors: the archive is damaged, not one record.
			return nil, fmt.Errorf("%w: %s: %s: %v", ErrUnsupported, name, zf.Name, err)
		}
		total += int64(len(b))
		if total > maxZipTotal {
			return nil, fmt.Errorf("%w: %s: more than %d bytes uncompressed", ErrUnsupported, name, int64(maxZipTotal))
		}
		rec, err := ParseOSV(b)
		if err == nil {
			err = keepSupported(rec)
		}
		if err != nil {
			f.skip(zf.Name, err)
			continue
		}
		f.Records = append(f.Records, rec)
	}
	if len(f.Records) == 0 && f.Info.Skipped == 0 {
		return nil, fmt.Errorf("%w: %s: the archive holds no OSV records", ErrInvalidRecord, name)
	}
	return f, f.check()
}

// LoadPath reads local feeds: an OSV zip, a directory (OSV JSON files,
// secdb YAML/JSON and KEV JSON, recursively) or a single file of any of
// those formats. Each secdb file and the KEV catalogue become their own
// source; OSV records found under one path become source "import:PATH".
func LoadPath(p string) ([]*Feed, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, fmt.Errorf("vulndb: %w", err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("vulndb: import: %w", err)
	}
	osv := &Feed{Info: SourceInfo{Name: "import:" + abs, Kind: "osv", Origin: abs}}
	var feeds []*Feed
	addFile := func(fp string) error {
		b, err := readLimited(fp)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(b, []byte("PK\x03\x04")) {
			f, err := LoadOSVZip(bytes.NewReader(b), int64(len(b)), "import:"+fp)
			if err != nil {
				return err
			}
			f.Info.Origin, f.Info.SHA256 = fp, sum(b)
			feeds = append(feeds, f)
			return nil
		}
		kind := sniff(fp, b)
		switch kind {
		case "kev":
			kevs, ver, err := ParseKEV(b)
			if err != nil {
				return fmt.Errorf("%s: %w", fp, err)
			}
			feeds = append(feeds, &Feed{Info: SourceInfo{Name: "kev", Kind: "kev", Origin: fp, ETag: ver, SHA256: sum(b)}, KEV: kevs})
		case "secdb":
			recs, name, err := ParseSecDB(b)
			if err != nil {
				return fmt.Errorf("%s: %w", fp, err)
			}
			feeds = append(feeds, &Feed{Info: SourceInfo{Name: name, Kind: "secdb", Origin: fp, SHA256: sum(b)}, Records: recs})
		case "osv":
			rec, err := ParseOSV(b)
			if err == nil {
				err = keepSupported(rec)
			}
			if err != nil {
				osv.skip(fp, err)
				return nil
			}
			osv.Records = append(osv.Records, rec)
		default:
			osv.skip(fp, fmt.Errorf("%w: not an OSV record, secdb or KEV document", ErrUnsupported))
		}
		return nil
	}
	if st.IsDir() {
		var files []string
		err := filepath.WalkDir(abs, func(fp string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				switch strings.ToLower(filepath.Ext(fp)) {
				case ".json", ".yaml", ".yml", ".zip":
					files = append(files, fp)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("vulndb: import: %w", err)
		}
		sort.Strings(files)
		for _, fp := range files {
			if err := addFile(fp); err != nil {
				return nil, err
			}
		}
	} else if err := addFile(abs); err != nil {
		return nil, err
	}
	if len(osv.Records) > 0 || osv.Info.Skipped > 0 {
		if err := osv.check(); err != nil {
			return nil, err
		}
		feeds = append(feeds, osv)
	}
	if len(feeds) == 0 {
		return nil, fmt.Errorf("%w: %s holds no OSV, secdb or KEV data", ErrUnsupported, p)
	}
	return feeds, nil
}

// sniff classifies a feed document by its content.
func sniff(name string, b []byte) string {
	ext := strings.ToLower(filepath.Ext(name))
	if ext == ".yaml" || ext == ".yml" {
		return "secdb"
	}
	head := b
	if len(head) > 4096 {
		head = head[:4096]
	}
	switch {
	case bytes.Contains(head, []byte(`"catalogVersion"`)):
		return "kev"
	case bytes.Contains(head, []byte(`"distroversion"`)):
		return "secdb"
	case bytes.Contains(b, []byte(`"id"`)):
		return "osv"
	}
	return ""
}

func readLimited(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("vulndb: %w", err)
	}
	defer f.Close()
	limit := int64(maxFeedFileSize)
	if strings.HasSuffix(p, ".zip") {
		limit = 2 << 30
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("vulndb: %s: %w", p, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrUnsupported, p, limit)
	}
	return b, nil
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Import loads the feeds at paths into the database in dir, replacing the
// sources of the same names, and swaps the new database in. On any error
// the current database is left untouched.
func Import(dir string, paths ...string) ([]SourceInfo, error) {
	if len(paths) == 0 {
		return nil, errors.New("vulndb: import: no path given")
	}
	var feeds []*Feed
	for _, p := range paths {
		fs, err := LoadPath(p)
		if err != nil {
			return nil, err
		}
		feeds = append(feeds, fs...)
	}
	return write(dir, feeds)
}

func write(dir string, feeds []*Feed) ([]SourceInfo, error) {
	b, err := NewBuilder(dir)
	if err != nil {
		return nil, err
	}
	var out []SourceInfo
	for _, f := range feeds {
		if f.Info.UpdatedAt.IsZero() {
			f.Info.UpdatedAt = now()
		}
		if f.Info.Kind == "kev" {
			err = b.ReplaceKEV(f.Info, f.KEV)
			f.Info.Records = len(f.KEV)
		} else {
			err = b.ReplaceSource(f.Info, f.Records)
			f.Info.Records = countIDs(f.Records)
		}
		if err != nil {
			b.Abort()
			return nil, err
		}
		out = append(out, f.Info)
	}
	if err := b.Commit(); err != nil {
		return nil, err
	}
	return out, nil
}

func countIDs(recs []*Record) int {
	ids := map[string]bool{}
	for _, r := range recs {
		ids[r.ID] = true
	}
	return len(ids)
}

// ErrUnsupportedEcosystem marks records no Picket inventory can match.
var ErrUnsupportedEcosystem = errors.New("vulndb: unsupported ecosystem")

// keepSupported drops affected entries in ecosystems Picket cannot compare
// versions for (OSV also covers GitHub Actions, Hex, Linux ...); a record
// left with none is refused, to be counted as skipped.
func keepSupported(r *Record) error {
	if r.Withdrawn != nil {
		return nil
	}
	kept := r.Affected[:0]
	var dropped string
	for _, a := range r.Affected {
		base, _ := version.ParseEcosystem(a.Package.Ecosystem)
		if _, err := version.For(base); err != nil {
			dropped = a.Package.Ecosystem
			continue
		}
		kept = append(kept, a)
	}
	r.Affected = kept
	if len(kept) == 0 {
		return fmt.Errorf("%w: %s (%s)", ErrUnsupportedEcosystem, dropped, r.ID)
	}
	return nil
}
