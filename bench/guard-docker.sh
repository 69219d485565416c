#!/usr/bin/env bash
# Docker guard benchmark: the latency `picket guard docker` adds to a small
# API call, and the throughput of a large upload through it, each against
# the machine's dockerd measured directly in the same run.
#
#   bench/guard-docker.sh                      # from the repository root
#   SIZE_MIB=256 N=1000 bench/guard-docker.sh  # quicker
#
# 1. Latency: N GET /containers/json requests (after a warm-up), alternating
#    direct to /var/run/docker.sock and through the guard, on keep-alive
#    connections (go run ./bench/guard-docker latency). Prints p50/p99 of
#    both, the added milliseconds and the ratios. Target: p99 added < 2 ms.
# 2. Upload: a SIZE_MIB (default 1024) image FROM scratch made of LAYERS
#    layers of random bytes (go run ./bench/guard-docker mkimage), loaded
#    with `docker load -i` directly and through the guard, alternating,
#    ROUNDS (default 3) times each, best time kept (image removed before
#    every load). Prints both times and the throughput ratio (target >= 0.90)
#    and the guard's peak RSS before and after (flat memory: the upload
#    streams through, it is never buffered).
#
# The guard runs as built from this tree with the default policy and an
# audit log fsynced per record (the default). Images are named
# picket-test-guard-bench-*; everything is removed at the end.
# Needs: go, docker (CLI and a running daemon), root (for the docker socket).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -f go.mod ] || [ ! -d bench ]; then echo "guard-docker: cannot find the repository root" >&2; exit 2; fi

N=${N:-3000}
SIZE_MIB=${SIZE_MIB:-1024}
LAYERS=${LAYERS:-4}
ROUNDS=${ROUNDS:-3}
DOCKER_SOCK=${DOCKER_SOCK:-/var/run/docker.sock}

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'guard-docker: %s\n' "$*" >&2; exit 1; }
[[ "$N" =~ ^[1-9][0-9]+$ ]] || die "N must be an integer >= 10"
[[ "$SIZE_MIB" =~ ^[1-9][0-9]*$ ]] || die "SIZE_MIB must be a positive integer"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
command -v go >/dev/null || die "go is required"
command -v docker >/dev/null || die "the docker CLI is required"
DOCKER_HOST=unix://$DOCKER_SOCK docker version >/dev/null 2>&1 || die "cannot reach dockerd at $DOCKER_SOCK"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/picket-guard-bench.XXXXXX")
TAG=picket-test-guard-bench-$$:1
GUARD_PID=
cleanup() {
	[ -n "$GUARD_PID" ] && kill "$GUARD_PID" 2>/dev/null && wait "$GUARD_PID" 2>/dev/null || true
	DOCKER_HOST=unix://$DOCKER_SOCK docker image rm -f "$TAG" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

say "building picket and the bench helper"
go build -o "$WORK/picket" ./cmd/picket
go build -o "$WORK/helper" ./bench/guard-docker

SOCK=$WORK/guard.sock
"$WORK/picket" guard docker --listen "unix://$SOCK" --upstream "unix://$DOCKER_SOCK" \
	--audit-log "$WORK/audit.log" --log-level error &
GUARD_PID=$!
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || die "the guard did not start"

hwm() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$GUARD_PID/status"; }

say "latency: $N x GET /containers/json, direct and through the guard"
"$WORK/helper" latency -n "$N" -direct "$DOCKER_SOCK" -guard "$SOCK" | tee "$WORK/latency.txt"
# shellcheck disable=SC1090
. "$WORK/latency.txt"

say "making a ${SIZE_MIB} MiB image of $LAYERS random layers"
"$WORK/helper" mkimage -size "$SIZE_MIB" -layers "$LAYERS" -tag "$TAG" -o "$WORK/image.tar"
BYTES=$(stat -c %s "$WORK/image.tar")

load() { # $1 = socket
	DOCKER_HOST=unix://$DOCKER_SOCK docker image rm -f "$TAG" >/dev/null 2>&1 || true
	sync
	local t0 t1
	t0=$(date +%s.%N)
	DOCKER_HOST=unix://$1 docker load -q -i "$WORK/image.tar" >/dev/null
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}' 
}
min() { awk -v a="$1" -v b="$2" 'BEGIN {print (a == "" || b < a) ? b : a}'; }
RSS_BEFORE=$(hwm)
T_DIRECT= T_GUARD=
for r in $(seq "$ROUNDS"); do
	say "round $r/$ROUNDS: docker load direct"
	T_DIRECT=$(min "$T_DIRECT" "$(load "$DOCKER_SOCK")")
	say "round $r/$ROUNDS: docker load through the guard"
	T_GUARD=$(min "$T_GUARD" "$(load "$SOCK")")
done
RSS_AFTER=$(hwm)
"$WORK/picket" audit verify "$WORK/audit.log" >&2

mibs() { awk -v b="$BYTES" -v t="$1" 'BEGIN {print b / 1048576 / t}'; }
printf '\nDocker guard benchmark (%s requests, %d MiB image in %d layers, best of %d loads)\n' "$N" "$((BYTES >> 20))" "$LAYERS" "$ROUNDS"
printf '  GET /containers/json   direct p50 %.3f ms  p99 %.3f ms\n' "$direct_p50_ms" "$direct_p99_ms"
printf '                         guard  p50 %.3f ms  p99 %.3f ms\n' "$guard_p50_ms" "$guard_p99_ms"
printf '                         added  p50 %.3f ms  p99 %.3f ms   (ratio p50 %.2fx, p99 %.2fx; target p99 added < 2 ms)\n' \
	"$added_p50_ms" "$added_p99_ms" "$ratio_p50" "$ratio_p99"
printf '  docker load            direct %.2f s (%.0f MiB/s)  guard %.2f s (%.0f MiB/s)\n' \
	"$T_DIRECT" "$(mibs "$T_DIRECT")" "$T_GUARD" "$(mibs "$T_GUARD")"
printf '                         throughput ratio guard/direct %.2f (target >= 0.90)\n' "$(awk -v d="$T_DIRECT" -v g="$T_GUARD" 'BEGIN {print d / g}')"
printf '  guard peak RSS         %d MiB before the loads, %d MiB after\n' "$RSS_BEFORE" "$RSS_AFTER"
