// Package php registers the PHP composer.lock analyzer (osv-scalibr's language/php/composerlock extractor).
package php

import (
	composerlock "github.com/google/osv-scalibr/extractor/filesystem/language/php/composerlock"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/extract"
	"github.com/picket-cdr/picket/internal/inventory"
)

// Name of the analyzer.
const Name = "php"

func init() {
	analyzer.Register(extract.MustNew(Name, 1, inventory.Packagist, composerlock.New))
}
