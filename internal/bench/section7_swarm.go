package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// Section 7: swarm configuration. Every check SKIPs, with the reason, on
// hosts where swarm mode is not active, and the manager-only ones on
// workers.

func init() {
	register(
		&Check{ID: "7.1", Title: "Ensure that the minimum number of manager nodes have been created in a swarm", Level: 1, Scored: true,
			Remediation: "Keep an odd number of managers, as few as the fault tolerance you need allows (3 or 5); demote the others (docker node demote).",
			Run:         swarmCheck(true, checkManagers)},
		&Check{ID: "7.2", Title: "Ensure that swarm services are bound to a specific host interface", Level: 1, Scored: true,
			Remediation: "Initialise or join the swarm with --listen-addr and --advertise-addr on a specific interface.",
			Run:         swarmCheck(false, checkSwarmAddr)},
		&Check{ID: "7.3", Title: "Ensure that all Docker swarm overlay networks are encrypted", Level: 1, Scored: true,
			Remediation: "Create overlay networks with --opt encrypted.",
			Run:         swarmCheck(true, checkOverlayEncrypted)},
		&Check{ID: "7.4", Title: "Ensure that Docker's secret management commands are used for managing secrets in a swarm cluster", Level: 2, Scored: false,
			Remediation: "Store service secrets with docker secret create, not in images or environment variables.",
			Run:         swarmCheck(true, checkSwarmSecrets)},
		&Check{ID: "7.5", Title: "Ensure that swarm manager is run in auto-lock mode", Level: 1, Scored: true,
			Remediation: "docker swarm update --autolock=true",
			Run:         swarmCheck(true, checkAutolock)},
		&Check{ID: "7.6", Title: "Ensure that the swarm manager auto-lock key is rotated periodically", Level: 1, Scored: false,
			Remediation: "docker swarm unlock-key --rotate on a schedule.",
			Run: swarmCheck(true, func(context.Context, *Env, *swarm.Swarm) Outcome {
				return note("manual: rotate the unlock key periodically (docker swarm unlock-key --rotate)")
			})},
		&Check{ID: "7.7", Title: "Ensure that node certificates are rotated as appropriate", Level: 1, Scored: false,
			Remediation: "docker swarm update --cert-expiry to a period your policy sets (default 90 days).",
			Run:         swarmCheck(true, checkCertExpiry)},
		&Check{ID: "7.8", Title: "Ensure that CA certificates are rotated as appropriate", Level: 1, Scored: false,
			Remediation: "docker swarm ca --rotate on a schedule.",
			Run: swarmCheck(true, func(context.Context, *Env, *swarm.Swarm) Outcome {
				return note("manual: rotate the swarm CA periodically (docker swarm ca --rotate)")
			})},
		&Check{ID: "7.9", Title: "Ensure that management plane traffic is separated from data plane traffic", Level: 2, Scored: false,
			Remediation: "Join nodes with --data-path-addr on a separate interface from --advertise-addr.",
			Run:         swarmCheck(false, checkDataPath)},
	)
}

// swarmCheck runs fn only on active swarm nodes (managers when manager).
func swarmCheck(manager bool, fn func(context.Context, *Env, *swarm.Swarm) Outcome) func(context.Context, *Env) Outcome {
	return func(ctx context.Context, e *Env) Outcome {
		inf, err := e.Info(ctx)
		if err != nil {
			return skipErr("cannot ask the daemon", err)
		}
		if inf.Swarm.LocalNodeState != swarm.LocalNodeStateActive {
			return skip("swarm mode is not enabled (node state %s)", orInactive(string(inf.Swarm.LocalNodeState)))
		}
		if !manager {
			return fn(ctx, e, nil)
		}
		if !inf.Swarm.ControlAvailable {
			return skip("this node is a swarm worker: run the check on a manager")
		}
		cli, err := e.client()
		if err != nil {
			return skipErr("cannot ask the daemon", err)
		}
		c, cancel := e.reqCtx(ctx)
		defer cancel()
		sw, err := cli.SwarmInspect(c, client.SwarmInspectOptions{})
		if err != nil {
			return skipErr("cannot inspect the swarm", err)
		}
		return fn(ctx, e, &sw.Swarm)
	}
}

func checkManagers(ctx context.Context, e *Env, _ *swarm.Swarm) Outcome {
	inf, _ := e.Info(ctx)
	n := inf.Swarm.Managers
	switch {
	case n%2 == 0:
		return warn("%d managers: an even number adds no fault tolerance over %d", n, n-1).
			withItems([]Item{{Target: "swarm", Detail: fmt.Sprintf("%d managers", n)}})
	case n > 7:
		return warn("%d managers: more than 7 slows consensus", n).withItems([]Item{{Target: "swarm", Detail: fmt.Sprintf("%d managers", n)}})
	}
	return pass("%d managers", n)
}

func checkSwarmAddr(ctx context.Context, e *Env, _ *swarm.Swarm) Outcome {
	inf, _ := e.Info(ctx)
	switch inf.Swarm.NodeAddr {
	case "", "0.0.0.0", "::":
		return warn("swarm node address %q is not a specific interface", inf.Swarm.NodeAddr)
	}
	return info("swarm node address %s: confirm the swarm port 2377 listens only there (ss -lnt)", inf.Swarm.NodeAddr)
}

func checkOverlayEncrypted(ctx context.Context, e *Env, _ *swarm.Swarm) Outcome {
	cli, err := e.client()
	if err != nil {
		return skipErr("cannot ask the daemon", err)
	}
	c, cancel := e.reqCtx(ctx)
	defer cancel()
	nets, err := cli.NetworkList(c, client.NetworkListOptions{Filters: make(client.Filters).Add("driver", "overlay")})
	if err != nil {
		return skipErr("cannot list networks", err)
	}
	var items []Item
	for _, n := range nets.Items {
		if _, ok := n.Options["encrypted"]; !ok {
			items = append(items, Item{Target: n.Name, Detail: "overlay network without encryption"})
		}
	}
	if len(items) > 0 {
		return warn("%d of %d overlay networks unencrypted", len(items), len(nets.Items)).withItems(items)
	}
	return pass("%d overlay networks, all encrypted", len(nets.Items))
}

func checkSwarmSecrets(ctx context.Context, e *Env, _ *swarm.Swarm) Outcome {
	cli, err := e.client()
	if err != nil {
		return skipErr("cannot ask the daemon", err)
	}
	c, cancel := e.reqCtx(ctx)
	defer cancel()
	s, err := cli.SecretList(c, client.SecretListOptions{})
	if err != nil {
		return skipErr("cannot list secrets", err)
	}
	return note("manual: %d swarm secrets; confirm services take their secrets from them", len(s.Items))
}

func checkAutolock(_ context.Context, _ *Env, sw *swarm.Swarm) Outcome {
	if sw.Spec.EncryptionConfig.AutoLockManagers {
		return pass("managers auto-lock")
	}
	return warn("auto-lock is off: a stolen manager disk yields the raft keys").withItems([]Item{{Target: "swarm", Detail: "autolock=false"}})
}

func checkCertExpiry(_ context.Context, _ *Env, sw *swarm.Swarm) Outcome {
	d := sw.Spec.CAConfig.NodeCertExpiry
	if d == 0 {
		d = 90 * 24 * time.Hour
	}
	return info("node certificates expire after %s: confirm this matches your rotation policy", d)
}

func checkDataPath(ctx context.Context, e *Env, _ *swarm.Swarm) Outcome {
	inf, _ := e.Info(ctx)
	return note("manual: node address %s; confirm --data-path-addr separates data traffic", inf.Swarm.NodeAddr)
}
