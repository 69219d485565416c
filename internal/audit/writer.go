package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// SyncPolicy says when the writer fsyncs; see the package documentation.
type SyncPolicy struct {
	interval time.Duration
	none     bool
}

// SyncEach fsyncs before Write returns (group commit across writers).
var SyncEach = SyncPolicy{}

// SyncNone never fsyncs except on Close.
var SyncNone = SyncPolicy{none: true}

// SyncInterval fsyncs in the background at most every d.
func SyncInterval(d time.Duration) SyncPolicy { return SyncPolicy{interval: d} }

// Forwarder receives each line after it is written (e.g. syslog). Errors
// are counted, never fatal.
type Forwarder interface {
	Forward(line []byte) error
}

// Option configures a Writer.
type Option func(*Writer)

// WithSync sets the fsync policy (default SyncEach).
func WithSync(p SyncPolicy) Option { return func(w *Writer) { w.policy = p } }

// WithForwarder sends every line to f as well.
func WithForwarder(f Forwarder) Option { return func(w *Writer) { w.fwd = append(w.fwd, f) } }

// WithClock sets the clock used for records without a time (tests).
func WithClock(now func() time.Time) Option { return func(w *Writer) { w.now = now } }

// Writer appends records to a hash-chained log. It is safe for concurrent
// use.
type Writer struct {
	path   string
	policy SyncPolicy
	fwd    []Forwarder
	now    func() time.Time

	mu      sync.Mutex // guards f, seq, head, closed and the write itself
	f       *os.File
	seq     uint64
	head    string
	closed  bool
	written atomic.Uint64 // highest seq written to the file

	syncMu sync.Mutex // serialises fsyncs (group commit)
	synced atomic.Uint64

	stop chan struct{}
	done chan struct{}

	// Truncated is the number of bytes of a torn last line cut off by Open.
	Truncated int64
	fwdErrs   atomic.Uint64
}

