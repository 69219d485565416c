// Package suppress decides which findings a user has accepted: an ignore
// file (ids with a reason, an optional expiry and optional package or path
// scopes) and OpenVEX documents whose "not_affected" or "fixed" statements
// suppress a vulnerability for the products they name. Suppressed findings
// are kept aside with the reason, never silently dropped.
package suppress

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/package-url/packageurl-go"
	"gopkg.in/yaml.v3"

	"github.com/picket-cdr/picket/internal/finding"
)

// Suppressed is a finding with why it was set aside.
type Suppressed struct {
	Finding *finding.Finding `json:"finding"`
	Source  string           `json:"source"` // "ignore-file:PATH" or "vex:PATH"
	Status  string           `json:"status,omitempty"`
	Reason  string           `json:"reason"`
	// Justification is the OpenVEX justification label, for VEX statements.
	Justification string `json:"justification,omitempty"`
}

// Rule is one ignore-file entry.
type Rule struct {
	ID       string    `yaml:"id"`
	Reason   string    `yaml:"reason"`
	Expires  string    `yaml:"expires,omitempty"` // YYYY-MM-DD; the rule stops applying after that day
	Packages []string  `yaml:"packages,omitempty"`
	Paths    []string  `yaml:"paths,omitempty"` // path.Match patterns, matched against the path and its parents
	expires  time.Time `yaml:"-"`
}

// Set holds the loaded ignore rules and VEX statements.
type Set struct {
	rules  []Rule
	origin string
	vex    []statement
	now    func() time.Time
}

// New returns an empty set.
func New() *Set { return &Set{now: time.Now} }

// LoadIgnoreFile reads an ignore file: YAML ("ignore: [{id, reason,
// expires, packages, paths}]") or plain lines ("CVE-2023-1234  # reason").
func (s *Set) LoadIgnoreFile(p string) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("suppress: %w", err)
	}
	s.origin = "ignore-file:" + p
	var doc struct {
		Ignore []Rule `yaml:"ignore"`
	}
	if isYAML(b) {
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("suppress: %s: %w", p, err)
		}
	} else {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			id, reason, _ := strings.Cut(line, "#")
			id = strings.TrimSpace(id)
			if strings.ContainsAny(id, " \t") {
				return fmt.Errorf("suppress: %s:%d: one id per line, got %q", p, n, id)
			}
			doc.Ignore = append(doc.Ignore, Rule{ID: id, Reason: strings.TrimSpace(reason)})
		}
	}
	for i, r := range doc.Ignore {
		if r.ID == "" {
			return fmt.Errorf("suppress: %s: entry %d has no id", p, i+1)
		}
		if r.Expires != "" {
			t, err := time.Parse("2006-01-02", r.Expires)
			if err != nil {
				return fmt.Errorf("suppress: %s: %s: expires %q is not YYYY-MM-DD", p, r.ID, r.Expires)
			}
			r.expires = t.Add(24 * time.Hour) // through the end of that day
		}
		for _, pat := range r.Paths {
			if _, err := path.Match(pat, "/"); err != nil {
				return fmt.Errorf("suppress: %s: %s: bad path pattern %q: %w", p, r.ID, pat, err)
			}
		}
		if r.Reason == "" {
			r.Reason = "listed in the ignore file"
		}
		s.rules = append(s.rules, r)
	}
	return nil
}

func isYAML(b []byte) bool {
	t := bytes.TrimSpace(b)
	return bytes.HasPrefix(t, []byte("ignore:")) || bytes.Contains(b, []byte("\nignore:")) || bytes.HasPrefix(t, []byte("---"))
}

// Apply splits findings into those kept and those suppressed. ids lists,
// per finding, every id it is known by (its rule id and aliases).
func (s *Set) Apply(fs []*finding.Finding, ids func(*finding.Finding) []string) (kept []*finding.Finding, out []Suppressed) {
	for _, f := range fs {
		if sp, ok := s.match(f, ids(f)); ok {
			out = append(out, sp)
			continue
		}
		kept = append(kept, f)
	}
	return kept, out
}

