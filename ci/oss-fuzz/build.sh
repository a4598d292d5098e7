#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build script (docs/fleet.md).
#
# Builds every fuzz target with the fuzzing infrastructure's compiler and
# flags into $OUT:
#   $CC $CFLAGS ... $LIB_FUZZING_ENGINE -o $OUT/<target>
# with <target>_seed_corpus.zip, <target>.dict and <target>.options beside
# each one.  The settings a target fuzzes (arch, strict, reverted fixes)
# are compiled into it, one target per setting, because OSS-Fuzz runs a
# target without our environment (MIGRACE_* still override at run time).
#
# Variables (set by OSS-Fuzz; set them by hand to run it anywhere):
#   CC CXX CFLAGS CXXFLAGS LIB_FUZZING_ENGINE OUT SRC WORK
#   MIGRACE_REVERTED_TARGETS  fix[,fix...] or all: also build
#       fuzz_migrate_revert_<fix> (each finds its race: for the fleet
#       script and for checking the harness, not for OSS-Fuzz itself)
#   MIGRACE_VARIANT_TARGETS  rfc-unified: also build fuzz_migrate_rfc_unified
#   MIGRACE_JOBS  parallel compiles (default: nproc)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
: "${CC:=clang}" "${CXX:=clang++}" "${CFLAGS:=}" "${CXXFLAGS:=}"
: "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}"
: "${OUT:?OUT must name the output directory}"
: "${WORK:=$(mktemp -d)}"
: "${MIGRACE_REVERTED_TARGETS:=}"
jobs=${MIGRACE_JOBS:-$(nproc)}
obj=$WORK/migrace-obj
mkdir -p "$OUT" "$obj"
cd "$src"

# The project's own warnings and dialect (CMakeLists.txt), then the
# infrastructure's flags: sanitizers and coverage come from $CFLAGS.
cflags="-std=gnu11 -fno-strict-aliasing -Wall -Wno-unused-parameter -Iinclude -Itools $CFLAGS"

# The named-point catalog the CMake build generates.
cmake -DSRC="$src" -DOUT="$obj/points.c" -P tools/gen_points.cmake

