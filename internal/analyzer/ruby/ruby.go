// Package ruby registers the Ruby installed gemspec analyzer (osv-scalibr's language/ruby/gemspec extractor).
package ruby

import (
	gemspec "github.com/google/osv-scalibr/extractor/filesystem/language/ruby/gemspec"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/extract"
	"github.com/picket-cdr/picket/internal/inventory"
)

// Name of the analyzer.
const Name = "ruby"

func init() {
	analyzer.Register(extract.MustNew(Name, 1, inventory.RubyGems, gemspec.New))
}
