// Package all links every analyzer into the binary: import it for effect.
package all

import (
	_ "github.com/picket-cdr/picket/internal/analyzer/accounts"  // passwd, shadow, group
	_ "github.com/picket-cdr/picket/internal/analyzer/apk"       // apk packages
	_ "github.com/picket-cdr/picket/internal/analyzer/apkfiles"  // apk file ownership
	_ "github.com/picket-cdr/picket/internal/analyzer/busybox"   // static busybox binaries
	_ "github.com/picket-cdr/picket/internal/analyzer/dotnet"    // .NET deps.json
	_ "github.com/picket-cdr/picket/internal/analyzer/dpkg"      // Debian packages
	_ "github.com/picket-cdr/picket/internal/analyzer/dpkgfiles" // dpkg file ownership
	_ "github.com/picket-cdr/picket/internal/analyzer/elf"       // ELF packers, miners, rootkit strings
	_ "github.com/picket-cdr/picket/internal/analyzer/fscheck"   // setuid, world-writable, stray files, size
	_ "github.com/picket-cdr/picket/internal/analyzer/gobinary"  // Go binaries
	_ "github.com/picket-cdr/picket/internal/analyzer/hashes"    // SHA-256 blocklist, ssdeep
	_ "github.com/picket-cdr/picket/internal/analyzer/history"   // config and history lint
	_ "github.com/picket-cdr/picket/internal/analyzer/java"      // Java archives
	_ "github.com/picket-cdr/picket/internal/analyzer/npm"       // npm packages
	_ "github.com/picket-cdr/picket/internal/analyzer/osrelease" // distro identification
	_ "github.com/picket-cdr/picket/internal/analyzer/php"       // composer.lock
	_ "github.com/picket-cdr/picket/internal/analyzer/python"    // Python packages
	_ "github.com/picket-cdr/picket/internal/analyzer/rpm"       // RPM packages
	_ "github.com/picket-cdr/picket/internal/analyzer/rpmfiles"  // rpm file ownership
	_ "github.com/picket-cdr/picket/internal/analyzer/ruby"      // Ruby gems
	_ "github.com/picket-cdr/picket/internal/analyzer/rust"      // cargo-auditable binaries
	_ "github.com/picket-cdr/picket/internal/analyzer/secret"    // secrets
	_ "github.com/picket-cdr/picket/internal/analyzer/webshell"  // webshells
	_ "github.com/picket-cdr/picket/internal/analyzer/yara"      // YARA (cgo + libyara)
)
