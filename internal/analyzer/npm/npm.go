// Package npm registers the npm package.json analyzer (osv-scalibr's language/javascript/packagejson extractor).
package npm

import (
	"strings"

	"github.com/google/osv-scalibr/extractor"
	packagejson "github.com/google/osv-scalibr/extractor/filesystem/language/javascript/packagejson"
	"github.com/package-url/packageurl-go"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/extract"
	"github.com/picket-cdr/picket/internal/inventory"
)

// Name of the analyzer.
const Name = "npm"

func init() {
	analyzer.Register(extract.MustNew(Name, 1, inventory.NPM, packagejson.New, extract.WithConverter(convert)))
}

// convert drops scalibr's "source=UNKNOWN" qualifier: a package.json
// found in an image says nothing about the registry it came from.
func convert(in *extractor.Package, out *inventory.Package) {
	ns, name := "", in.Name
	if strings.HasPrefix(name, "@") {
		if i := strings.IndexByte(name, '/'); i > 0 {
			ns, name = name[:i], name[i+1:]
		}
	}
	out.PURL = packageurl.NewPackageURL(packageurl.TypeNPM, ns, name, in.Version, nil, "").ToString()
}
