package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/docker/go-units"

	"github.com/picket-cdr/picket/internal/scan"
)

// progressLine redraws one status line on a terminal, at most 10 times a
// second.
type progressLine struct {
	mu    sync.Mutex
	w     io.Writer
	name  string
	last  time.Time
	start time.Time
	drawn bool
}

func newProgressLine(w io.Writer, name string) *progressLine {
	return &progressLine{w: w, name: name, start: time.Now()}
}

func (p *progressLine) update(s scan.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && s.LayersDone != s.LayersTotal {
		return
	}
	p.last = now
	total := "?"
	if s.LayersTotal > 0 {
		total = fmt.Sprint(s.LayersTotal)
	}
	fmt.Fprintf(p.w, "\r\033[Kscanning %s: layers %d/%s, %s read, %s", p.name, s.LayersDone, total,
		units.BytesSize(float64(s.Bytes)), now.Sub(p.start).Round(100*time.Millisecond))
	p.drawn = true
}

func (p *progressLine) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
