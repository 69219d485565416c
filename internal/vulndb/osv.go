package vulndb

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// maxRecordSize bounds one OSV JSON document (the largest real ones are a
// few hundred KiB: long version lists).
const maxRecordSize = 16 << 20

// osvJSON mirrors the OSV schema fields Picket reads.
type osvJSON struct {
	ID        string     `json:"id"`
	Aliases   []string   `json:"aliases"`
	Related   []string   `json:"related"`
	Summary   string     `json:"summary"`
	Details   string     `json:"details"`
	Published string     `json:"published"`
	Modified  string     `json:"modified"`
	Withdrawn string     `json:"withdrawn"`
	Severity  []Severity `json:"severity"`
	Affected  []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
			PURL      string `json:"purl"`
		} `json:"package"`
		Severity          []Severity      `json:"severity"`
		Ranges            []Range         `json:"ranges"`
		Versions          []string        `json:"versions"`
		EcosystemSpecific json.RawMessage `json:"ecosystem_specific"`
		DatabaseSpecific  json.RawMessage `json:"database_specific"`
	} `json:"affected"`
	References []struct {
		URL string `json:"url"`
	} `json:"references"`
	DatabaseSpecific json.RawMessage `json:"database_specific"`
}

// ParseOSV parses one OSV JSON record. It rejects documents without an id
// or an affected package, ranges without events and events with no field
// set, so that a malformed feed fails loudly instead of matching nothing.
func ParseOSV(b []byte) (*Record, error) {
	if len(b) > maxRecordSize {
		return nil, fmt.Errorf("%w: record larger than %d bytes", ErrInvalidRecord, maxRecordSize)
	}
	var j osvJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRecord, err)
	}
	if strings.TrimSpace(j.ID) == "" {
		return nil, fmt.Errorf("%w: no id", ErrInvalidRecord)
	}
	r := &Record{
		ID:       j.ID,
		Aliases:  j.Aliases,
		Related:  j.Related,
		Summary:  j.Summary,
		Details:  truncate(j.Details, 512),
		Severity: j.Severity,
	}
	var err error
	if r.Published, err = parseTime(j.Published); err != nil {
		return nil, fmt.Errorf("%w: %s: published: %v", ErrInvalidRecord, j.ID, err)
	}
	if r.Modified, err = parseTime(j.Modified); err != nil {
		return nil, fmt.Errorf("%w: %s: modified: %v", ErrInvalidRecord, j.ID, err)
	}
	if j.Withdrawn != "" {
		w, err := parseTime(j.Withdrawn)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: withdrawn: %v", ErrInvalidRecord, j.ID, err)
		}
		r.Withdrawn = &w
	}
	for _, ref := range j.References {
		if ref.URL != "" {
			r.References = append(r.References, ref.URL)
		}
	}
	r.DatabaseSeverity = qualitative(j.DatabaseSpecific)
	for i, a := range j.Affected {
		if a.Package.Ecosystem == "" || a.Package.Name == "" {
			if a.Package.PURL == "" {
				return nil, fmt.Errorf("%w: %s: affected[%d] names no package", ErrInvalidRecord, j.ID, i)
			}
			continue // purl-only entries carry nothing Picket can match on
		}
		for k, rg := range a.Ranges {
			if len(rg.Events) == 0 {
				return nil, fmt.Errorf("%w: %s: affected[%d].ranges[%d] has no events", ErrInvalidRecord, j.ID, i, k)
			}
			for _, e := range rg.Events {
				n := 0
				for _, v := range []string{e.Introduced, e.Fixed, e.LastAffected, e.Limit} {
					if v != "" {
						n++
					}
				}
				if n != 1 {
					return nil, fmt.Errorf("%w: %s: affected[%d].ranges[%d]: an event must set exactly one field", ErrInvalidRecord, j.ID, i, k)
				}
			}
		}
		af := Affected{
			Package:  Package{Ecosystem: a.Package.Ecosystem, Name: a.Package.Name, PURL: a.Package.PURL},
			Ranges:   a.Ranges,
			Versions: a.Versions,
			Severity: a.Severity,
		}
		af.EcosystemSeverity = qualitative(a.EcosystemSpecific)
		if af.EcosystemSeverity == "" {
			af.EcosystemSeverity = qualitative(a.DatabaseSpecific)
		}
		r.Affected = append(r.Affected, af)
	}
	if len(r.Affected) == 0 && r.Withdrawn == nil {
		return nil, fmt.Errorf("%w: %s: no affected package", ErrInvalidRecord, j.ID)
	}
	return r, nil
}

// qualitative reads a feed's own severity word from database_specific or
// ecosystem_specific: GHSA "severity", Debian "urgency", Ubuntu "priority".
func qualitative(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	for _, k := range []string{"severity", "urgency", "priority"} {
		if s, ok := m[k].(string); ok && s != "" {
			return strings.ToUpper(strings.TrimSpace(s))
		}
	}
	return ""
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