func (s *Set) match(f *finding.Finding, ids []string) (Suppressed, bool) {
	has := func(id string) bool {
		for _, x := range ids {
			if strings.EqualFold(x, id) {
				return true
			}
		}
		return false
	}
	for _, r := range s.rules {
		if !has(r.ID) {
			continue
		}
		if !r.expires.IsZero() && s.now().After(r.expires) {
			continue
		}
		if len(r.Packages) > 0 && !contains(r.Packages, f.Attributes["package"]) {
			continue
		}
		if len(r.Paths) > 0 && !matchAny(r.Paths, f.Location.Path) {
			continue
		}
		reason := r.Reason
		if r.Expires != "" {
			reason += " (until " + r.Expires + ")"
		}
		return Suppressed{Finding: f, Source: s.origin, Status: "ignored", Reason: reason}, true
	}
	for _, st := range s.vex {
		if st.status != "not_affected" && st.status != "fixed" {
			continue
		}
		if !has(st.vuln) && !anyIn(st.aliases, ids) {
			continue
		}
		if !st.appliesTo(f.Attributes["purl"]) {
			continue
		}
		reason := st.status
		if st.justification != "" {
			reason += ": " + st.justification
		}
		if st.impact != "" {
			reason += " — " + st.impact
		}
		return Suppressed{Finding: f, Source: st.origin, Status: st.status, Reason: reason, Justification: st.justification}, true
	}
	return Suppressed{}, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func anyIn(a, b []string) bool {
	for _, x := range a {
		if contains(b, x) {
			return true
		}
	}
	return false
}

// matchAny reports whether p, or a directory above it, matches one of the
// path.Match patterns: "/app/*" covers everything under /app.
func matchAny(pats []string, p string) bool {
	for _, pat := range pats {
		for q := p; q != "/" && q != "." && q != ""; q = path.Dir(q) {
			if ok, _ := path.Match(pat, q); ok {
				return true
			}
		}
	}
	return false
}

// statement is one OpenVEX statement, flattened.
type statement struct {
	origin        string
	vuln          string
	aliases       []string
	products      []string // product and subcomponent purls; empty = every product
	status        string
	justification string
	impact        string
}

// LoadVEX reads an OpenVEX document (v0.0.1 and v0.2.0 shapes).
func (s *Set) LoadVEX(p string) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("suppress: %w", err)
	}
	var doc struct {
		Context    string `json:"@context"`
		Statements []struct {
			Vulnerability json.RawMessage   `json:"vulnerability"`
			Products      []json.RawMessage `json:"products"`
			Status        string            `json:"status"`
			Justification string            `json:"justification"`
			Impact        string            `json:"impact_statement"`
		} `json:"statements"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("suppress: %s: not an OpenVEX document: %w", p, err)
	}
	if !strings.Contains(doc.Context, "openvex") {
		return fmt.Errorf("suppress: %s: @context %q is not OpenVEX", p, doc.Context)
	}
	for i, st := range doc.Statements {
		out := statement{origin: "vex:" + p, status: st.Status, justification: st.Justification, impact: st.Impact}
		switch st.Status {
		case "not_affected", "affected", "fixed", "under_investigation":
		default:
			return fmt.Errorf("suppress: %s: statement %d: unknown status %q", p, i+1, st.Status)
		}
		var name string
		if json.Unmarshal(st.Vulnerability, &name) != nil {
			var v struct {
				ID      string   `json:"@id"`
				Name    string   `json:"name"`
				Aliases []string `json:"aliases"`
			}
			if err := json.Unmarshal(st.Vulnerability, &v); err != nil {
				return fmt.Errorf("suppress: %s: statement %d: vulnerability: %w", p, i+1, err)
			}
			name, out.aliases = v.Name, v.Aliases
			if name == "" {
				name = v.ID
			}
		}
		if name == "" {
			return fmt.Errorf("suppress: %s: statement %d names no vulnerability", p, i+1)
		}
		out.vuln = name
		for _, raw := range st.Products {
			var id string
			if json.Unmarshal(raw, &id) == nil {
				out.products = append(out.products, id)
				continue
			}
			var prod struct {
				ID            string `json:"@id"`
				Subcomponents []struct {
					ID string `json:"@id"`
				} `json:"subcomponents"`
			}
			if err := json.Unmarshal(raw, &prod); err != nil {
				return fmt.Errorf("suppress: %s: statement %d: product: %w", p, i+1, err)
			}
			if len(prod.Subcomponents) == 0 {
				out.products = append(out.products, prod.ID)
			}
			for _, sc := range prod.Subcomponents {
				out.products = append(out.products, sc.ID)
			}
		}
		s.vex = append(s.vex, out)
	}
	return nil
}

// appliesTo matches a package purl against the statement's products: the
// same purl, or the same package with the product naming no version.
// Image-level products (pkg:oci/...) without subcomponents cover every
// package of the image.
func (st statement) appliesTo(pkgPURL string) bool {
	if len(st.products) == 0 {
		return true
	}
	pp, perr := packageurl.FromString(pkgPURL)
	for _, prod := range st.products {
		if prod == pkgPURL {
			return true
		}
		q, err := packageurl.FromString(prod)
		if err != nil {
			continue
		}
		if q.Type == "oci" || q.Type == "docker" {
			return true
		}
		if perr != nil {
			continue
		}
		if q.Type == pp.Type && q.Namespace == pp.Namespace && q.Name == pp.Name && (q.Version == "" || q.Version == pp.Version) {
			return true
		}
	}
	return false
}
