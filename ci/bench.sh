#!/usr/bin/env bash
# The benchmark (never timed unit tests: these machines are noisy).  Writes
# the generated section of docs/benchmarks.md (between the bench.sh
# markers; the hand-written history below it is kept) and the plot
# docs/benchmarks-ttf.png:
#   - for every fix of `migrace fixes`, reverted: time-to-find from scratch
#     over SEEDS seeds (median, min..max) for explore PCT, explore random,
#     explore PCT with the feedback search,
#     libFuzzer (empty corpus) and AFL++ (one zero byte as its seed), each
#     run capped at CAP seconds (">CAP" when not found);
#   - executions per second per core of each engine on the fixed engine;
#   - the controlled versus unscheduled cost (tests/bench_overhead.c).
# Each fix runs with the settings of its regression file (strict, arch).
#
#   ci/bench.sh [--quick] [--seeds N] [--cap SECONDS] [--fixes "A B"]
#               [--engines "pct random feedback libfuzzer afl"] [--out FILE.md]
# --quick: 1 seed, 5 s caps, 3 s throughput runs, output under
# build/bench/ unless --out says otherwise (for testing the script).
# Needs the default, fuzz and afl builds (afl-cmplog is used if built);
# an engine whose build or tool is missing is reported as not measured.
set -u
cd "$(dirname "$0")/.."
root=$PWD
seeds=5
cap=60
tput=30
quick=0
fixes=""
engines="pct random feedback libfuzzer afl"
out=""
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1; seeds=1; cap=5; tput=3 ;;
	--seeds) seeds=$2; shift ;;
	--cap) cap=$2; shift ;;
	--fixes) fixes=$2; shift ;;
	--engines) engines=$2; shift ;;
	--out) out=$2; shift ;;
	[0-9]*) seeds=$1 ;;	# the old form: ci/bench.sh SEEDS
	*) echo "bench.sh: unknown argument '$1' (--quick, --seeds N, --cap S, --fixes, --engines, --out)" >&2; exit 2 ;;
	esac
	shift
done
if [ -z "$out" ]; then
	if [ $quick = 1 ]; then
		mkdir -p build/bench
		out=build/bench/benchmarks-quick.md
	else
		out=docs/benchmarks.md
	fi
fi
png=${out%.md}-ttf.png

mg=$root/build/migrace
lf=$root/build-fuzz/fuzz_migrate
afl=$root/build-afl/fuzz_migrate_afl
aflc=$root/build-afl-cmplog/fuzz_migrate_afl
# AFL++ runs with the structure-aware mutator beside its havoc when the
# default build has it (fuzz/afl_mutator.c).
aflmut=$root/build/migrace-afl-mutator.so
[ -f "$aflmut" ] && export AFL_CUSTOM_MUTATOR_LIBRARY=$aflmut
dict=$root/corpus/fuzz_migrate.dict
[ -x "$mg" ] || { echo "build first: cmake --preset default && cmake --build --preset default" >&2; exit 2; }
[ -n "$fixes" ] || fixes=$($mg fixes | awk '{print $1}')
have() {
	case $1 in
	pct|random|feedback) return 0 ;;
	libfuzzer) [ -x "$lf" ] ;;
	afl) [ -x "$afl" ] && command -v afl-fuzz >/dev/null ;;
	esac
}
for e in $engines; do
	have "$e" || echo "bench.sh: $e not measured (build or tool missing: cmake --preset fuzz / afl, ci/setup.sh)" >&2
done
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# The settings a fix needs, from its regression file.
settings_of() {
	local f=$root/corpus/regressions/$1.repro
	strict=0
	arch=x86
	[ -f "$f" ] || return 0
	grep -q '^strict' "$f" && strict=1
	grep -q '^arch vivt' "$f" && arch=vivt
	return 0
}

# One time-to-find: prints seconds, or ">CAP".
explore_flags() {	# ENGINE: pct, random (strategies), feedback (PCT, feedback search)
	case $1 in
	feedback) echo "--strategy pct --search feedback" ;;
	*) echo "--strategy $1" ;;
	esac
}

