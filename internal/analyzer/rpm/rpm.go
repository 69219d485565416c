// Package rpm registers the RPM database (Berkeley DB, NDB and SQLite rpmdb) analyzer (osv-scalibr's os/rpm extractor).
package rpm

import (
	"strconv"
	"strings"

	"github.com/google/osv-scalibr/extractor"
	rpmx "github.com/google/osv-scalibr/extractor/filesystem/os/rpm"
	rpmmeta "github.com/google/osv-scalibr/extractor/filesystem/os/rpm/metadata"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/extract"
	"github.com/picket-cdr/picket/internal/inventory"
)

// Name of the analyzer.
const Name = "rpm"

func init() {
	analyzer.Register(extract.MustNew(Name, 1, inventory.RPM, rpmx.New, extract.WithConverter(convert)))
}

func convert(in *extractor.Package, out *inventory.Package) {
	m, ok := in.Metadata.(*rpmmeta.Metadata)
	if !ok {
		return
	}
	out.Arch = m.Architecture
	out.SourceName = sourceName(m.SourceRPM)
	if m.Epoch > 0 {
		out.Extra = map[string]string{"epoch": strconv.Itoa(m.Epoch)}
	}
}

// sourceName extracts the name from a source rpm file name
// ("bash-5.1.8-6.el9.src.rpm" -> "bash").
func sourceName(srpm string) string {
	s := strings.TrimSuffix(srpm, ".src.rpm")
	// name-version-release: drop the last two dash-separated fields.
	for range 2 {
		i := strings.LastIndexByte(s, '-')
		if i <= 0 {
			return ""
		}
		s = s[:i]
	}
	return s
}
