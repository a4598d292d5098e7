#!/usr/bin/env bash
# The fuzz targets' seed corpus and dictionary, made from repro files by
# `migrace encode` (the byte format: engine/prog/decode.c):
#   corpus/fuzz_migrate/seed-<op>        corpus/fuzz_seeds/<op>.repro (one per op kind)
#   corpus/fuzz_migrate/regression-<fix> corpus/regressions/<fix>.repro
#   corpus/fuzz_migrate/report-<fix>     corpus/reports/<fix>.repro
#   corpus/fuzz_migrate.dict             stream separators, every op kind's
#                                        record, common schedule records
# Run after a change to the op alphabet or the byte format; the ctest
# unit/fuzz_input fails while the committed seeds are stale.
#   ci/make-seeds.sh [MIGRACE_BINARY]    default ./build/migrace
set -eu
cd "$(dirname "$0")/.."
mg=${1:-./build/migrace}
[ -x "$mg" ] || { echo "make-seeds: build first ($mg missing)" >&2; exit 2; }
out=corpus/fuzz_migrate
dict=corpus/fuzz_migrate.dict
rm -rf "$out"
mkdir -p "$out"
for f in corpus/fuzz_seeds/*.repro; do
	"$mg" encode "$f" -o "$out/seed-$(basename "$f" .repro)"
done
for kind in regressions reports; do
	for f in corpus/$kind/*.repro; do
		[ -e "$f" ] || continue
		# a minimized one-CPU program has no fuzz form (2 to 4 CPUs)
		if grep -q '^cpu 1:' "$f"; then
			"$mg" encode "$f" -o "$out/${kind%s}-$(basename "$f" .repro)"
		fi
	done
done

hex() { od -An -v -tx1 "$1" | tr -s ' \n' ' '; }
esc() { for b in $1; do printf '\\x%s' "$b"; done; }
{
	echo "# migrace fuzz_migrate dictionary, made by ci/make-seeds.sh (do not edit)."
	echo "# Stream separators: 0xff, then 0xf8 | the tag (0..3 a CPU's ops, 4 the schedule)."
	for t in 0 1 2 3 4; do
		echo "stream_$t=\"\\xff\\x$(printf %x $((0xf8 + t)))\""
	done
	echo "# One record of each op kind, as its seed's first use of it encodes."
	tmp=$(mktemp -d)
	for f in corpus/fuzz_seeds/*.repro; do
		op=$(basename "$f" .repro)
		line=$(grep -m1 -E "^[[:space:]]+$op\\(" "$f" | sed 's/ @[0-9]*$//') || continue
		printf 'cpu 0:\n%s\ncpu 1:\n' "$line" > "$tmp/op.repro"
		"$mg" encode "$tmp/op.repro" -o "$tmp/op.bin"
		# the bytes between 'ff f8' (CPU 0) and 'ff f9' (CPU 1)
		rec=$(hex "$tmp/op.bin" | sed -e 's/^.*ff f8 //' -e 's/ ff f9.*$//')
		echo "op_$op=\"$(esc "$rec")\""
	done
	rm -rf "$tmp"
	echo "# Schedule records: run CPU c for 1, 8 or 64 events, 1 or 2 releases, to end."
	for c in 0 1 2 3; do
		lead=$(printf '%02x' $((0x80 | c << 3)))
		echo "run${c}_1=\"$(esc "$lead")\""
		echo "run${c}_8=\"$(esc "$lead 07")\""
		echo "run${c}_64=\"$(esc "$lead 3f")\""
		echo "run${c}_rel1=\"$(esc "$(printf '%02x' $((0xa0 | c << 3)))")\""
		echo "run${c}_rel2=\"$(esc "$(printf '%02x' $((0xa0 | c << 3))) 01")\""
		echo "run${c}_end=\"$(esc "$(printf '%02x' $((0xc0 | c << 3)))")\""
	done
} > "$dict"
echo "make-seeds: $(ls "$out" | wc -l) seeds in $out, $(grep -c '=' "$dict") dictionary entries in $dict"
