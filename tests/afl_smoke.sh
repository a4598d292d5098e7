#!/bin/sh
# AFL++ smoke run (ctest afl/smoke): the persistent-mode target with the
# seed corpus and the dictionary for a few seconds on the fixed engine:
# it must run in persistent shared-memory mode, execute, and save no crash.
# Skipped (exit 77) only when afl-fuzz is not installed (ci/setup.sh
# installs afl++).  It (re)builds the target with afl-clang-fast in
# BUILD_DIR first (incremental: nothing to do when it is current).  With
# MUTATOR (the default build's migrace-afl-mutator.so) AFL++ loads the
# structure-aware mutator and must keep inputs it made.
#   afl_smoke.sh SOURCE_DIR BUILD_DIR [SECONDS [MUTATOR]]
src=$1
bdir=$2
secs=${3:-8}
mut=${4:-}
if ! command -v afl-fuzz >/dev/null 2>&1 || ! command -v afl-clang-fast >/dev/null 2>&1; then
	echo "SKIP: afl-fuzz / afl-clang-fast not installed (bash ci/setup.sh)"
	exit 77
fi
bin=$bdir/fuzz_migrate_afl
if [ ! -f "$bdir/CMakeCache.txt" ]; then
	cmake -S "$src" -B "$bdir" -G Ninja -DCMAKE_C_COMPILER=afl-clang-fast \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIGRACE_AFL=ON >/dev/null ||
		{ echo "FAIL: cannot configure the AFL++ build"; exit 1; }
fi
AFL_QUIET=1 cmake --build "$bdir" --target fuzz_migrate_afl >/dev/null ||
	{ echo "FAIL: cannot build the AFL++ target"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/in"
cp "$src"/corpus/fuzz_migrate/seed-* "$tmp/in/"
[ -n "$mut" ] && export AFL_CUSTOM_MUTATOR_LIBRARY="$mut"
AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_QUIET=1 \
AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_CRASH_README=1 \
AFL_SKIP_CRASHES=0 \
	timeout $((secs + 30)) afl-fuzz -V "$secs" -i "$tmp/in" -o "$tmp/out" \
	-x "$src/corpus/fuzz_migrate.dict" -- "$bin" > "$tmp/log" 2>&1
st="$tmp/out/default/fuzzer_stats"
if [ ! -f "$st" ]; then
	tail -20 "$tmp/log"
	echo "FAIL: afl-fuzz did not start"
	exit 1
fi
grep -E 'execs_done|execs_per_sec|saved_crashes|target_mode|bitmap_cvg|corpus_count' "$st"
fail=0
grep -q 'target_mode *: .*persistent' "$st" || { echo "FAIL: not in persistent mode"; fail=1; }
grep -q 'target_mode *: .*shmem_testcase' "$st" || { echo "FAIL: test cases not in shared memory"; fail=1; }
grep -q 'saved_crashes *: 0$' "$st" || { echo "FAIL: a crash on the fixed engine"; fail=1; }
n=$(sed -n 's/^execs_done *: //p' "$st")
[ "${n:-0}" -gt 100 ] || { echo "FAIL: only ${n:-0} executions"; fail=1; }
if [ -n "$mut" ]; then
	k=$(ls "$tmp/out/default/queue" | grep -c ',migrace-')
	echo "queue entries from the custom mutator: $k"
	[ "$k" -gt 0 ] || { echo "FAIL: the custom mutator made no queue entry"; fail=1; }
fi
[ $fail = 0 ] && echo "afl smoke: ok"
exit $fail