ttf_explore() {	# FIX SEED ENGINE
	local sflag="" o
	[ $strict = 1 ] && sflag=--strict
	o=$($mg explore $(explore_flags "$3") --revert "$1" $sflag --arch $arch \
		--seed "$2" --budget "$cap" -q -o "$tmp/e.repro" | tail -1)
	case $o in
	*"bug found after"*) echo "$o" | sed -n 's/.* \([0-9.]*\) s (seed.*/\1/p' ;;
	*) echo ">$cap" ;;
	esac
}

ttf_libfuzzer() {	# FIX SEED
	local d=$tmp/lf t0 t1
	rm -rf "$d" && mkdir -p "$d/corpus"
	t0=$(now)
	(cd "$d" && MIGRACE_REVERT=$1 MIGRACE_STRICT=$strict MIGRACE_ARCH=$arch \
		timeout $((cap + 30)) "$lf" -seed="$2" -max_total_time="$cap" \
		-dict="$dict" corpus > log 2>&1)
	t1=$(now)
	if grep -q '^BUG: migrace' "$d/log"; then elapsed "$t0" "$t1"; else echo ">$cap"; fi
}

# afl-fuzz 4.04c can leave its CMPLOG fork server's stopped persistent
# child behind (reparented to init): end those of this checkout's binaries.
reap_afl() {
	local p
	for p in $(ps -eo pid=,ppid=,args= | awk -v a="$afl" -v c="$aflc" \
			'$2 == 1 && ($3 == a || $3 == c) { print $1 }'); do
		kill -9 "$p" 2>/dev/null
	done
}

ttf_afl() {	# FIX SEED
	local d=$tmp/afl t0 t1 c=""
	rm -rf "$d" && mkdir -p "$d/in"
	printf '\0' > "$d/in/zero"
	[ -x "$aflc" ] && c="-c $aflc"
	t0=$(now)
	MIGRACE_REVERT=$1 MIGRACE_STRICT=$strict MIGRACE_ARCH=$arch \
	AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_BENCH_UNTIL_CRASH=1 \
	AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_CRASH_README=1 AFL_QUIET=1 \
		timeout $((cap + 30)) afl-fuzz -s "$2" -V "$cap" -i "$d/in" -o "$d/out" \
		-x "$dict" $c -- "$afl" > "$d/log" 2>&1
	t1=$(now)
	reap_afl
	if grep -qs 'saved_crashes *: [1-9]' "$d/out/default/fuzzer_stats"; then
		elapsed "$t0" "$t1"
	else
		echo ">$cap"
	fi
}

# median and range of a list where ">CAP" counts as above every time
summary() {
	tr ' ' '\n' | grep . | awk -v cap="$cap" '
	{ v = $1; nf = (v ~ /^>/); if (nf) { v = cap + 1; missed++ } a[NR] = v }
	END {
		n = asort_(a, NR)
		m = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		fmt = function_fmt(m)
		printf "%s (%s..%s)%s", fmt, function_fmt(a[1]), function_fmt(a[n]),
			missed ? sprintf(", %d/%d not found", missed, n) : ""
	}
	function asort_(x, n,   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && x[j - 1] > x[j]; j--) {
				t = x[j]; x[j] = x[j - 1]; x[j - 1] = t
			}
		return n
	}
	function function_fmt(v) { return v > cap ? ">" cap : sprintf("%.1f", v) }'
}
median_num() {	# for the plot: the median, the cap + 1 when not found
	tr ' ' '\n' | grep . | sed "s/^>.*/$((cap + 1))/" | sort -g |
		awk '{a[NR] = $1} END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
			print m < 0.05 ? 0.05 : m }'	# 0.0 s would not show on a log scale
}

label() {
	case $1 in
	pct) echo "explore PCT" ;; random) echo "explore random" ;;
	feedback) echo "explore feedback" ;;
	libfuzzer) echo "libFuzzer" ;; afl) echo "AFL++" ;;
	esac
}

