package vulndb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Records are stored in a compact binary form: length-prefixed strings and
// counts in field order. Decoding is a handful of allocations per record,
// several times faster than JSON, which matters when a scan looks up
// thousands of packages. codecVersion is the first byte of every value.
const codecVersion = 2

var errCodec = errors.New("vulndb: corrupt stored record")

type enc struct{ b []byte }

func (e *enc) uvarint(n int) { e.b = binary.AppendUvarint(e.b, uint64(n)) }
func (e *enc) str(s string)  { e.uvarint(len(s)); e.b = append(e.b, s...) }
func (e *enc) strs(l []string) {
	e.uvarint(len(l))
	for _, s := range l {
		e.str(s)
	}
}
func (e *enc) time(t time.Time) {
	if t.IsZero() {
		e.b = binary.AppendVarint(e.b, 0)
		return
	}
	e.b = binary.AppendVarint(e.b, t.UnixNano())
}
func (e *enc) sevs(l []Severity) {
	e.uvarint(len(l))
	for _, s := range l {
		e.str(s.Type)
		e.str(s.Score)
	}
}

func encodeRecord(r *Record) []byte {
	e := &enc{b: make([]byte, 0, 256)}
	e.b = append(e.b, codecVersion)
	e.str(r.ID)
	e.str(r.Source)
	e.strs(r.Aliases)
	e.strs(r.Related)
	e.str(r.Summary)
	e.str(r.Details)
	e.time(r.Published)
	e.time(r.Modified)
	if r.Withdrawn != nil {
		e.b = append(e.b, 1)
		e.time(*r.Withdrawn)
	} else {
		e.b = append(e.b, 0)
	}
	e.sevs(r.Severity)
	e.strs(r.References)
	e.str(r.DatabaseSeverity)
	e.uvarint(len(r.Affected))
	for _, a := range r.Affected {
		e.str(a.Package.Ecosystem)
		e.str(a.Package.Name)
		e.str(a.Package.PURL)
		e.uvarint(len(a.Ranges))
		for _, rg := range a.Ranges {
			e.str(rg.Type)
			e.uvarint(len(rg.Events))
			for _, ev := range rg.Events {
				switch {
				case ev.Introduced != "":
					e.b = append(e.b, 'i')
					e.str(ev.Introduced)
				case ev.Fixed != "":
					e.b = append(e.b, 'f')
					e.str(ev.Fixed)
				case ev.LastAffected != "":
					e.b = append(e.b, 'a')
					e.str(ev.LastAffected)
				default:
					e.b = append(e.b, 'l')
					e.str(ev.Limit)
				}
			}
		}
		if vs := a.ListedVersions(); len(vs) > 0 {
			e.str("\n" + strings.Join(vs, "\n") + "\n")
		} else {
			e.str("")
		}
		e.sevs(a.Severity)
		e.str(a.EcosystemSeverity)
	}
	return e.b
}

type dec struct {
	b   []byte
	err error
}

func (d *dec) uvarint() int {
	if d.err != nil {
		return 0
	}
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > uint64(len(d.b)) && n > 1<<20 {
		d.err = errCodec
		return 0
	}
	d.b = d.b[k:]
	return int(n)
}

func (d *dec) byte1() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = errCodec
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *dec) str() string {
	n := d.uvarint()
	if d.err != nil || n > len(d.b) {
		d.err = errCodec
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *dec) strs() []string {
	n := d.uvarint()
	if n == 0 || d.err != nil || n > len(d.b) {
		if n > len(d.b) {
			d.err = errCodec
		}
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

func (d *dec) time() time.Time {
	if d.err != nil {
		return time.Time{}
	}
	n, k := binary.Varint(d.b)
	if k <= 0 {
		d.err = errCodec
		return time.Time{}
	}
	d.b = d.b[k:]
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func (d *dec) sevs() []Severity {
	n := d.uvarint()
	if n == 0 || d.err != nil || n > len(d.b) {
		if n > len(d.b) {
			d.err = errCodec
		}
		return nil
	}
	out := make([]Severity, n)
	for i := range out {
		out[i] = Severity{Type: d.str(), Score: d.str()}
	}
	return out
}

func decodeRecord(b []byte) (*Record, error) {
	d := &dec{b: b}
	if v := d.byte1(); v != codecVersion {
		return nil, fmt.Errorf("%w: codec version %d", errCodec, v)
	}
	r := &Record{}
	r.ID = d.str()
	r.Source = d.str()
	r.Aliases = d.strs()
	r.Related = d.strs()
	r.Summary = d.str()
	r.Details = d.str()
	r.Published = d.time()
	r.Modified = d.time()
	if d.byte1() == 1 {
		w := d.time()
		r.Withdrawn = &w
	}
	r.Severity = d.sevs()
	r.References = d.strs()
	r.DatabaseSeverity = d.str()
	n := d.uvarint()
	if n > len(d.b) {
		return nil, errCodec
	}
	r.Affected = make([]Affected, n)
	for i := range r.Affected {
		a := &r.Affected[i]
		a.Package = Package{Ecosystem: d.str(), Name: d.str(), PURL: d.str()}
		nr := d.uvarint()
		if nr > len(d.b) {
			return nil, errCodec
		}
		a.Ranges = make([]Range, nr)
		for j := range a.Ranges {
			rg := &a.Ranges[j]
			rg.Type = d.str()
			ne := d.uvarint()
			if ne > len(d.b) {
				return nil, errCodec
			}
			rg.Events = make([]Event, ne)
			for k := range rg.Events {
				kind := d.byte1()
				v := d.str()
				switch kind {
				case 'i':
					rg.Events[k].Introduced = v
				case 'f':
					rg.Events[k].Fixed = v
				case 'a':
					rg.Events[k].LastAffected = v
				case 'l':
					rg.Events[k].Limit = v
				default:
					return nil, errCodec
				}
			}
		}
		a.versions = d.str()
		a.Severity = d.sevs()
		a.EcosystemSeverity = d.str()
	}
	if d.err != nil {
		return nil, d.err
	}
	return r, nil
}
