#!/usr/bin/env bash
# The main job: build, then let `migrace explore` find the historical race
# "mm/migrate_device.c: flush TLB while holding PTL" from scratch (fix
# reverted), replay what it found, and show the fixed engine clean.
set -eu
cd "$(dirname "$0")/.."
bash ci/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default >/dev/null
out=$(mktemp -d)
echo "\$ migrace explore --revert flush-tlb-under-ptl --budget 60 -o $out/found.repro"
set +e
./build/migrace explore --revert flush-tlb-under-ptl --budget 60 -o "$out/found.repro"
found=$?
set -e
[ "$found" -eq 1 ] || { echo "demo: the race was not found" >&2; exit 1; }
echo
echo "\$ migrace repro $out/found.repro --revert none     # the same run, fix in place"
./build/migrace repro "$out/found.repro" --revert none
echo
echo "\$ migrace explore --budget 20                         # every fix in place"
./build/migrace explore --budget 20
