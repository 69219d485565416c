package vulndb

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// secdbDoc is Alpine's security database, as YAML or JSON (the JSON form
// has the same keys).
type secdbDoc struct {
	DistroVersion string `yaml:"distroversion" json:"distroversion"`
	RepoName      string `yaml:"reponame" json:"reponame"`
	Packages      []struct {
		Pkg struct {
			Name     string              `yaml:"name" json:"name"`
			Secfixes map[string][]string `yaml:"secfixes" json:"secfixes"`
		} `yaml:"pkg" json:"pkg"`
	} `yaml:"packages" json:"packages"`
}

// idPattern finds advisory ids in secfixes entries, which may carry notes
// ("CVE-2019-1234 (ARM only)") or several ids on one line.
var idPattern = regexp.MustCompile(`\b(?:CVE-\d{4}-\d{4,}|XSA-\d+|ZBX-\d+|GHSA(?:-[0-9a-z]{4}){3}|OSV-\d{4}-\d+)\b`)

// maxSecdbSize bounds one secdb file (real ones are under 1 MiB).
const maxSecdbSize = 64 << 20

// ParseSecDB converts an Alpine secdb document into records in the
// "Alpine:vX.Y" ecosystem, one per advisory id with an affected entry per
// source package: vulnerable from the beginning, fixed in the listed
// version. A fixed version "0" means the package was never affected and
// yields no entry. It also returns the document's "secdb/vX.Y/repo" name.
func ParseSecDB(b []byte) ([]*Record, string, error) {
	if len(b) > maxSecdbSize {
		return nil, "", fmt.Errorf("%w: secdb larger than %d bytes", ErrInvalidRecord, maxSecdbSize)
	}
	var d secdbDoc
	var err error
	if trimmed := strings.TrimSpace(string(b)); strings.HasPrefix(trimmed, "{") {
		err = json.Unmarshal(b, &d)
	} else {
		err = yaml.Unmarshal(b, &d)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%w: secdb: %v", ErrInvalidRecord, err)
	}
	if !strings.HasPrefix(d.DistroVersion, "v") || d.RepoName == "" {
		return nil, "", fmt.Errorf("%w: secdb: missing or bad distroversion %q / reponame %q", ErrInvalidRecord, d.DistroVersion, d.RepoName)
	}
	eco := "Alpine:" + d.DistroVersion
	byID := map[string]*Record{}
	for _, p := range d.Packages {
		name := strings.TrimSpace(p.Pkg.Name)
		if name == "" {
			return nil, "", fmt.Errorf("%w: secdb %s: package without a name", ErrInvalidRecord, eco)
		}
		for fixed, ids := range p.Pkg.Secfixes {
			fixed = strings.TrimSpace(fixed)
			if fixed == "" || fixed == "0" {
				continue
			}
			for _, entry := range ids {
				for _, id := range idPattern.FindAllString(entry, -1) {
					r := byID[id]
					if r == nil {
						r = &Record{ID: id, References: []string{"https://security.alpinelinux.org/vuln/" + id}}
						byID[id] = r
					}
					r.Affected = append(r.Affected, Affected{
						Package: Package{Ecosystem: eco, Name: name},
						Ranges:  []Range{{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}, {Fixed: fixed}}}},
					})
				}
			}
		}
	}
	out := make([]*Record, 0, len(byID))
	for _, r := range byID {
		sort.Slice(r.Affected, func(i, j int) bool {
			a, b := r.Affected[i], r.Affected[j]
			if a.Package.Name != b.Package.Name {
				return a.Package.Name < b.Package.Name
			}
			return a.Ranges[0].Events[1].Fixed < b.Ranges[0].Events[1].Fixed
		})
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, "secdb/" + d.DistroVersion + "/" + d.RepoName, nil
}

// kevDoc is CISA's catalogue.
type kevDoc struct {
	CatalogVersion  string `json:"catalogVersion"`
	Vulnerabilities []KEV  `json:"vulnerabilities"`
}

// ParseKEV parses the CISA KEV catalogue JSON.
func ParseKEV(b []byte) ([]KEV, string, error) {
	var d kevDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, "", fmt.Errorf("%w: kev: %v", ErrInvalidRecord, err)
	}
	if d.CatalogVersion == "" || d.Vulnerabilities == nil {
		return nil, "", fmt.Errorf("%w: kev: not a KEV catalogue (no catalogVersion or vulnerabilities)", ErrInvalidRecord)
	}
	out := d.Vulnerabilities[:0]
	for _, v := range d.Vulnerabilities {
		if strings.HasPrefix(v.CVE, "CVE-") {
			out = append(out, v)
		}
	}
	return out, d.CatalogVersion, nil
}