// Open opens (creating it if needed, mode 0600) the log at path and
// continues its chain.
func Open(path string, opts ...Option) (*Writer, error) {
	w := &Writer{path: path, head: Genesis, now: time.Now}
	for _, o := range opts {
		o(w)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if err := w.recover(f); err != nil {
		f.Close()
		return nil, err
	}
	w.f = f
	w.written.Store(w.seq)
	w.synced.Store(w.seq)
	if w.policy.interval > 0 {
		w.stop, w.done = make(chan struct{}), make(chan struct{})
		go w.syncLoop()
	}
	return w, nil
}

// recover reads the last line of f to continue the chain, cutting off a
// torn tail, and leaves the offset at the end.
func (w *Writer) recover(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	size := st.Size()
	if size == 0 {
		return nil
	}
	// Read backwards until the start of the last complete line.
	const step = 64 << 10
	var tail []byte
	off := size
	for {
		n := int64(step)
		if off < n {
			n = off
		}
		off -= n
		chunk := make([]byte, n)
		if _, err := f.ReadAt(chunk, off); err != nil {
			return fmt.Errorf("audit: %s: %w", w.path, err)
		}
		tail = append(chunk, tail...)
		// Need the last '\n' and the one before the last complete line.
		last := bytes.LastIndexByte(tail, '\n')
		if last >= 0 {
			if end := int64(len(tail) - last - 1); end > 0 {
				// Torn line after the last newline: cut it off.
				if err := f.Truncate(off + int64(last) + 1); err != nil {
					return fmt.Errorf("audit: %s: truncating a torn last line: %w", w.path, err)
				}
				w.Truncated = end
				tail = tail[:last+1]
				size = off + int64(last) + 1
			}
			body := tail[:len(tail)-1]
			if start := bytes.LastIndexByte(body, '\n'); start >= 0 || off == 0 {
				ln := body[start+1:]
				seq, hash, err := lastLink(ln)
				if err != nil {
					return fmt.Errorf("audit: %s: cannot continue the chain from the last line: %w", w.path, err)
				}
				w.seq, w.head = seq, hash
				break
			}
		} else if off == 0 {
			// No newline at all: the whole file is one torn line.
			if err := f.Truncate(0); err != nil {
				return fmt.Errorf("audit: %w", err)
			}
			w.Truncated, size = int64(len(tail)), 0
			break
		}
		if off == 0 || int64(len(tail)) > MaxLine+step {
			return fmt.Errorf("audit: %s: last line longer than %d bytes", w.path, MaxLine)
		}
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// lastLink checks the last line's own hash and returns its seq and hash.
func lastLink(ln []byte) (uint64, string, error) {
	var probe struct {
		Seq  uint64 `json:"seq"`
		Prev string `json:"prev"`
	}
	if err := json.Unmarshal(ln, &probe); err != nil {
		return 0, "", err
	}
	seq, hash, reason := checkLine(ln, probe.Seq-1, probe.Prev)
	if reason != "" {
		return 0, "", errors.New(reason)
	}
	return seq, hash, nil
}

// Head returns the seq and hash of the last line written.
func (w *Writer) Head() (uint64, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seq, w.head
}

// ForwardErrors counts lines a forwarder failed to take.
func (w *Writer) ForwardErrors() uint64 { return w.fwdErrs.Load() }

// Write appends one record. A zero Time is set to now. With SyncEach it
// returns after the line is fsynced.
func (w *Writer) Write(r Record) (Entry, error) {
	e, err := w.append(r)
	if err != nil {
		return e, err
	}
	return e, w.afterWrite(e.Seq)
}

// WriteBatch appends records in order and, with SyncEach, fsyncs once for
// all of them. It stops at the first record that fails.
func (w *Writer) WriteBatch(rs []Record) ([]Entry, error) {
	out := make([]Entry, 0, len(rs))
	for _, r := range rs {
		e, err := w.append(r)
		if err != nil {
			if len(out) > 0 {
				_ = w.afterWrite(out[len(out)-1].Seq)
			}
			return out, err
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return out, nil
	}
	return out, w.afterWrite(out[len(out)-1].Seq)
}

func (w *Writer) afterWrite(seq uint64) error {
	if w.policy.interval == 0 && !w.policy.none {
		return w.syncTo(seq)
	}
	return nil
}

// append writes one line without syncing.
func (w *Writer) append(r Record) (Entry, error) {
	if r.Time.IsZero() {
		r.Time = w.now()
	}
	r.Time = r.Time.UTC()
	m, err := r.fields()
	if err != nil {
		return Entry{}, err
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return Entry{}, errors.New("audit: writer closed")
	}
	ln, h, err := line(m, w.seq+1, w.head)
	if err != nil {
		w.mu.Unlock()
		return Entry{}, err
	}
	if _, err := w.f.Write(ln); err != nil {
		w.mu.Unlock()
		return Entry{}, fmt.Errorf("audit: %s: %w", w.path, err)
	}
	w.seq++
	w.head = h
	e := Entry{Seq: w.seq, Hash: h}
	w.written.Store(w.seq)
	w.mu.Unlock()

	for _, f := range w.fwd {
		if f.Forward(ln) != nil {
			w.fwdErrs.Add(1)
		}
	}
	return e, nil
}

// syncTo makes sure every line up to seq is fsynced; concurrent callers
// share one fsync.
func (w *Writer) syncTo(seq uint64) error {
	if w.synced.Load() >= seq {
		return nil
	}
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if w.synced.Load() >= seq {
		return nil
	}
	upto := w.written.Load()
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("audit: fsync %s: %w", w.path, err)
	}
	w.synced.Store(upto)
	return nil
}

// Sync fsyncs everything written so far.
func (w *Writer) Sync() error { return w.syncTo(w.written.Load()) }

func (w *Writer) syncLoop() {
	defer close(w.done)
	t := time.NewTicker(w.policy.interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			_ = w.Sync() // errors resurface at Close
		}
	}
}

// Close fsyncs and closes the log.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	if w.stop != nil {
		close(w.stop)
		<-w.done
	}
	err := w.Sync()
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("audit: %w", cerr)
	}
	return err
}

// Syslog forwards lines to a syslog daemon.
type Syslog struct{ w *syslog.Writer }

// DialSyslog connects to syslog: network and addr as for log/syslog.Dial
// ("" and "" for the local daemon; "udp", "host:514" for a remote one).
// Lines are sent at LOG_INFO with facility LOG_AUTH and the given tag.
func DialSyslog(network, addr, tag string) (*Syslog, error) {
	w, err := syslog.Dial(network, addr, syslog.LOG_INFO|syslog.LOG_AUTH, tag)
	if err != nil {
		return nil, fmt.Errorf("audit: syslog: %w", err)
	}
	return &Syslog{w: w}, nil
}

// Forward sends one line.
func (s *Syslog) Forward(line []byte) error {
	_, err := s.w.Write(bytes.TrimSuffix(line, []byte("\n")))
	return err
}

// Close closes the syslog connection.
func (s *Syslog) Close() error { return s.w.Close() }
