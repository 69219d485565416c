package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/picket-cdr/picket/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

type globalFlags struct {
	configPath string
	logLevel   string
	cfg        *config.File
	logger     *slog.Logger
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "picket",
		Short: "Container detection and response: scan images, guard registries and daemons, check hosts, watch runtime",
		Long: `Picket guards the life of a container in one binary.

  picket scan image        deep scan of an image: packages, SBOM, vulnerabilities,
                           secrets, malware, web shells, misconfigurations
  picket db                the vulnerability database: update, import, status
  picket guard docker      policy proxy and AuthZ plugin for the Docker Engine API
  picket guard registry    hardening proxy in front of an OCI registry
  picket audit verify      check a guard's hash-chained audit log
  picket bench docker      CIS Docker Benchmark checks of this host and its daemon
  picket bench exposure    find Docker, Kubernetes and registry APIs open to anyone
  picket agent             runtime sensor, container attribution, rules and alerts
  picket version           print the version

Settings come from flags, then PICKET_<FLAG> environment variables (e.g.
PICKET_FORMAT=json, PICKET_CACHE_DIR=/tmp/c), then the config file
(default ` + config.DefaultPath() + `, or --config), then defaults.

Exit codes: 0 success, 1 a --fail-on policy failed, 2 error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			explicit := cmd.Flags().Changed("config")
			p := g.configPath
			if !explicit {
				if v, ok := os.LookupEnv(config.EnvPrefix + "CONFIG"); ok {
					p, explicit = v, true
				}
			}
			cfg, err := config.Load(p, explicit)
			if err != nil {
				return err
			}
			g.cfg = cfg
			path := strings.Fields(cmd.CommandPath())[1:]
			if err := config.Apply(cmd.Flags(), path, cfg); err != nil {
				return err
			}
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			g.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
			return nil
		},
	}
	root.PersistentFlags().StringVar(&g.configPath, "config", config.DefaultPath(), "config file (YAML)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	root.AddCommand(newScanCmd(g), newDBCmd(g), newVersionCmd())
	for _, c := range commands {
		root.AddCommand(c(g))
	}
	return root
}

// commands holds the top-level commands that live in their own files
// (guard, agent, bench, audit, ...); each file registers its constructor with
// registerCommand from an init function.
var commands []func(*globalFlags) *cobra.Command

func registerCommand(c func(*globalFlags) *cobra.Command) { commands = append(commands, c) }

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "picket %s\n", buildVersion())
			return nil
		},
	}
}