# Throughput on the fixed engine, one process (one core) each.
tput_line() {
	local e=$1 o d
	case $e in
	pct|random|feedback)
		o=$($mg explore $(explore_flags "$e") --budget "$tput" --seed 99 -q | tail -1)
		echo "$o" | awk '{ for (i = 1; i <= NF; i++) { if ($(i+1) == "schedules,") n = $i; if ($(i+1) == "s") t = $i } } END { printf "%.0f", n / t }'
		;;
	libfuzzer)
		d=$tmp/tp && rm -rf "$d" && mkdir -p "$d/corpus"
		# inputs per second, and the schedules they ran per second
		(cd "$d" && "$lf" -seed=1 -max_total_time="$tput" -print_final_stats=1 \
			-dict="$dict" corpus 2>&1 | awk '
			/^stat::average_exec_per_sec:/ { x = $2 }
			/^fuzz_migrate: [0-9]+ inputs, [0-9]+ schedules/ { per = $5 / $3 }
			END { if (x != "") printf "%d inputs (%.0f schedules)", x, x * per }')
		;;
	afl)
		d=$tmp/tpa && rm -rf "$d" && mkdir -p "$d/in"
		cp "$root"/corpus/fuzz_migrate/seed-* "$d/in/"
		AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_QUIET=1 \
		AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
			timeout $((tput + 30)) afl-fuzz -s 1 -V "$tput" -i "$d/in" -o "$d/out" \
			-x "$dict" -- "$afl" > /dev/null 2>&1
		reap_afl
		sed -n 's/^execs_per_sec *: *\([0-9]*\).*/\1/p' "$d/out/default/fuzzer_stats" 2>/dev/null
		;;
	esac
}
trows=""
for e in $engines; do
	have "$e" || continue
	v=$(tput_line "$e")
	echo "bench.sh: throughput $e: $v/s" >&2
	trows="$trows| $(label "$e") | ${v:-?} |
"
done
overhead=""
[ -x build/tests/bench_overhead ] && overhead=$(build/tests/bench_overhead)
handover=""
[ -x build/tests/bench_fiber ] && handover=$(build/tests/bench_fiber 2>&1)


