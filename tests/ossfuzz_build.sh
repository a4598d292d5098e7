#!/bin/bash
# ossfuzz_build.sh SRC: run ci/oss-fuzz/build.sh as OSS-Fuzz would, with
# its environment set by hand (no Docker here), then check $OUT: every
# target with its seed-corpus zip, dictionary and options, and each target
# running 2,000 inputs from its seeds, with its options, cleanly.
src=$1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$tmp/out" "$tmp/work"
export CC=clang CXX=clang++ SANITIZER=address FUZZING_ENGINE=libfuzzer \
	ARCHITECTURE=x86_64 SRC=$(dirname "$src") WORK=$tmp/work OUT=$tmp/out \
	CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link" \
	CXXFLAGS="-fsanitize=address" LIB_FUZZING_ENGINE=-fsanitize=fuzzer \
	MIGRACE_JOBS=2 MIGRACE_REVERTED_TARGETS=young-dirty-entry \
	MIGRACE_VARIANT_TARGETS=rfc-unified
t0=$(date +%s)
# As the Dockerfile does: build.sh copied to $SRC, run from the checkout.
cp "$src/.clusterfuzzlite/build.sh" "$tmp/build.sh"
(cd "$src" && bash "$tmp/build.sh") > "$tmp/build.log" 2>&1 ||
	{ tail -20 "$tmp/build.log"; fail "build.sh failed"; }
echo "build.sh: $(($(date +%s) - t0)) s: $(tail -1 "$tmp/build.log")"
targets="fuzz_migrate fuzz_migrate_vivt fuzz_migrate_strict fuzz_repro"
for t in $targets; do
	for f in "$t" "${t}_seed_corpus.zip" "$t.dict" "$t.options"; do
		[ -s "$tmp/out/$f" ] || fail "missing $f in OUT"
	done
	[ -x "$tmp/out/$t" ] || fail "$t is not executable"
	unzip -tq "$tmp/out/${t}_seed_corpus.zip" > /dev/null || fail "$t: bad seed zip"
	grep -q '^\[libfuzzer\]' "$tmp/out/$t.options" || fail "$t.options: no [libfuzzer]"
	# libFuzzer's dictionary syntax: name="value" lines and comments
	grep -vqE '^(#.*|[A-Za-z0-9_]*="([^"\\]|\\.)*"|)$' "$tmp/out/$t.dict" &&
		fail "$t.dict: a line libFuzzer cannot read"
done
for t in $targets; do
	# The options file's [libfuzzer] keys become flags, as ClusterFuzz does.
	flags=$(awk '/^\[/ { s = $0; next } s == "[libfuzzer]" && /=/ {
		gsub(/ /, ""); split($0, kv, "="); printf " -%s=%s", kv[1], kv[2] }' \
		"$tmp/out/$t.options")
	mkdir "$tmp/c-$t"
	(cd "$tmp/c-$t" && unzip -q "$tmp/out/${t}_seed_corpus.zip")
	t1=$(date +%s)
	# Run from OUT (the dict is named relative to it), as ClusterFuzz does.
	(cd "$tmp/out" && ./$t $flags -runs=2000 -seed=1 "$tmp/c-$t") > "$tmp/$t.log" 2>&1
	st=$?
	[ $st -eq 0 ] || { tail -30 "$tmp/$t.log"; fail "$t exited $st"; }
	grep -q '^Done 2000 runs' "$tmp/$t.log" || { tail "$tmp/$t.log"; fail "$t: not 2000 runs"; }
	echo "$t:$flags: $(grep '^Done' "$tmp/$t.log") ($(($(date +%s) - t1)) s, $(grep -c . "$tmp/out/$t.dict") dictionary lines, $(unzip -l "$tmp/out/${t}_seed_corpus.zip" | tail -1 | awk '{print $2}') seeds)"
done
# The settings compiled in reach their targets (each says what it runs).
grep -q '^fuzz_migrate: settings: variant upstream, arch x86, revert none$' "$tmp/fuzz_migrate.log" || fail "fuzz_migrate settings"
grep -q '^fuzz_migrate: settings: variant upstream, arch vivt, revert none$' "$tmp/fuzz_migrate_vivt.log" || fail "vivt target"
grep -q '^fuzz_migrate: settings: variant upstream, arch x86, strict, revert none$' "$tmp/fuzz_migrate_strict.log" || fail "strict target"
# One target per reverted fix, on request (they find their race; not for
# OSS-Fuzz, for the fleet script): its setting, and the environment wins.
t=fuzz_migrate_revert_young_dirty_entry
[ -x "$tmp/out/$t" ] && [ -s "$tmp/out/$t.options" ] || fail "$t not built"
(cd "$tmp/out" && ./$t -runs=0 2>&1) | grep -q '^fuzz_migrate: settings: variant upstream, arch x86, revert young-dirty-entry$' || fail "$t settings"
(cd "$tmp/out" && MIGRACE_REVERT=none ./$t -runs=0 2>&1) | grep -q 'revert none$' || fail "$t: MIGRACE_REVERT does not override"
t=fuzz_migrate_rfc_unified
[ -x "$tmp/out/$t" ] && [ -s "$tmp/out/$t.dict" ] || fail "$t not built"
(cd "$tmp/out" && ./$t -runs=0 2>&1) | grep -q '^fuzz_migrate: settings: variant rfc-unified, arch x86, revert none$' || fail "$t settings"
echo ok
