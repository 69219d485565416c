#!/usr/bin/env bash
# Registry guard benchmark: `picket guard registry` against the registry it
# fronts, measured in the same run.
#
#   bench/guard-registry.sh                    # from the repository root
#   LAYER_MIB=200 REQUESTS=500 RUNS=5 AUDIT_SYNC=1s bench/guard-registry.sh
#
# Starts Debian's docker-registry (apt-get installs docker-registry when
# missing and running as root) and `picket guard registry serve` (built into
# .bench/bin) on loopback ports, then (bench/guard-registry/main.go):
#
#   1. uploads a LAYER_MIB (500) MiB random blob straight to the upstream and
#      pulls it RUNS (3) times directly, through the guard, and through a
#      second guard started with --blob-storage (the registry's storage
#      root: blobs sent from its files) as the ungated scanner identity:
#      best throughput of each, the ratios to direct (target >= 0.9), and
#      the first guard's RSS before and at its
#      peak during the pulls (sampled every 20 ms from /proc: flat means the
#      blob is streamed, not buffered);
#   2. pushes a small image through the guard (scanned on push by Picket's
#      scanner against a one-record database), signs it cosign-style, and
#      sends REQUESTS (1000) sequential manifest GETs directly, through the
#      guard as a developer (token check, roles, audit fsync) and as a gated
#      production identity (plus tag resolution, verdict, CEL policy and
#      signature check): p50/p99 and the p99 the guard adds.
#
# The audit log is fsynced per request (the default, --audit-sync each;
# AUDIT_SYNC=none or AUDIT_SYNC=1s to measure without).
# Prints the numbers and ratios; writes JSON to .bench/guard-registry/result.json.
# Needs: go, docker-registry.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -f go.mod ] || [ ! -d bench ]; then echo "guard-registry: cannot find the repository root" >&2; exit 2; fi

LAYER_MIB=${LAYER_MIB:-500}
REQUESTS=${REQUESTS:-1000}
RUNS=${RUNS:-3}
AUDIT_SYNC=${AUDIT_SYNC:-each}
WORK=$PWD/.bench/guard-registry
BIN=$PWD/.bench/bin
REGISTRY=${PICKET_DOCKER_REGISTRY:-/usr/bin/docker-registry}

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'guard-registry: %s\n' "$*" >&2; exit 1; }

for v in LAYER_MIB REQUESTS RUNS; do
	[[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, not '${!v}'"
done
command -v go >/dev/null || die "go is required"
if [ ! -x "$REGISTRY" ]; then
	[ "$(id -u)" = 0 ] || die "$REGISTRY is missing (apt-get install docker-registry)"
	say "installing docker-registry"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null || die "apt-get install docker-registry failed"
fi
mkdir -p "$WORK" "$BIN"

say "building picket and the benchmark client"
go build -o "$BIN/picket" ./cmd/picket
go build -o "$BIN/guard-registry-bench" ./bench/guard-registry

say "running (blob $LAYER_MIB MiB x $RUNS, $REQUESTS manifest requests per path)"
"$BIN/guard-registry-bench" -picket "$BIN/picket" -registry "$REGISTRY" -work "$WORK" \
	-layer-mib "$LAYER_MIB" -requests "$REQUESTS" -runs "$RUNS" -audit-sync "$AUDIT_SYNC" -json "$WORK/result.json"
