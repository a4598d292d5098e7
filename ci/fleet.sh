#!/usr/bin/env bash
# ci/fleet.sh: a fuzzing fleet on one machine (docs/fleet.md).
#
#   ci/fleet.sh [-n N] [-t SECONDS] [--engine afl|libfuzzer]
#               [--revert FIX[,FIX...]] [--variant upstream|rfc-unified]
#               [--arch x86|vivt] [--strict] [--corpus DIR] [--out DIR] [--bin DIR] [--migrace PATH]
#
# afl (default): one afl-fuzz -M and N-1 -S instances on one sync
# directory: the main one plain, then ASan, then CMPLOG, then plain ones
# with other power schedules.  libfuzzer: fuzz_migrate -fork=N (ASan).
# Each runs for SECONDS (default 600).  Then, automatically:
#   1. afl-cmin (or -merge=1) of what the fleet found into --corpus
#      (default corpus/fuzz_migrate/; only inputs that add coverage);
#   2. every crash decoded to a repro (`migrace decode`, with the run's
#      settings) and replayed;
#   3. de-duplicated by report title and location, each find minimized
#      (`migrace minimize`, if it exists) and replayed, its fix switch
#      identified, report pages written (ci/fleet_report.py);
#   4. an afl-whatsup-style summary.
# Everything lands in --out (default build-fleet/out-<UTC time>).
# The fuzz targets are built with ci/oss-fuzz/build.sh into --bin (default
# build-fleet/bin), again only when a source is newer than them.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
n=3 secs=600 engine=afl revert="" variant="" arch="" strict="" corpus=$root/corpus/fuzz_migrate
out="" bin=$root/build-fleet/bin migrace=""
usage() { echo "usage: ci/fleet.sh [-n N] [-t SECONDS] [--engine afl|libfuzzer] [--revert FIX[,FIX...]] [--variant upstream|rfc-unified] [--arch x86|vivt] [--strict] [--corpus DIR] [--out DIR] [--bin DIR] [--migrace PATH]" >&2; exit 2; }
need() { [ $# -ge 2 ] || { echo "ci/fleet.sh: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
	case $1 in
	-n) need "$@"; n=$2; shift ;;
	-t) need "$@"; secs=$2; shift ;;
	--engine) need "$@"; engine=$2; shift ;;
	--revert) need "$@"; revert=$2; shift ;;
	--variant) need "$@"; variant=$2; shift ;;
	--arch) need "$@"; arch=$2; shift ;;
	--strict) strict=1 ;;
	--corpus) need "$@"; corpus=$2; shift ;;
	--out) need "$@"; out=$2; shift ;;
	--bin) need "$@"; bin=$2; shift ;;
	--migrace) need "$@"; migrace=$2; shift ;;
	-h|--help) usage ;;
	*) echo "ci/fleet.sh: unknown option '$1'" >&2; usage ;;
	esac
	shift
done
case $n in ''|*[!0-9]*) echo "ci/fleet.sh: -n: '$n' is not valid (1..64)" >&2; exit 2 ;; esac
[ "$n" -ge 1 ] && [ "$n" -le 64 ] || { echo "ci/fleet.sh: -n: '$n' is not valid (1..64)" >&2; exit 2; }
case $secs in ''|*[!0-9]*|0) echo "ci/fleet.sh: -t: '$secs' is not valid (seconds, 1 or more)" >&2; exit 2 ;; esac
case $engine in afl|libfuzzer) ;; *) echo "ci/fleet.sh: --engine: '$engine' is not valid (afl or libfuzzer)" >&2; exit 2 ;; esac
if [ -z "$migrace" ]; then
	cmake --preset default >/dev/null && cmake --build --preset default >/dev/null
	migrace=$root/build/migrace
fi
# The run's settings: the environment of the targets and of `decode`.
export MIGRACE_REVERT=${revert:-none}
[ -n "$variant" ] && export MIGRACE_VARIANT=$variant
[ -n "$arch" ] && export MIGRACE_ARCH=$arch
[ -n "$strict" ] && export MIGRACE_STRICT=1
# Refuse bad settings before creating or building anything (decode
# checks them as the targets do).
probe=$(mktemp -d)
printf '\0' > "$probe/in"
"$migrace" decode "$probe/in" -o "$probe/out.repro" || { rm -rf "$probe"; exit 2; }
rm -rf "$probe"
[ -n "$out" ] || out=$root/build-fleet/out-$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$out" "$corpus" "$bin"
out=$(cd "$out" && pwd) corpus=$(cd "$corpus" && pwd) bin=$(cd "$bin" && pwd)
echo "fleet: $engine, $n instance(s), $secs s, revert $MIGRACE_REVERT${variant:+, variant $variant}${arch:+, arch $arch}${strict:+, strict}" | tee "$out/run.txt"
date -u '+started %Y-%m-%d %H:%M:%S UTC' >> "$out/run.txt"

