#!/usr/bin/env bash
# Memory benchmark: picket on an image of a million small files.
#
#   bench/million-files.sh                 # from the repository root
#   N=200000 LAYERS=4 bench/million-files.sh
#   WITH_SYFT=1 bench/million-files.sh     # also measure syft as a peer
#
# Generates (once; kept in .bench/images/) a docker-save archive of N small
# files (bench/cmd/mkbigimage: 16-64 bytes each, at most 1000 entries per
# directory, split over LAYERS layers), then runs
#   picket scan image --no-cache --format json -o /dev/null docker-archive:PATH
# under /usr/bin/time, prints wall seconds and peak RSS, and exits 1 when the
# peak RSS is over LIMIT_MB (default 300) MiB. GNU time reports KiB; 1 MiB is
# 1024 KiB here. A JSON summary goes to bench/results/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -f go.mod ] || [ ! -d bench ]; then echo "million-files: cannot find the repository root" >&2; exit 2; fi

N=${N:-1000000}
LAYERS=${LAYERS:-1}
LIMIT_MB=${LIMIT_MB:-300}
WITH_SYFT=${WITH_SYFT:-0}
SYFT_VERSION=v1.54.1
WORK=$PWD/.bench
BIN=$WORK/bin
RESULTS=bench/results
export SYFT_CHECK_FOR_APP_UPDATE=false

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'million-files: %s\n' "$*" >&2; exit 2; }

for v in N LAYERS LIMIT_MB; do
	[[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer, not '${!v}'"
done
command -v go >/dev/null || die "go is required"
if [ ! -x /usr/bin/time ]; then
	[ "$(id -u)" = 0 ] || die "/usr/bin/time is missing (apt-get install time)"
	say "installing GNU time"
	DEBIAN_FRONTEND=noninteractive apt-get install -y time >/dev/null
fi
mkdir -p "$BIN" "$WORK/images" "$RESULTS"

say "building picket and mkbigimage"
go build -o "$BIN/picket" ./cmd/picket || die "picket does not build (is cmd/picket written yet?)"
go build -o "$BIN/mkbigimage" ./bench/cmd/mkbigimage

archive=$WORK/images/many-files-$N-x$LAYERS.tar
if [ ! -f "$archive" ] || [ bench/cmd/mkbigimage/main.go -nt "$archive" ]; then
	say "generating $archive"
	/usr/bin/time -f '%e %M' -o "$WORK/mkbigimage.time" \
		"$BIN/mkbigimage" -q -n "$N" -layers "$LAYERS" -tag "picket-bench/many-files:$N" -o "$archive"
	read -r gsecs gkb < <(tail -n 1 "$WORK/mkbigimage.time")
	say "generated in ${gsecs}s, generator peak RSS $((gkb / 1024)) MiB"
fi
bytes=$(stat -c %s "$archive")
say "archive: $archive ($((bytes / 1024 / 1024)) MiB, $N files, $LAYERS layer(s))"

measure() { # name cmd... -> M_SECS, M_KIB
	local name=$1 tf=$WORK/million-files.$1.time
	shift
	if ! /usr/bin/time -f '%e %M' -o "$tf" "$@" >"$tf.log" 2>&1; then
		tail -n 20 "$tf.log" >&2
		die "$name failed: $*"
	fi
	read -r M_SECS M_KIB <"$tf"
	[[ "$M_KIB" =~ ^[0-9]+$ ]] || die "cannot read /usr/bin/time output in $tf"
}

say "scanning with picket"
measure picket "$BIN/picket" scan image --no-cache --format json -o /dev/null "docker-archive:$archive"
secs=$M_SECS kb=$M_KIB
mib=$(awk -v kb="$kb" 'BEGIN { printf "%.1f", kb / 1024 }')
verdict=under
[ "$kb" -le $((LIMIT_MB * 1024)) ] || verdict=OVER

syft_json=null
if [ "$WITH_SYFT" = 1 ]; then
	[ -x "$BIN/syft" ] || GOBIN=$BIN go install "github.com/anchore/syft/cmd/syft@$SYFT_VERSION"
	say "scanning with syft $SYFT_VERSION"
	measure syft "$BIN/syft" scan "docker-archive:$archive" -o "cyclonedx-json=$WORK/million-files.syft.cdx.json"
	ssecs=$M_SECS skb=$M_KIB
	syft_json="{\"seconds\": $ssecs, \"peak_rss_kib\": $skb}"
fi

printf '\n%-8s %10s %8s %14s\n' tool files seconds "peak RSS MiB"
printf '%-8s %10s %8s %14s\n' picket "$N" "$secs" "$mib"
if [ "$WITH_SYFT" = 1 ]; then
	printf '%-8s %10s %8s %14s\n' syft "$N" "$ssecs" "$(awk -v kb="$skb" 'BEGIN { printf "%.1f", kb / 1024 }')"
	awk -v a="$secs" -v b="$ssecs" -v c="$kb" -v d="$skb" \
		'BEGIN { printf "ratio picket/syft: time %.2f  memory %.2f\n", a / b, c / d }'
fi
echo "picket peak RSS $mib MiB is $verdict the $LIMIT_MB MiB limit"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
summary=$RESULTS/million-files-$stamp.json
cat >"$summary" <<EOF
{
  "benchmark": "million-files",
  "date": "$stamp",
  "cpus": $(nproc),
  "files": $N,
  "layers": $LAYERS,
  "archive_bytes": $bytes,
  "picket": {"seconds": $secs, "peak_rss_kib": $kb},
  "syft": $syft_json,
  "limit_mib": $LIMIT_MB,
  "under_limit": $([ "$verdict" = under ] && echo true || echo false)
}
EOF
cp "$summary" "$RESULTS/million-files-latest.json"
echo "JSON summary: $summary"
[ "$verdict" = under ] || exit 1
