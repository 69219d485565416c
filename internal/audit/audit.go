// Package audit writes Picket's tamper-evident audit logs: one JSON object
// per line, each carrying a sequence number, the hash of the previous line
// and its own hash, so that editing, deleting, inserting or reordering lines
// breaks the chain and Verify finds the first bad line.
//
// # Line format
//
//	{"decision":"deny","identity":"alice",...,"prev":"<64 hex>","seq":7,"hash":"<64 hex>"}
//
// The canonical form of a record is its JSON encoding with object keys
// sorted (encoding/json's map order) and without the "hash" key. The hash
// is hex(SHA-256(prev || canonical)), where prev is the previous line's hash
// (64 zeros for seq 1). A line is written as the canonical form with
// "hash" appended as the last key, so each line on disk is exactly what
// was hashed plus its hash.
//
// # Durability
//
// By default (SyncEach) Write returns only after the line is on stable
// storage (fsync). Concurrent writers share fsyncs (group commit): while one
// fsync runs, the lines written meanwhile wait for the next one, so the
// cost is one fsync per batch, not per record. With SyncInterval(d) Write
// returns once the line is written to the file (the OS page cache) and a
// background goroutine fsyncs at most every d: a machine crash may lose up
// to d of records, a process crash loses nothing. SyncNone leaves it to the
// OS. Close always fsyncs.
//
// # Restarts and limits
//
// Open appends to an existing log and continues its chain from the last
// line. A torn last line (no trailing newline, as left by a crash during a
// write) is cut off and reported in Writer.Truncated. Truncation of whole
// lines at the end of the file cannot be detected from the file alone:
// forward the lines to syslog (WithSyslog) or record Writer.Head
// elsewhere to anchor the chain.
package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Genesis is the prev hash of the first line.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// MaxLine bounds one audit line (Verify refuses longer lines).
const MaxLine = 1 << 20

// Record is one audited event. Empty fields are omitted. Extra holds
// caller-specific fields (container or image names, repository, digest ...);
// its keys must not clash with the common fields.
type Record struct {
	Time     time.Time      `json:"time"`
	Identity string         `json:"identity,omitempty"`
	Groups   []string       `json:"groups,omitempty"`
	Source   string         `json:"source,omitempty"` // remote address
	Action   string         `json:"action,omitempty"` // operation (e.g. container.create, pull)
	Method   string         `json:"method,omitempty"`
	Path     string         `json:"path,omitempty"`
	Resource string         `json:"resource,omitempty"` // container, image, repository ...
	Decision string         `json:"decision,omitempty"` // allow, deny, error
	Rule     string         `json:"rule,omitempty"`
	Reason   string         `json:"reason,omitempty"`
	Status   int            `json:"status,omitempty"`
	Bytes    int64          `json:"bytes,omitempty"`
	Duration time.Duration  `json:"-"`
	Extra    map[string]any `json:"-"`
}

// Entry is what Write appended.
type Entry struct {
	Seq  uint64
	Hash string
}

var reservedKeys = map[string]bool{"seq": true, "prev": true, "hash": true, "duration_ms": true}

// fields returns the record as a map ready for canonical encoding.
func (r *Record) fields() (map[string]any, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if r.Duration != 0 {
		m["duration_ms"] = json.Number(fmt.Sprintf("%.3f", float64(r.Duration)/float64(time.Millisecond)))
	}
	for k, v := range r.Extra {
		if _, clash := m[k]; clash || reservedKeys[k] {
			return nil, fmt.Errorf("audit: extra field %q clashes with a common field", k)
		}
		m[k] = v
	}
	return m, nil
}

// canonical encodes m (which must not hold "hash") with sorted keys.
func canonical(m map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func chainHash(prev string, canon []byte) string {
	h := sha256.New()
	io.WriteString(h, prev)
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil))
}

// line builds the on-disk line for fields m at seq after prev.
func line(m map[string]any, seq uint64, prev string) ([]byte, string, error) {
	m["seq"] = seq
	m["prev"] = prev
	canon, err := canonical(m)
	if err != nil {
		return nil, "", fmt.Errorf("audit: %w", err)
	}
	// Re-canonicalise through a UseNumber decode so that what Verify will
	// compute from the line is byte-identical (e.g. for floats in Extra).
	var again map[string]any
	dec := json.NewDecoder(bytes.NewReader(canon))
	dec.UseNumber()
	if err := dec.Decode(&again); err != nil {
		return nil, "", fmt.Errorf("audit: %w", err)
	}
	if canon, err = canonical(again); err != nil {
		return nil, "", fmt.Errorf("audit: %w", err)
	}
	h := chainHash(prev, canon)
	out := make([]byte, 0, len(canon)+80)
	out = append(out, canon[:len(canon)-1]...)
	out = append(out, `,"hash":"`...)
	out = append(out, h...)
	out = append(out, "\"}\n"...)
	return out, h, nil
}