# ---- build: one output directory per instrumentation
fresh() {	# fresh DIR: its fuzz_migrate is newer than every source
	[ -x "$1/fuzz_migrate" ] &&
		[ -z "$(find engine include fuzz tools ci/oss-fuzz -newer "$1/fuzz_migrate" -type f 2>/dev/null | head -1)" ]
}
build() {	# build NAME ENV...: ci/oss-fuzz/build.sh into $bin/NAME
	local name=$1
	shift
	if fresh "$bin/$name"; then
		echo "=== $(date -u +%T) build $name: up to date"
		return
	fi
	echo "=== $(date -u +%T) build $name"
	mkdir -p "$bin/$name" "$bin/work-$name"
	env "$@" OUT="$bin/$name" WORK="$bin/work-$name" SRC="$(dirname "$root")" \
		bash ci/oss-fuzz/build.sh > "$bin/$name.log" 2>&1 ||
		{ tail -20 "$bin/$name.log"; echo "fleet: build $name failed" >&2; exit 1; }
}
if [ $engine = afl ]; then
	afl="CC=afl-clang-fast CXX=afl-clang-fast++ CFLAGS=-O2 CXXFLAGS= LIB_FUZZING_ENGINE=-fsanitize=fuzzer"
	build afl $afl
	[ "$n" -ge 2 ] && build afl-asan $afl AFL_USE_ASAN=1
	[ "$n" -ge 3 ] && build afl-cmplog $afl AFL_LLVM_CMPLOG=1
else
	build libfuzzer CC=clang CXX=clang++ \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address -fsanitize=fuzzer-no-link" \
		CXXFLAGS=-fsanitize=address LIB_FUZZING_ENGINE=-fsanitize=fuzzer
fi

# ---- seeds: the corpus, else the target's seed zip
seeds=$out/seeds
mkdir -p "$seeds"
before=$(find "$corpus" -maxdepth 1 -type f | wc -l)
if [ "$before" -gt 0 ]; then
	find "$corpus" -maxdepth 1 -type f -exec cp {} "$seeds/" \;
else
	(cd "$seeds" && unzip -qo "$bin/$([ $engine = afl ] && echo afl || echo libfuzzer)/fuzz_migrate_seed_corpus.zip")
fi

