#!/bin/bash
# Survey: run explore seed after seed for a fixed time and tally the
# distinct reports (title with addresses, pfns and numbers folded), each
# with the first repro that shows it.  Explore stops at its first report,
# so a long survey is many explores.
#
#   ci/survey.sh [-t SECONDS] [-b PER_SEED_BUDGET] [-o DIR] -- EXPLORE_ARGS...
#   e.g. ci/survey.sh -t 600 -o /tmp/rfc -- --variant rfc-unified --arch vivt
set -u
total=600 per=20 out=survey.out
while getopts "t:b:o:" o; do
	case $o in
	t) total=$OPTARG ;;
	b) per=$OPTARG ;;
	o) out=$OPTARG ;;
	*) echo "usage: $0 [-t SECONDS] [-b SECONDS] [-o DIR] -- ARGS" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
here=$(cd "$(dirname "$0")/.." && pwd)
migrace=${MIGRACE:-$here/build/migrace}
mkdir -p "$out"
: > "$out/runs.txt"
end=$(( $(date +%s) + total ))
seed=1 clean=0 schedules=0
while [ "$(date +%s)" -lt "$end" ]; do
	left=$(( end - $(date +%s) ))
	b=$per; [ "$left" -lt "$b" ] && b=$left
	[ "$b" -le 0 ] && break
	log=$("$migrace" explore --budget "$b" --seed "$seed" -q -o "$out/seed-$seed.repro" "$@" 2>&1)
	last=$(printf '%s\n' "$log" | grep '^explore:' | tail -1)
	n=$(printf '%s\n' "$last" | sed -n 's/.* \([0-9][0-9]*\) schedules.*/\1/p')
	schedules=$(( schedules + ${n:-0} ))
	title=$(printf '%s\n' "$log" | grep -m1 -E '^(BUG|WARNING|INFO|KASAN|CPU [0-9]+ blocked)' |
		sed -E 's/0x[0-9a-f]+/ADDR/g; s/[0-9]+/N/g')
	if [ -z "$title" ]; then
		clean=$((clean + 1)); rm -f "$out/seed-$seed.repro"
		echo "$seed -clean- $last" >> "$out/runs.txt"
	else
		echo "$seed $title | $last" >> "$out/runs.txt"
	fi
	seed=$((seed + 1))
done
echo "survey: $((seed - 1)) explores, $schedules schedules, $clean clean ($*)"
grep -v ' -clean- ' "$out/runs.txt" | cut -d' ' -f2- | sed 's/ | .*//' | sort | uniq -c | sort -rn
