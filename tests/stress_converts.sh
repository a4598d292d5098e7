#!/bin/sh
# stress_converts.sh MIGRACE REPRO: `migrace stress` on REPRO's program
# (its fix reverted) reports, converts the find into a repro under the
# controlled scheduler, and that repro replays: exit 1 as written, and 0
# with --revert none.
set -u
mg=$1
prog=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$mg" stress --program "$prog" --duration 20 --seed 1 --convert-budget 20 \
	-o "$dir" -q > "$dir/log" 2>&1
rc=$?
if [ $rc -ne 1 ]; then
	cat "$dir/log"
	echo "stress_converts: stress exited $rc, expected 1" >&2
	exit 1
fi
grep -q "replays deterministically" "$dir/log" || {
	cat "$dir/log"; echo "stress_converts: not converted" >&2; exit 1; }
repro=$(sed -n 's/^repro: \([^ ]*\).*/\1/p' "$dir/log" | head -1)
"$mg" repro "$repro" > /dev/null; rc=$?
[ $rc -eq 1 ] || { echo "stress_converts: the repro exits $rc, expected 1" >&2; exit 1; }
"$mg" repro "$repro" --revert none > /dev/null; rc=$?
[ $rc -eq 0 ] || { echo "stress_converts: with --revert none it exits $rc, expected 0" >&2; exit 1; }
echo "stress_converts: found, converted, replays"
