#!/usr/bin/env bash
# Nightly stress (docs/cli.md "stress"): `migrace stress` on the fixed
# engine and on every revertible fix, on both arches, each for DURATION
# seconds; every find is handed to the controlled scheduler and comes back
# as a repro.  One summary file says what was found and converted.
#
#   ci/nightly.sh [DURATION [OUTDIR]]     defaults: 600 s, nightly-out
#   env: NIGHTLY_SEED (default: the date, YYYYMMDD), NIGHTLY_CPUS (2),
#        NIGHTLY_CONVERT (convert budget, s; default 60)
#
# Exit status: 0 when the fixed engine stayed clean on both arches (finds
# on reverted fixes are the point, not failures), 1 when it reported, 2
# when a run could not start or the harness crashed (exit 2 or 3).
set -u
cd "$(dirname "$0")/.."
dur=${1:-600}
out=${2:-nightly-out}
seed=${NIGHTLY_SEED:-$(date +%Y%m%d)}
cpus=${NIGHTLY_CPUS:-2}
conv=${NIGHTLY_CONVERT:-60}
mg=./build/migrace
[ -x "$mg" ] || { echo "build first: cmake --preset default && cmake --build --preset default" >&2; exit 2; }
mkdir -p "$out"
summary="$out/summary.txt"

# Fixes whose loss only --strict can see (accessed/dirty information).
strict_for() { case $1 in young-dirty-entry) echo --strict;; *) echo "";; esac; }

{
	echo "# migrace nightly stress: $(date -u '+%Y-%m-%d %H:%M UTC'), $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo "# duration ${dur}s per run, seed $seed, cpus $cpus, convert budget ${conv}s"
	printf '%-26s %-5s %-6s %-9s %-10s %s\n' revert arch status time converted "report / repro"
} > "$summary"

status=0
for arch in x86 vivt; do
	for fix in none $($mg fixes | awk '{print $1}'); do
		dir="$out/$fix-$arch"
		mkdir -p "$dir"
		log="$dir/stress.log"
		# shellcheck disable=SC2046
		$mg stress --revert "$fix" --arch "$arch" $(strict_for "$fix") \
			--cpus "$cpus" --duration "$dur" --seed "$seed" \
			--convert-budget "$conv" -o "$dir" -q > "$log" 2>&1
		rc=$?
		title=$(sed -n 's/^BUG: migrace: //p' "$log" | head -1)
		when=$(sed -n 's/^stress: reported after .*, \([0-9.]*\) s (.*/\1s/p' "$log" | head -1)
		repro=$(sed -n 's/^repro: \([^ ]*\).*/\1/p' "$log" | head -1)
		kept=$(sed -n 's/^stress: the program is kept (no schedule): //p' "$log" | head -1)
		case $rc in
		0) st=clean; conv_s=-; what="-" ;;
		1) st=FOUND
		   if [ -n "$repro" ]; then
			   if grep -q "replays deterministically" "$log"; then conv_s=yes; else conv_s=nondet; fi
			   what="$title / $repro"
		   else
			   conv_s=no; what="$title / program kept: ${kept:-none}"
		   fi ;;
		*) st="ERROR($rc)"; conv_s=-; what=$(head -1 "$log") ;;
		esac
		printf '%-26s %-5s %-6s %-9s %-10s %s\n' "$fix" "$arch" "$st" "${when:--}" "$conv_s" "$what" >> "$summary"
		if [ "$fix" = none ] && [ $rc -eq 1 ]; then status=1; fi
		if [ $rc -ge 2 ] && [ $status -eq 0 ]; then status=2; fi
	done
done
cat "$summary"
exit $status
