// Package output delivers the agent's alerts: JSON lines to stdout or to a
// file rotated by size, an HTTP webhook with retries, and syslog. Each
// alert is a finding.Finding (kind "runtime") plus the event that raised it.
package output

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/runtime/event"
)

// Alert is one rule match.
type Alert struct {
	Time     time.Time `json:"time"`
	Hostname string    `json:"hostname,omitempty"`
	finding.Finding
	// Priority is the rule's priority (critical, high, medium, low, info).
	Priority string       `json:"priority"`
	Event    *event.Event `json:"event"`
	// LatencyNS is the time from the kernel seeing the event to the alert.
	LatencyNS int64 `json:"latency_ns,omitempty"`
}

// Output delivers alerts. Write may be called from one goroutine at a time
// per output (the agent serialises them).
type Output interface {
	Name() string
	Write(ctx context.Context, a *Alert) error
	// Close flushes what is pending and releases resources.
	Close() error
}

// Stats are an output's counters.
type Stats struct {
	Written uint64 `json:"written"`
	Errors  uint64 `json:"errors"`
	Dropped uint64 `json:"dropped"`
}

// Statser is an Output that keeps counters.
type Statser interface{ Stats() Stats }

// JSON writes one JSON object a line to w.
type JSON struct {
	name string
	mu   sync.Mutex
	w    io.Writer
	st   Stats
}

// NewJSON writes alerts as JSON lines to w (os.Stdout for "stdout").
func NewJSON(name string, w io.Writer) *JSON { return &JSON{name: name, w: w} }

func (j *JSON) Name() string { return j.name }

func (j *JSON) Write(_ context.Context, a *Alert) error {
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("output: %s: %w", j.name, err)
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.w.Write(b); err != nil {
		j.st.Errors++
		return fmt.Errorf("output: %s: %w", j.name, err)
	}
	j.st.Written++
	return nil
}

func (j *JSON) Stats() Stats { j.mu.Lock(); defer j.mu.Unlock(); return j.st }

func (j *JSON) Close() error {
	if s, ok := j.w.(interface{ Sync() error }); ok {
		_ = s.Sync()
	}
	return nil
}

// File writes JSON lines to a file, rotating it when it would grow past
// MaxSize: path becomes path.1, path.1 becomes path.2 ... up to Keep files.
type File struct {
	path    string
	maxSize int64
	keep    int
	mu      sync.Mutex
	f       *os.File
	size    int64
	st      Stats
}

// NewFile opens (appending) path. maxSize <= 0 disables rotation; keep is
// the number of rotated files kept (default 5).
func NewFile(path string, maxSize int64, keep int) (*File, error) {
	if keep <= 0 {
		keep = 5
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("output: file: %w", err)
	}
	f := &File{path: path, maxSize: maxSize, keep: keep}
	if err := f.open(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *File) open() error {
	fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("output: file: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return fmt.Errorf("output: file: %w", err)
	}
	f.f, f.size = fh, st.Size()
	return nil
}

func (f *File) Name() string { return "file:" + f.path }

func (f *File) Write(_ context.Context, a *Alert) error {
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("output: file: %w", err)
	}
	b = append(b, '\n')
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f == nil {
		return errors.New("output: file: closed")
	}
	if f.maxSize > 0 && f.size > 0 && f.size+int64(len(b)) > f.maxSize {
		if err := f.rotate(); err != nil {
			f.st.Errors++
			return err
		}
	}
	n, err := f.f.Write(b)
	f.size += int64(n)
	if err != nil {
		f.st.Errors++
		return fmt.Errorf("output: file: %w", err)
	}
	f.st.Written++
	return nil
}

func (f *File) rotate() error {
	if err := f.f.Close(); err != nil {
		return fmt.Errorf("output: file: rotate: %w", err)
	}
	f.f = nil
	_ = os.Remove(f.path + "." + strconv.Itoa(f.keep))
	for i := f.keep - 1; i >= 1; i-- {
		_ = os.Rename(f.path+"."+strconv.Itoa(i), f.path+"."+strconv.Itoa(i+1))
	}
	if err := os.Rename(f.path, f.path+".1"); err != nil {
		return fmt.Errorf("output: file: rotate: %w", err)
	}
	return f.open()
}

func (f *File) Stats() Stats { f.mu.Lock(); defer f.mu.Unlock(); return f.st }

func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f == nil {
		return nil
	}
	err := f.f.Sync()
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	f.f = nil
	return err
}
