package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/pflag"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/hashes"
	"github.com/picket-cdr/picket/internal/analyzer/secret"
	"github.com/picket-cdr/picket/internal/analyzer/yara"
)

// contentFlags configure the content analyzers' rules: YARA rule files,
// secret rules (a gitleaks configuration), hash blocklists and ssdeep lists.
type contentFlags struct {
	yaraRules        []string
	yaraSkipInvalid  bool
	noDefaultYara    bool
	secretConfig     []string
	noBuiltinSecrets bool
	secretAllowPaths []string
	hashBlocklists   []string
	fuzzyLists       []string
	fuzzyThreshold   int
}

func (c *contentFlags) addFlags(fl *pflag.FlagSet) {
	fl.StringSliceVar(&c.yaraRules, "yara-rules", nil, "YARA rule files or directories (searched for *.yar, *.yara) used besides the built-in rules")
	fl.BoolVar(&c.yaraSkipInvalid, "yara-skip-invalid", false, "leave out --yara-rules files that do not compile (with a warning) instead of failing")
	fl.BoolVar(&c.noDefaultYara, "no-default-yara-rules", false, "use only the --yara-rules files")
	fl.StringSliceVar(&c.secretConfig, "secret-config", nil, "gitleaks-format TOML files whose rules and allowlists are added to the secret rules")
	fl.BoolVar(&c.noBuiltinSecrets, "no-builtin-secret-rules", false, "use only the --secret-config rules")
	fl.StringSliceVar(&c.secretAllowPaths, "secret-allow-paths", nil, "regular expressions of paths the secret scan skips (e.g. ^/opt/app/fixtures/)")
	fl.StringSliceVar(&c.hashBlocklists, "hash-blocklist", nil, "files of known-bad SHA-256 hashes (\"HASH [name]\" per line) used besides the built-in list")
	fl.StringSliceVar(&c.fuzzyLists, "fuzzy-list", nil, "files of known-bad ssdeep hashes (\"SSDEEP [name]\" per line) used besides the built-in list")
	fl.IntVar(&c.fuzzyThreshold, "fuzzy-threshold", hashes.DefaultThreshold, "least ssdeep similarity (1-100) reported as a match")
}

// configure applies the flags to the content analyzers that run (on names
// the --scanners categories in use) and returns the file analyzers with the
// secret analyzer replaced when it was configured. In builds without libyara
// or libfuzzy it warns that the analysis is unavailable, and refuses rule
// files it cannot use.
func (c *contentFlags) configure(log *slog.Logger, as []analyzer.Analyzer, malware, secrets bool) ([]analyzer.Analyzer, error) {
	if c.fuzzyThreshold < 1 || c.fuzzyThreshold > 100 {
		return nil, fmt.Errorf("--fuzzy-threshold: %d is not between 1 and 100", c.fuzzyThreshold)
	}
	if malware {
		if err := yara.Unavailable(); err != nil {
			if len(c.yaraRules) > 0 || c.noDefaultYara {
				return nil, fmt.Errorf("--yara-rules: %w", err)
			}
			log.Warn("YARA analysis is unavailable in this build; malware is looked for by hashes, ELF and web-shell analysis only", "reason", err)
		} else if len(c.yaraRules) > 0 || c.noDefaultYara || c.yaraSkipInvalid {
			opts := yara.Options{NoDefaultRules: c.noDefaultYara, SkipInvalid: c.yaraSkipInvalid}
			for _, p := range c.yaraRules {
				st, err := os.Stat(p)
				if err != nil {
					return nil, fmt.Errorf("--yara-rules: %w", err)
				}
				if st.IsDir() {
					opts.RuleDirs = append(opts.RuleDirs, p)
				} else {
					opts.RuleFiles = append(opts.RuleFiles, p)
				}
			}
			if err := yara.Configure(opts); err != nil {
				return nil, fmt.Errorf("--yara-rules: %w", err)
			}
			for _, w := range yara.Default().Warnings() {
				log.Warn("YARA rules", "warning", w)
			}
		}
		fuzzyErr := hashes.FuzzyUnavailable()
		if fuzzyErr != nil {
			if len(c.fuzzyLists) > 0 {
				return nil, fmt.Errorf("--fuzzy-list: %w", fuzzyErr)
			}
			log.Warn("ssdeep fuzzy hashing is unavailable in this build; SHA-256 blocklists still apply", "reason", fuzzyErr)
		}
		if len(c.hashBlocklists) > 0 || len(c.fuzzyLists) > 0 || c.fuzzyThreshold != hashes.DefaultThreshold {
			err := hashes.Configure(hashes.Options{
				BlocklistFiles: c.hashBlocklists,
				FuzzyFiles:     c.fuzzyLists,
				Threshold:      c.fuzzyThreshold,
			})
			if err != nil {
				return nil, fmt.Errorf("--hash-blocklist/--fuzzy-list: %w", err)
			}
		}
	}
	if !secrets || len(c.secretConfig) == 0 && !c.noBuiltinSecrets && len(c.secretAllowPaths) == 0 {
		return as, nil
	}
	var opts []secret.Option
	for _, p := range c.secretConfig {
		opts = append(opts, secret.WithGitleaksConfig(p))
	}
	if c.noBuiltinSecrets {
		if len(c.secretConfig) == 0 {
			return nil, errors.New("--no-builtin-secret-rules needs --secret-config")
		}
		opts = append(opts, secret.WithoutBuiltinRules())
	}
	if len(c.secretAllowPaths) > 0 {
		opts = append(opts, secret.WithAllowPaths(c.secretAllowPaths...))
	}
	sa, err := secret.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("--secret-config: %w", err)
	}
	out := make([]analyzer.Analyzer, len(as))
	for i, a := range as {
		out[i] = a
		if a.Name() == secret.Name {
			out[i] = sa
		}
	}
	return out, nil
}