# The engine and the option parser, once, in parallel.
srcs=$(ls engine/*/*.c tools/cli_opts.c; echo "$obj/points.c")
export obj cflags CC
echo "$srcs" | xargs -P "$jobs" -I{} sh -c \
	'o="$obj/$(echo "{}" | tr / _).o"; $CC $cflags -c "{}" -o "$o"'
rm -f "$obj/libmigrace.a"
ar rcs "$obj/libmigrace.a" "$obj"/*.o

# target NAME SOURCE [DEFINE...]
targets=""
target() {
	local name=$1 file=$2
	shift 2
	$CC $cflags "$@" -c "$file" -o "$obj/$name.main.o"
	# $CXX links: the engine library of the infrastructure may be C++.
	# stress mode's RCU is liburcu (urcu-memb), the Dockerfile installs
	# it; linked statically, as the OSS-Fuzz runner image does not have it
	$CXX $CXXFLAGS "$obj/$name.main.o" "$obj/libmigrace.a" \
		$LIB_FUZZING_ENGINE -l:liburcu-memb.a -l:liburcu-common.a -lpthread \
		-o "$OUT/$name"
	targets="$targets $name"
}

target fuzz_migrate fuzz/fuzz_migrate.c
target fuzz_migrate_vivt fuzz/fuzz_migrate.c -DMIGRACE_TARGET_ARCH='"vivt"'
target fuzz_migrate_strict fuzz/fuzz_migrate.c -DMIGRACE_TARGET_STRICT='"1"'
target fuzz_repro fuzz/fuzz_repro.c
# Variants on request: a proposed patch (rfc-unified) with known findings
# would only repeat them on OSS-Fuzz; the fleet script and reviewers of
# the patch build it.
for v in $(echo "${MIGRACE_VARIANT_TARGETS:-}" | tr , ' '); do
	case $v in
	rfc-unified) ;;
	*) echo "build.sh: MIGRACE_VARIANT_TARGETS: unknown variant '$v' (rfc-unified)" >&2
	   exit 2 ;;
	esac
	target "fuzz_migrate_$(echo "$v" | tr - _)" fuzz/fuzz_migrate.c \
		-DMIGRACE_TARGET_VARIANT="\"$v\""
done

fixes=$(sed -n 's/^[[:space:]]*FIX_[A-Z0-9_]*, "\([a-z0-9-]*\)",.*/\1/p' engine/migrate/fixes.c)
if [ "$MIGRACE_REVERTED_TARGETS" = all ]; then
	MIGRACE_REVERTED_TARGETS=$(echo $fixes | tr ' ' ,)
fi
for fix in $(echo "$MIGRACE_REVERTED_TARGETS" | tr , ' '); do
	echo "$fixes" | grep -qx -- "$fix" || {
		echo "build.sh: MIGRACE_REVERTED_TARGETS: unknown fix '$fix'" >&2
		exit 2
	}
	target "fuzz_migrate_revert_$(echo "$fix" | tr - _)" fuzz/fuzz_migrate.c \
		-DMIGRACE_TARGET_REVERT="\"$fix\""
done

# ---- dictionaries: corpus/<target>.dict, else corpus/<base>.dict (the
# fuzz_migrate_* targets share fuzz_migrate's, made by ci/make-seeds.sh),
# else, for the parser target, one made here from the sources.
gen_repro_dict() {
	echo "# fuzz_repro: made by ci/oss-fuzz/build.sh from the sources"
	{
		# op names (engine/prog/prog.c), advice, fixes, keywords
		sed -n 's/^[[:space:]]*\[OP_[A-Z_]*\] = "\([a-z_]*\)",.*/\1(/p' engine/prog/prog.c
		grep -o 'MADV_[A-Z]*\|PROT_[A-Z]*' engine/prog/prog.c | sort -u
		echo "$fixes"
		printf '%s\n' "variant upstream" "variant rfc-unified" "arch x86" \
			"arch vivt" strict "revert none" "revert all" "setup" \
			populate fork warm swapped "cpus " "cpu 0:" "cpu 1:" \
			"schedule:" "run " " until " " in " " to end" " releases" \
			private coherent decline failcopy slot node " @1" \
			--cpus --ops --seed --budget --runs --revert --variant \
			--arch --strict --depth --strategy --program --trace -o
		# named points (the generated catalog)
		sed -n 's/^[[:space:]]*"\([^"\\]*\)",$/\1/p' "$obj/points.c"
	} | sort -u | awk 'length($0) > 1 { printf "kw%d=\"%s\"\n", NR, $0 }'
}
for t in $targets; do
	base=${t%%_vivt}
	base=${base%%_rfc_unified}
	base=${base%%_strict}
	base=${base%%_revert_*}
	if [ -f "corpus/$t.dict" ]; then
		cp "corpus/$t.dict" "$OUT/$t.dict"
	elif [ -f "corpus/$base.dict" ]; then
		cp "corpus/$base.dict" "$OUT/$t.dict"
	elif [ "$base" = fuzz_repro ]; then
		gen_repro_dict > "$OUT/$t.dict"
	else
		echo "# no corpus/$base.dict (ci/make-seeds.sh makes it)" > "$OUT/$t.dict"
	fi
done

# ---- seed corpora: every file of corpus/<target>/ or corpus/<base>/
# (and corpus/seeds/<base>/; ci/make-seeds.sh makes corpus/fuzz_migrate/);
# fuzz_repro also gets every repro of the corpus as repro text (first byte
# even: the text mode).
seeds=$WORK/migrace-seeds
rm -rf "$seeds"
for t in $targets; do
	base=${t%%_vivt}
	base=${base%%_rfc_unified}
	base=${base%%_strict}
	base=${base%%_revert_*}
	d=$seeds/$t
	mkdir -p "$d"
	for dir in "corpus/$t" "corpus/$base" "corpus/seeds/$base"; do
		[ -d "$dir" ] && find "$dir" -maxdepth 1 -type f -exec cp {} "$d/" \;
	done
	if [ "$base" = fuzz_repro ]; then
		for f in corpus/*/*.repro; do
			[ -f "$f" ] || continue
			n=$(echo "$f" | tr / _)
			{ printf '\0'; cat "$f"; } > "$d/$n"
		done
	fi
	rm -f "$OUT/${t}_seed_corpus.zip"
	if [ -z "$(ls -A "$d")" ]; then
		echo "build.sh: $t: no seeds (corpus/$base/ is empty)" >&2
		continue
	fi
	(cd "$d" && zip -q -X -r "$OUT/${t}_seed_corpus.zip" .)
done

# ---- options: corpus/<target>.options or corpus/<base>.options (its
# dictionary renamed to the target's), else made here; libFuzzer flags
# only: the settings are in the target itself.
for t in $targets; do
	base=${t%%_vivt}
	base=${base%%_rfc_unified}
	base=${base%%_strict}
	base=${base%%_revert_*}
	for f in "corpus/$t.options" "corpus/$base.options" ""; do
		[ -z "$f" ] || [ -f "$f" ] && break
	done
	if [ -n "$f" ]; then
		sed "s/^\(dict *= *\).*/\1$t.dict/" "$f" > "$OUT/$t.options"
		grep -q '^dict *=' "$OUT/$t.options" ||
			echo "build.sh: $f names no dict" >&2
		continue
	fi
	case $t in
	fuzz_repro) max_len=4096 ;;
	*) max_len=512 ;;
	esac
	cat > "$OUT/$t.options" <<OPTS
[libfuzzer]
dict = $t.dict
max_len = $max_len
OPTS
done
echo "build.sh: built$targets into $OUT"
