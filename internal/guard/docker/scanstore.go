package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/picket-cdr/picket/internal/finding"
)

// ScanStore is a directory of `picket scan image --format json` reports,
// each named after the image ID it describes (the config digest without
// "sha256:", e.g. be044eb38101....json). The policy sees the last scan of
// the image a container is created from as image.scan.
type ScanStore struct {
	dir string
	now func() time.Time
}

// NewScanStore checks that dir is a readable directory.
func NewScanStore(dir string) (*ScanStore, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("guard: scan results: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("guard: scan results: %s is not a directory", dir)
	}
	return &ScanStore{dir: dir, now: time.Now}, nil
}

// maxReport bounds one report read by the guard.
const maxReport = 256 << 20

var emptyScan = map[string]any{"configured": false, "found": false, "image_id": "", "critical": 0, "high": 0,
	"medium": 0, "low": 0, "total": 0, "age_hours": 0.0}

// verdict returns the image.scan map for the image ref (resolved to its ID
// on the daemon).
func (s *ScanStore) verdict(ctx context.Context, d Daemon, ref string) (map[string]any, error) {
	m := map[string]any{}
	for k, v := range emptyScan {
		m[k] = v
	}
	m["configured"] = true
	if ref == "" || d == nil {
		return m, nil
	}
	var img struct {
		ID string `json:"Id"`
	}
	if err := d.GetJSON(ctx, "/images/"+url.PathEscape(ref)+"/json", &img); err != nil {
		if errors.Is(err, errNotFound) {
			return m, nil // the daemon answers the create with 404 itself
		}
		return nil, fmt.Errorf("guard: inspecting image %s: %w", ref, err)
	}
	hexID := strings.TrimPrefix(img.ID, "sha256:")
	m["image_id"] = img.ID
	if hexID == "" || strings.ContainsAny(hexID, "/\\.") {
		return m, nil
	}
	f, err := os.Open(filepath.Join(s.dir, hexID+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("guard: scan results: %w", err)
	}
	defer f.Close()
	var rep struct {
		CreatedAt time.Time `json:"createdAt"`
		Target    struct {
			ImageID string `json:"imageId"`
		} `json:"target"`
		Findings []struct {
			Severity finding.Severity `json:"severity"`
		} `json:"findings"`
	}
	if err := json.NewDecoder(io.LimitReader(f, maxReport)).Decode(&rep); err != nil {
		return nil, fmt.Errorf("guard: scan report %s: %w", f.Name(), err)
	}
	if rep.Target.ImageID != img.ID {
		return nil, fmt.Errorf("guard: scan report %s describes image %q, not %s", f.Name(), rep.Target.ImageID, img.ID)
	}
	counts := map[finding.Severity]int{}
	for _, fd := range rep.Findings {
		counts[fd.Severity]++
	}
	m["found"] = true
	m["critical"], m["high"], m["medium"], m["low"] = counts[finding.Critical], counts[finding.High], counts[finding.Medium], counts[finding.Low]
	m["total"] = len(rep.Findings)
	m["age_hours"] = s.now().Sub(rep.CreatedAt).Hours()
	return m, nil
}
