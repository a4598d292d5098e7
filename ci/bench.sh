#!/usr/bin/env bash
# Benchmarks (never timed unit tests: machines here are noisy).
#   ci/bench.sh [SEEDS]    default 5
# Prints, per reverted fix, the time-to-find of `migrace explore` and of
# the libFuzzer target over SEEDS seeds (with medians), then executions
# per second on the fixed engine.  Needs the default and fuzz builds.
set -u
cd "$(dirname "$0")/.."
seeds=${1:-5}
mg=./build/migrace
fz=./build-fuzz/fuzz_migrate
[ -x "$mg" ] || { echo "build first: cmake --preset default && cmake --build --preset default" >&2; exit 2; }
[ -x "$fz" ] || { echo "build first: cmake --preset fuzz && cmake --build --preset fuzz" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# Fixes whose loss only --strict can see (accessed/dirty information).
strict_for() { case $1 in young-dirty-entry) echo 1;; *) echo 0;; esac; }

fixes=$($mg fixes | awk '{print $1}')
for fix in $fixes; do
	echo "== $fix"
	strict=$(strict_for "$fix")
	sflag=""
	[ "$strict" = 1 ] && sflag=--strict
	: > "$tmp/explore"
	for s in $(seq 1 "$seeds"); do
		out=$($mg explore --revert "$fix" $sflag --budget 300 --seed "$s" -o "$tmp/e.repro" | tail -1)
		t=$(echo "$out" | sed -n 's/.* \([0-9.]*\) s (seed.*/\1/p')
		case "$out" in *"bug found"*) ;; *) t="inf(>300)";; esac
		echo "explore seed $s: $t s   ($out)"
		echo "$t" >> "$tmp/explore"
	done
	echo "explore median time-to-find: $(median < "$tmp/explore") s"
	: > "$tmp/fuzz"
	for s in $(seq 1 "$seeds"); do
		rm -rf "$tmp/corp" && mkdir "$tmp/corp"
		start=$(date +%s.%N)
		(cd "$tmp" && MIGRACE_REVERT=$fix MIGRACE_STRICT=$strict timeout 660 "$OLDPWD/$fz" -seed="$s" \
			-max_total_time=600 "$tmp/corp" > "$tmp/fuzz.log" 2>&1)
		end=$(date +%s.%N)
		if grep -q "^BUG: migrace" "$tmp/fuzz.log"; then
			t=$(echo "$end - $start" | bc)
		else
			t="inf(>600)"
		fi
		execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$tmp/fuzz.log" | awk '{print $2}')
		echo "libFuzzer seed $s: $t s   ($(grep -m1 '^BUG' "$tmp/fuzz.log"))"
		echo "$t" >> "$tmp/fuzz"
		rm -f "$tmp"/crash-*
	done
	echo "libFuzzer median time-to-find: $(median < "$tmp/fuzz") s"
done

echo "== hand-over cost"
./build/tests/bench_fiber

echo "== controlled-mode overhead"
./build/tests/bench_overhead

echo "== throughput on the fixed engine"
$mg explore --budget 30 --seed 99 | tail -1
rm -rf "$tmp/corp" && mkdir "$tmp/corp"
(cd "$tmp" && timeout 60 "$OLDPWD/$fz" -max_total_time=30 -print_final_stats=1 "$tmp/corp" 2>&1 |
	grep -E 'stat::(number_of_executed_units|average_exec_per_sec)|^BUG')
