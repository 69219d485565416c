package main

import "github.com/spf13/cobra"

func init() { registerCommand(newGuardCmd) }

// guardCommands holds the guard subcommands (docker, registry); each lives in
// its own file and registers itself with registerGuardCommand.
var guardCommands []func(*globalFlags) *cobra.Command

func registerGuardCommand(c func(*globalFlags) *cobra.Command) {
	guardCommands = append(guardCommands, c)
}

func newGuardCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "guard",
		Short: "Policy proxies in front of the Docker Engine API and OCI registries",
		Args:  cobra.NoArgs,
	}
	for _, c := range guardCommands {
		cmd.AddCommand(c(g))
	}
	return cmd
}