// Result is the outcome of Verify.
type Result struct {
	Records  int    // lines read and verified before the first bad one
	FirstBad int    // 1-based line number of the first bad line, 0 if all good
	Reason   string // why FirstBad is bad
	LastSeq  uint64 // seq of the last good line
	LastHash string // hash of the last good line (anchor it elsewhere)
}

// OK reports whether every line verified.
func (r Result) OK() bool { return r.FirstBad == 0 }

// Verify reads an audit log and checks every line's hash and its link to
// the line before. It returns an error only when r cannot be read; a
// tampered log is a Result with FirstBad set.
func Verify(r io.Reader) (Result, error) {
	res := Result{LastHash: Genesis}
	br := newLineReader(r)
	for n := 1; ; n++ {
		ln, err := br.next()
		if err == io.EOF {
			return res, nil
		}
		if err != nil {
			if errors.Is(err, errLongLine) || errors.Is(err, errTorn) {
				res.FirstBad, res.Reason = n, err.Error()
				return res, nil
			}
			return res, fmt.Errorf("audit: %w", err)
		}
		seq, hash, reason := checkLine(ln, res.LastSeq, res.LastHash)
		if reason != "" {
			res.FirstBad, res.Reason = n, reason
			return res, nil
		}
		res.Records++
		res.LastSeq, res.LastHash = seq, hash
	}
}

// checkLine verifies one line against the previous seq and hash.
func checkLine(ln []byte, prevSeq uint64, prevHash string) (seq uint64, hash, reason string) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(ln))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return 0, "", "not a JSON object: " + err.Error()
	}
	if dec.More() {
		return 0, "", "trailing data after the JSON object"
	}
	hash, _ = m["hash"].(string)
	prev, _ := m["prev"].(string)
	num, _ := m["seq"].(json.Number)
	s, err := num.Int64()
	if hash == "" || prev == "" || err != nil || s < 1 {
		return 0, "", "missing or invalid seq, prev or hash"
	}
	seq = uint64(s)
	if seq != prevSeq+1 {
		return 0, "", fmt.Sprintf("seq %d follows seq %d (line deleted, inserted or reordered)", seq, prevSeq)
	}
	if prev != prevHash {
		return 0, "", "prev does not match the previous line's hash (line deleted, inserted or reordered)"
	}
	delete(m, "hash")
	canon, err := canonical(m)
	if err != nil {
		return 0, "", err.Error()
	}
	if want := chainHash(prev, canon); want != hash {
		return 0, "", "hash mismatch (line edited)"
	}
	return seq, hash, ""
}

var (
	errLongLine = fmt.Errorf("line longer than %d bytes", MaxLine)
	errTorn     = errors.New("last line is incomplete (no newline)")
)

type lineReader struct{ br *bufio.Reader }

func newLineReader(r io.Reader) *lineReader { return &lineReader{bufio.NewReaderSize(r, 64<<10)} }

// next returns the next line without its newline; errTorn for a last line
// without one, errLongLine past MaxLine.
func (l *lineReader) next() ([]byte, error) {
	var acc []byte
	for {
		chunk, err := l.br.ReadSlice('\n')
		switch {
		case err == nil:
			if acc == nil {
				return chunk[:len(chunk)-1], nil
			}
			acc = append(acc, chunk[:len(chunk)-1]...)
			if len(acc) > MaxLine {
				return nil, errLongLine
			}
			return acc, nil
		case errors.Is(err, bufio.ErrBufferFull):
			acc = append(acc, chunk...)
			if len(acc) > MaxLine {
				return nil, errLongLine
			}
		case err == io.EOF:
			if len(acc)+len(chunk) == 0 {
				return nil, io.EOF
			}
			return nil, errTorn
		default:
			return nil, err
		}
	}
}

// VerifyFile verifies the log at path.
func VerifyFile(path string) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	return Verify(f)
}