# ---- fuzz
echo "=== $(date -u +%T) fuzz for $secs s"
if [ $engine = afl ]; then
	# The structure-aware mutator beside AFL++'s havoc, when the default
	# build has it (fuzz/afl_mutator.c).
	mut=$(dirname "$migrace")/migrace-afl-mutator.so
	[ -f "$mut" ] && export AFL_CUSTOM_MUTATOR_LIBRARY=$mut
	sync=$out/sync
	schedules=(fast explore coe rare lin quad exploit mmopt)
	pids=()
	for ((i = 0; i < n; i++)); do
		target=$bin/afl/fuzz_migrate extra=() role=(-S "s$i")
		case $i in
		0) role=(-M main) ;;
		1) role=(-S asan); target=$bin/afl-asan/fuzz_migrate ;;
		2) role=(-S cmplog); extra=(-c "$bin/afl-cmplog/fuzz_migrate" -l 2) ;;
		*) extra=(-p "${schedules[$((i % ${#schedules[@]}))]}") ;;
		esac
		AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 \
		AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_CRASH_README=1 \
			timeout -k 10 $((secs + 120)) afl-fuzz "${role[@]}" "${extra[@]}" \
			-i "$seeds" -o "$sync" -V "$secs" -t 5000+ \
			-x "$bin/afl/fuzz_migrate.dict" -- "$target" \
			> "$out/afl-${role[1]}.log" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || true; done
	crashes=$(ls -d "$sync"/*/crashes/id:* 2>/dev/null || true)
else
	mkdir -p "$out/new" "$out/artifacts"
	(cd "$out" && timeout -k 10 $((secs + 120)) "$bin/libfuzzer/fuzz_migrate" \
		-fork="$n" -max_total_time="$secs" -ignore_crashes=1 \
		-ignore_timeouts=1 -ignore_ooms=1 -dict="$bin/libfuzzer/fuzz_migrate.dict" \
		-artifact_prefix="$out/artifacts/" "$out/new" "$seeds" \
		> "$out/libfuzzer.log" 2>&1) || true
	crashes=$(ls "$out/artifacts"/crash-* 2>/dev/null || true)
fi
date -u '+ended %Y-%m-%d %H:%M:%S UTC' >> "$out/run.txt"

# ---- merge the new corpus back
echo "=== $(date -u +%T) merge the corpus into $corpus"
if [ $engine = afl ]; then
	all=$out/queue-all
	mkdir -p "$all"
	for q in "$sync"/*/queue; do
		[ -d "$q" ] && find "$q" -maxdepth 1 -type f -name 'id:*' \
			-exec sh -c 'for f; do cp "$f" "$0/$(sha1sum < "$f" | cut -c1-40)"; done' "$all" {} +
	done
	find "$corpus" -maxdepth 1 -type f -exec cp {} "$all/" \;
	AFL_NO_AFFINITY=1 AFL_ALLOW_TMP=1 afl-cmin -i "$all" -o "$out/cmin" -t 5000 \
		-- "$bin/afl/fuzz_migrate" > "$out/afl-cmin.log" 2>&1 ||
		{ tail -5 "$out/afl-cmin.log"; echo "fleet: afl-cmin failed" >&2; }
	for f in "$out/cmin"/*; do
		[ -f "$f" ] || continue
		h=$(sha1sum < "$f" | cut -c1-40)
		[ -e "$corpus/$h" ] || cp "$f" "$corpus/$h"
	done
else
	(cd "$out" && "$bin/libfuzzer/fuzz_migrate" -merge=1 "$corpus" "$out/new" \
		> "$out/merge.log" 2>&1) || { tail -5 "$out/merge.log"; echo "fleet: merge failed" >&2; }
fi
after=$(find "$corpus" -maxdepth 1 -type f | wc -l)
echo "corpus: $before inputs before, $after after ($((after - before)) new)" | tee -a "$out/run.txt"

# ---- crashes: decode, replay (each find is minimized after de-duplication)
echo "=== $(date -u +%T) crashes: decode, replay"
can_minimize=0
"$migrace" --help 2>/dev/null | grep -E '^ +migrace minimize ' | grep -vq 'not implemented' &&
	can_minimize=1
[ $can_minimize = 1 ] || echo "fleet: 'migrace minimize' is not available: repros stay as decoded"
i=0
for c in $crashes; do
	i=$((i + 1))
	d=$out/crashes/$(printf '%04d' $i)
	mkdir -p "$d"
	cp "$c" "$d/input"
	echo "$(basename "$(dirname "$(dirname "$c")")")/$(basename "$c")" > "$d/source"
	[ $engine = libfuzzer ] && echo "libfuzzer/$(basename "$c")" > "$d/source"
	date -u -r "$c" '+%Y-%m-%d %H:%M:%S UTC' > "$d/seen"
	if ! "$migrace" decode "$d/input" -o "$d/decoded.repro" 2> "$d/decode.err"; then
		echo 2 > "$d/status"
		continue
	fi
	set +e
	"$migrace" repro "$d/decoded.repro" > "$d/replay.txt" 2>&1
	echo $? > "$d/status"
	set -e
done
echo "crashes: $i" | tee -a "$out/run.txt"

# ---- de-duplicate, report pages
echo "=== $(date -u +%T) de-duplicate, minimize each find, write the report pages"
MIGRACE_FLEET_MINIMIZE=$can_minimize python3 ci/fleet_report.py "$migrace" "$out" | tee "$out/finds.txt"

# ---- summary (afl-whatsup style)
echo "=== $(date -u +%T) summary"
{
	if [ $engine = afl ]; then
		afl-whatsup -s -d "$sync" 2>/dev/null | grep -E 'Fuzzers|Total|Cumulative|Crashes|Pending' || true
		printf '%-8s %12s %10s %8s %8s\n' instance execs execs/s corpus crashes
		for s in "$sync"/*/fuzzer_stats; do
			[ -f "$s" ] || continue
			v() { sed -n "s/^$1 *: *//p" "$s"; }
			printf '%-8s %12s %10s %8s %8s\n' "$(basename "$(dirname "$s")")" \
				"$(v execs_done)" "$(v execs_per_sec)" "$(v corpus_count)" "$(v saved_crashes)"
		done
	else
		grep -E '^#[0-9]+: cov|DONE' "$out/libfuzzer.log" | tail -2
	fi
	echo "corpus: $before -> $after inputs in $corpus"
	echo "crashes: $i decoded; $(grep -lx 1 "$out"/crashes/*/status 2>/dev/null | wc -l) reproduced, $(grep -lx 0 "$out"/crashes/*/status 2>/dev/null | wc -l) not, $(grep -lx 3 "$out"/crashes/*/status 2>/dev/null | wc -l) harness crashes"
	echo "finds: $(grep -c '^find:' "$out/finds.txt" || true) after de-duplication"
	echo "report pages: $out/pages/index.md (.html)"
} | tee "$out/summary.txt"
