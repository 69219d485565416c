package scan

import (
	"context"
	"fmt"
	"time"

	"github.com/picket-cdr/picket/internal/match"
	"github.com/picket-cdr/picket/internal/report"
	"github.com/picket-cdr/picket/internal/vulndb"
)

// WithVulnDB makes scans match the inventory against db. Data older than
// maxAge (0: never) marks the report's database "stale".
func WithVulnDB(db *vulndb.DB, maxAge time.Duration) Option {
	return func(o *Options) { o.VulnDB, o.VulnMaxAge = db, maxAge }
}

// matchVulns adds vulnerability findings to rep.
func (s *Scanner) matchVulns(ctx context.Context, rep *report.Report) error {
	db := s.opts.VulnDB
	fs, st, err := match.New(db).Match(ctx, rep.Packages, rep.Target.Distro, rep.Target.Name)
	if err != nil {
		return fmt.Errorf("scan: vulnerabilities: %w", err)
	}
	for _, f := range fs {
		f.Location.Image = rep.Target.Name
	}
	rep.Findings = append(rep.Findings, fs...)
	info := &report.VulnDB{
		Status:      "ok",
		UpdatedAt:   db.Oldest(),
		Packages:    st.Packages,
		Unsupported: st.Unsupported,
		Errors:      st.Errors,
		ErrorSample: st.ErrorSample,
		OwnedByOS:   st.OwnedByOS,
	}
	for _, src := range db.Sources() {
		info.Sources = append(info.Sources, src.Name)
	}
	if s.opts.VulnMaxAge > 0 && time.Since(info.UpdatedAt) > s.opts.VulnMaxAge {
		info.Status = "stale"
		s.opts.Logger.Warn("vulnerability database is older than --db-max-age", "updated", info.UpdatedAt, "max-age", s.opts.VulnMaxAge)
	}
	rep.VulnDB = info
	return nil
}
