package secret

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
)

type benchFile struct {
	path string
	data []byte
}

// goSources returns up to limit bytes of the Go distribution's sources: real
// text full of "key", "token", "secret" and "password".
func goSources(b *testing.B, limit int) []benchFile {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		b.Skipf("no go tool: %v", err)
	}
	root := filepath.Join(strings.TrimSpace(string(out)), "src")
	var files []benchFile
	total := 0
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || total >= limit {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		files = append(files, benchFile{"/usr/local/go/src/" + strings.TrimPrefix(p, root), data})
		total += len(data)
		return nil
	})
	if total == 0 {
		b.Skip("no Go sources")
	}
	return files
}

func benchAnalyze(b *testing.B, a *Analyzer, files []benchFile) {
	var total int64
	for _, f := range files {
		total += int64(len(f.data))
	}
	b.SetBytes(total)
	b.ResetTimer()
	for range b.N {
		for _, f := range files {
			if _, err := a.Analyze(context.Background(), analyzertest.Input(f.path, f.data, 0o644)); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkAnalyzeGoSources: built-in rules over 32 MiB of Go sources.
func BenchmarkAnalyzeGoSources(b *testing.B) {
	benchAnalyze(b, MustNew(WithoutDefaultAllowlist()), goSources(b, 32<<20))
}

// BenchmarkAnalyzeGoSourcesGitleaks: gitleaks' 222 rules instead.
func BenchmarkAnalyzeGoSourcesGitleaks(b *testing.B) {
	p := sharedGitleaks(b)
	benchAnalyze(b, MustNew(WithoutBuiltinRules(), WithoutDefaultAllowlist(), WithGitleaksConfig(p)), goSources(b, 32<<20))
}

// BenchmarkAnalyzeEnvFile: a small secret-bearing file, the common case
// for per-file overhead.
func BenchmarkAnalyzeEnvFile(b *testing.B) {
	text := expand(b, "PORT=8080\nDB_PASSWORD={{an:16}}\nGITHUB_TOKEN=ghp_{{an:36}}\nAWS_SECRET_ACCESS_KEY={{b64:40}}\nDEBUG=false\n", "bench")
	benchAnalyze(b, MustNew(), []benchFile{{"/app/.env", []byte(text)}})
}