# The document: written after every fix, so a cut-short run keeps what
# it measured (the text says how many fixes are in).
nfixes=$(echo $fixes | wc -w)
done_fixes=0
write_doc() {
	# The plot: median time-to-find per fix and engine (log scale; a bar at
	# the cap means not found within it).
	plotted=0
	if command -v gnuplot >/dev/null && [ -s "$tmp/plot.dat" ]; then
		cols=""
		i=2
		for e in $engines; do
			if [ $i = 2 ]; then
				cols="'$tmp/plot.dat' using 2:xtic(1) title '$(label "$e")'"
			else
				cols="$cols, '' using $i title '$(label "$e")'"
			fi
			i=$((i + 1))
		done
		gnuplot <<-EOF && plotted=1
	set terminal png size 1100,520 font ",10"
	set output '$png'
	set title "Median time-to-find from scratch over $seeds seed(s), one core (bar at $((cap + 1)) s: not found within ${cap} s; under 0.05 s drawn at 0.05)"
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set logscale y
	set yrange [0.01:$((cap * 3))]
	set ylabel "seconds"
	set xtics rotate by -30
	set key outside right top
	set grid ytics
	plot $cols
	EOF
	fi


	{
		echo "<!-- bench.sh: begin generated (ci/bench.sh rewrites this part; history below) -->"
		echo "## Generated by ci/bench.sh"
		echo
		echo "$(date -u +%Y-%m-%d), $(git rev-parse --short HEAD 2>/dev/null), $(nproc) cores (load average at the start: $load), \`ci/bench.sh$([ $quick = 1 ] && echo ' --quick') --seeds $seeds --cap $cap\`."
		echo "Time-to-find from scratch in wall-clock seconds on one core, median"
		echo "(min..max) over seeds 1..$seeds, each run capped at ${cap} s. explore:"
		echo "\`migrace explore --strategy pct|random --revert FIX --seed S --budget $cap\`"
		echo "(feedback: \`--strategy pct --search feedback\`);"
		echo "libFuzzer: \`MIGRACE_REVERT=FIX build-fuzz/fuzz_migrate -seed=S -dict=corpus/fuzz_migrate.dict\`"
		echo "from an empty corpus; AFL++: \`$([ -f "$aflmut" ] && echo 'AFL_CUSTOM_MUTATOR_LIBRARY=build/migrace-afl-mutator.so ')afl-fuzz -s S -x corpus/fuzz_migrate.dict$([ -x "$aflc" ] && echo ' -c build-afl-cmplog/fuzz_migrate_afl')\`"
		echo "(persistent mode) from one zero byte. A fix whose regression file says"
		echo "strict or arch vivt runs with that setting."
		[ $done_fixes -lt $nfixes ] && echo "**Partial: $done_fixes of $nfixes fixes measured so far.**"
		echo
		printf '| fix |'
		for e in $engines; do printf ' %s |' "$(label "$e")"; done
		echo
		printf '|---|'
		for e in $engines; do printf -- '---|'; done
		echo
		printf '%s' "$rows"
		echo
		[ $plotted = 1 ] && echo "![time-to-find per fix and engine]($(basename "$png"))" && echo
		echo "Executions per second on one core, fixed engine, ${tput} s each"
		echo "(explore: schedules; libFuzzer: inputs from an empty corpus, each up to 4"
		echo "schedules of one program (its structure-aware mutator's inputs), and the"
		echo "schedules those inputs ran; AFL++: inputs from the seed corpus):"
		echo
		echo "| engine | executions/s |"
		echo "|---|---|"
		printf '%s' "$trows"
		echo
		if [ -n "$overhead" ]; then
			echo "Controlled versus unscheduled cost, same programs (\`build/tests/bench_overhead\`):"
			echo
			echo "    $overhead"
			echo
		fi
		if [ -n "$handover" ]; then
			echo "CPU hand-over cost (\`build/tests/bench_fiber\`):"
			echo
			echo "$handover" | sed 's/^/    /'
			echo
		fi
		echo "<!-- bench.sh: end generated -->"
	} > "$tmp/gen.md"

	# Splice: replace the generated part, or put it after the title.
	if [ -f "$out" ] && grep -q '<!-- bench.sh: begin generated' "$out"; then
		awk -v gen="$tmp/gen.md" '
			/<!-- bench.sh: begin generated/ { while ((getline l < gen) > 0) print l; skip = 1; next }
			/<!-- bench.sh: end generated/ { skip = 0; next }
			!skip' "$out" > "$tmp/new.md"
	elif [ -f "$out" ]; then
		awk -v gen="$tmp/gen.md" '
			NR == 1 { print; print ""; while ((getline l < gen) > 0) print l; next }
			{ print }' "$out" > "$tmp/new.md"
	else
		{ echo "# Benchmarks"; echo; cat "$tmp/gen.md"; } > "$tmp/new.md"
	fi
	cp "$tmp/new.md" "$out"
	echo "bench.sh: wrote $out$([ $plotted = 1 ] && echo " and $png")" >&2
}

echo "bench.sh: $seeds seed(s), ${cap} s cap, engines: $engines" >&2
: > "$tmp/plot.dat"
rows=""
for fix in $fixes; do
	settings_of "$fix"
	row="| \`$fix\`$([ $strict = 1 ] && echo ' (strict)')$([ $arch = vivt ] && echo ' (vivt)') |"
	pline="$fix"
	for e in $engines; do
		if ! have "$e"; then
			row="$row not measured |"
			pline="$pline NaN"
			continue
		fi
		times=""
		for s in $(seq 1 "$seeds"); do
			case $e in
			pct|random|feedback) t=$(ttf_explore "$fix" "$s" "$e") ;;
			libfuzzer) t=$(ttf_libfuzzer "$fix" "$s") ;;
			afl) t=$(ttf_afl "$fix" "$s") ;;
			esac
			echo "bench.sh: $fix $e seed $s: $t s" >&2
			times="$times $t"
		done
		row="$row $(echo "$times" | summary) |"
		pline="$pline $(echo "$times" | median_num)"
	done
	rows="$rows$row
"
	echo "$pline" >> "$tmp/plot.dat"
	done_fixes=$((done_fixes + 1))
	write_doc
done
