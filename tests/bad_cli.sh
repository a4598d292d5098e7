#!/bin/sh
# bad_cli.sh MIGRACE CLASS: the command line's bad input, by class
# (options, environment, files, crash).  Every bad case must exit 2 with
# exactly one line on stderr holding the expected fragment; the good cases
# around them (standard input, a long -o path) must work.
migrace=$1
class=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
here=$(cd "$(dirname "$0")" && pwd)
good_repro=$here/bad/good-comments-everywhere.repro
fail=0
n=0
# The ASan runtime warns once about swapcontext (the fibers) on stderr;
# that line is the sanitizer's, not migrace's, and is not counted.
asan_note="^==[0-9]*==WARNING: ASan doesn't fully support makecontext/swapcontext"

# expect STATUS FRAGMENT CMD...: exit STATUS, one stderr line with FRAGMENT
# (STATUS 2); for other statuses, only the status.
expect() {
	want=$1 frag=$2
	shift 2
	n=$((n + 1))
	"$@" >"$tmp/out" 2>"$tmp/err.raw" </dev/null
	st=$?
	grep -v "$asan_note" "$tmp/err.raw" > "$tmp/err"
	lines=$(wc -l < "$tmp/err")
	if [ $st -ne "$want" ]; then
		echo "FAIL: exit $st, want $want: $*"
		cat "$tmp/err"
		fail=1
	elif [ "$want" -eq 2 ] && { [ "$lines" -ne 1 ] ||
				    ! grep -qF -- "$frag" "$tmp/err"; }; then
		echo "FAIL: $lines line(s) on stderr (want 1 with '$frag'): $*"
		cat "$tmp/err"
		fail=1
	fi
}

long_list() {	# 40 good names, then $1
	i=0 l=""
	while [ $i -lt 40 ]; do
		l="${l}flush-tlb-under-ptl,"
		i=$((i + 1))
	done
	echo "$l$1"
}

case $class in
options)
	expect 2 "missing command" "$migrace"
	expect 2 "unknown command 'frob'" "$migrace" frob
	expect 2 "fixes takes no arguments" "$migrace" fixes x
	expect 2 "unknown option '--bogus'" "$migrace" explore --bogus
	expect 2 "--budget: '-1' is not valid" "$migrace" explore --budget -1
	expect 2 "--budget: '0' is not valid" "$migrace" explore --budget 0
	expect 2 "--budget: 'nan' is not valid" "$migrace" explore --budget nan
	expect 2 "--budget: 'inf' is not valid" "$migrace" explore --budget inf
	expect 2 "--budget: '1e3' is not valid" "$migrace" explore --budget 1e3
	expect 2 "--runs: '-1' is not valid (1..4611686018427387904)" "$migrace" explore --runs -1
	expect 2 "--runs: '0' is not valid" "$migrace" explore --runs 0
	expect 2 "--runs and --budget exclude each other" "$migrace" explore --runs 5 --budget 5
	expect 2 "--cpus: '4294967298' is not valid (2..4)" "$migrace" explore --cpus 4294967298
	expect 2 "--cpus: '1' is not valid (2..4)" "$migrace" explore --cpus 1
	expect 2 "--cpus: ' 3' is not valid" "$migrace" explore --cpus " 3"
	expect 2 "--ops: '17' is not valid (1..16)" "$migrace" explore --ops 17
	expect 2 "--depth: '9' is not valid (1..8)" "$migrace" explore --depth 9
	expect 2 "--depth: '3x' is not valid" "$migrace" explore --depth 3x
	expect 2 "--seed: '18446744073709551616' is not valid" "$migrace" explore --seed 18446744073709551616
	expect 2 "--seed: '-5' is not valid" "$migrace" explore --seed -5
	expect 2 "--strategy: 'dfs' is not valid (pct or random)" "$migrace" explore --strategy dfs
	expect 2 "--search: 'smart' is not valid (random or feedback)" "$migrace" explore --search smart
	expect 2 "--search has no effect with --program (the file gives the program)" "$migrace" explore --program "$good_repro" --search random
	expect 2 "--cpus needs a value (2..4)" "$migrace" explore --cpus
	expect 2 "--cpus given twice" "$migrace" explore --cpus 2 --cpus 3
	expect 2 "--trace is not an option of explore (repro only)" "$migrace" explore --trace
	expect 2 "--cpus is not an option of repro (explore only)" "$migrace" repro "$good_repro" --cpus 3
	expect 2 "--strict takes no value" "$migrace" explore --strict=yes
	expect 0 "" "$migrace" explore --runs 3 -q --variant rfc-unified
	expect 2 "--arch: unknown arch 'arm'" "$migrace" explore --arch arm
	expect 2 "--revert: unknown fix 'no-such-fix'" "$migrace" explore --revert no-such-fix
	expect 2 "--revert: empty fix list" "$migrace" explore --revert ""
	expect 2 "--revert: unknown fix ''" "$migrace" explore --revert flush-tlb-under-ptl,
	expect 2 "--revert: unknown fix 'none'" "$migrace" explore --revert flush-tlb-under-ptl,none
	# a bad name past 511 characters is still found
	expect 2 "--revert: unknown fix 'bogus'" "$migrace" explore --revert "$(long_list bogus)"
	expect 0 "" "$migrace" explore --runs 1 -q --revert "$(long_list flush-tlb-under-ptl)"
	expect 2 "-o: empty path" "$migrace" explore -o ""
	expect 2 "--cpus has no effect with --program" "$migrace" explore --program "$good_repro" --cpus 3
	expect 2 "-q and -v exclude each other" "$migrace" explore -q -v
	expect 2 "explore takes no file argument" "$migrace" explore x.repro
	expect 2 "repro needs a FILE" "$migrace" repro
	expect 2 "repro takes one FILE: unexpected 'b'" "$migrace" repro a b
	expect 2 "decode needs -o REPRO" "$migrace" decode "$good_repro"
	expect 2 "decode needs a FILE" "$migrace" decode -o "$tmp/x.repro"
	expect 2 "minimize needs -o OUT" "$migrace" minimize "$good_repro"
	expect 2 "minimize needs a FILE" "$migrace" minimize -o "$tmp/x.repro"
	expect 2 "--budget: '0' is not valid" "$migrace" minimize "$good_repro" -o "$tmp/x.repro" --budget 0
	expect 2 "--cpus is not an option of minimize (explore only)" "$migrace" minimize "$good_repro" -o "$tmp/x.repro" --cpus 2
	expect 2 "--trace is not an option of minimize (repro only)" "$migrace" minimize "$good_repro" -o "$tmp/x.repro" --trace
	expect 2 "good-comments-everywhere.repro: the replay reports nothing: nothing to minimize" "$migrace" minimize "$good_repro" -o "$tmp/x.repro"
	[ -e "$tmp/x.repro" ] && { echo "FAIL: minimize of a clean file wrote its output"; fail=1; }
	expect 2 "encode needs -o FUZZ_INPUT" "$migrace" encode "$good_repro"
	expect 2 "encode needs a FILE" "$migrace" encode -o "$tmp/x.bin"
	expect 2 "--revert is not an option of encode" "$migrace" encode "$good_repro" -o "$tmp/x.bin" --revert none
	# encode and decode are inverses (the program; settings come from the environment)
	expect 0 "" "$migrace" encode "$good_repro" -o "$tmp/g.bin"
	expect 0 "" "$migrace" decode "$tmp/g.bin" -o "$tmp/g.repro"
	expect 0 "" "$migrace" encode "$tmp/g.repro" -o "$tmp/g2.bin"
	cmp -s "$tmp/g.bin" "$tmp/g2.bin" || { echo "FAIL: encode(decode(encode F)) differs from encode F"; fail=1; }
	expect 2 "--seed: repro takes it only with --continue" "$migrace" repro "$good_repro" --seed 3
	expect 2 "--strategy: repro takes it only with --continue" "$migrace" repro "$good_repro" --strategy random
	expect 2 "-o: repro takes it only with --continue" "$migrace" repro "$good_repro" -o "$tmp/x.repro"
	expect 2 "--strategy: 'dfs' is not valid (pct or random)" "$migrace" repro "$good_repro" --continue --strategy dfs
	expect 2 "--ktap replays each FILE as written" "$migrace" repro --ktap "$good_repro" --revert none
	expect 2 "--ktap replays each FILE as written" "$migrace" repro --ktap --continue "$good_repro"
	expect 2 "--ktap reads files, not standard input" "$migrace" repro --ktap -
	expect 2 "/nonexistent.repro: No such file or directory" "$migrace" repro --ktap "$good_repro" /nonexistent.repro
	expect 2 "--check-determinism is not an option of repro (explore only)" "$migrace" repro "$good_repro" --check-determinism
	expect 2 "--continue is not an option of explore (repro only)" "$migrace" explore --continue
	expect 2 "MIGRACE_SELFTEST_NONDETERMINISM must be 1 or unset" env MIGRACE_SELFTEST_NONDETERMINISM=2 "$migrace" explore --runs 1
	expect 0 "" "$migrace" explore --runs=3 --cpus=3 --seed 0x10 -q
	expect 0 "" "$migrace" explore --budget 0.2 -q
	expect 0 "" "$migrace" --help
	# --program honours the file's variant and arch
	printf 'variant rfc-unified\ncpu 0:\n    write(p1)\n' > "$tmp/rfc.repro"
	expect 0 "" "$migrace" explore --runs 1 -q --program "$tmp/rfc.repro"
	printf 'arch vivt\ncpu 0:\n    write(p1)\n' > "$tmp/vivt.repro"
	expect 0 "" "$migrace" explore --runs 1 -q --program "$tmp/vivt.repro"
	expect 2 "--arch: unknown arch 'arm' (x86 or vivt)" "$migrace" explore --arch arm
	expect 2 "x:2:11: page p9 is out of range" sh -c "cd '$tmp' && printf 'cpu 0:\n    write(p9)\n' > x && '$migrace' explore --program x"
	;;
environment)
	in=$tmp/input
	printf '\016\002\060\021\001\005\042' > "$in"
	expect 2 "MIGRACE_REVERT is set but empty" env MIGRACE_REVERT= "$migrace" decode "$in" -o "$tmp/d.repro"
	expect 2 "MIGRACE_REVERT: unknown fix 'bogus'" env MIGRACE_REVERT="$(long_list bogus)" "$migrace" decode "$in" -o "$tmp/d.repro"
	expect 2 "MIGRACE_VARIANT is set but empty" env MIGRACE_VARIANT= "$migrace" decode "$in" -o "$tmp/d.repro"
	expect 0 "" env MIGRACE_VARIANT=rfc-unified "$migrace" decode "$in" -o "$tmp/d.repro"
	expect 2 "MIGRACE_VARIANT: unknown variant 'up'" env MIGRACE_VARIANT=up "$migrace" decode "$in" -o "$tmp/d.repro"
	expect 2 "MIGRACE_ARCH is set but empty" env MIGRACE_ARCH= "$migrace" decode "$in" -o "$tmp/d.repro"
	expect 2 "MIGRACE_ARCH: unknown arch 'VIVT' (x86 or vivt)" env MIGRACE_ARCH=VIVT "$migrace" decode "$in" -o "$tmp/d.repro"
	expect 0 "" env MIGRACE_ARCH=vivt "$migrace" decode "$in" -o "$tmp/d.repro"
	grep -q '^arch vivt$' "$tmp/d.repro" || { echo "FAIL: decode ignored MIGRACE_ARCH"; fail=1; }
	expect 2 "MIGRACE_STRICT must be 0 or 1" env MIGRACE_STRICT=yes "$migrace" decode "$in" -o "$tmp/d.repro"
	expect 2 "MIGRACE_STRICT is set but empty" env MIGRACE_STRICT= "$migrace" decode "$in" -o "$tmp/d.repro"
	expect 0 "" env MIGRACE_REVERT=flush-tlb-under-ptl MIGRACE_VARIANT=upstream MIGRACE_ARCH=x86 "$migrace" decode "$in" -o "$tmp/d.repro"
	grep -q '^revert flush-tlb-under-ptl$' "$tmp/d.repro" || { echo "FAIL: decode ignored MIGRACE_REVERT"; fail=1; }
	;;
files)
	expect 2 "/nonexistent.repro: No such file or directory" "$migrace" repro /nonexistent.repro
	expect 2 "$tmp: is a directory" "$migrace" repro "$tmp"
	expect 2 "$tmp: is a directory" "$migrace" decode "$tmp" -o "$tmp/x.repro"
	expect 2 "$tmp: is a directory" "$migrace" encode "$tmp" -o "$tmp/x.bin"
	expect 2 "notes:2:1: unknown keyword 'This'" sh -c "printf '# n\nThis\n' > '$tmp/notes' && '$migrace' encode '$tmp/notes' -o '$tmp/x.bin'"
	expect 2 "-o $tmp: is a directory" "$migrace" encode "$good_repro" -o "$tmp"
	mkfifo "$tmp/fifo"
	expect 2 "fifo: not a regular file (a FIFO)" "$migrace" repro "$tmp/fifo"
	expect 2 "/dev/null: not a regular file (a character device)" "$migrace" repro /dev/null
	printf '# notes\nThis is not a repro file\n' > "$tmp/notes.txt"
	expect 2 "notes.txt:2:1: unknown keyword 'This'" "$migrace" repro "$tmp/notes.txt"
	: > "$tmp/empty.repro"
	expect 2 "empty.repro:1:1: no 'cpu 0:' section" "$migrace" repro "$tmp/empty.repro"
	# standard input
	n=$((n + 1))
	if ! "$migrace" repro - < "$good_repro" > "$tmp/out" 2>&1 ||
	   ! grep -q "repro: <stdin>: clean" "$tmp/out"; then
		echo "FAIL: repro - < FILE"; cat "$tmp/out"; fail=1
	fi
	expect 2 "<stdin>:1:1: unknown keyword 'hello'" sh -c "echo hello | '$migrace' repro -"
	# output paths: refused before the run, never cut, never named unwritten
	expect 2 "-o $tmp: is a directory" "$migrace" explore --revert flush-tlb-under-ptl -o "$tmp"
	expect 2 "its directory does not exist" "$migrace" explore --revert flush-tlb-under-ptl -o "$tmp/no/such/dir/x.repro"
	expect 2 "its directory does not exist" "$migrace" decode "$good_repro" -o "$tmp/no/x.repro"
	expect 2 "its directory does not exist" "$migrace" minimize "$good_repro" -o "$tmp/no/x.repro"
	expect 2 "/nonexistent.repro: No such file or directory" "$migrace" minimize /nonexistent.repro -o "$tmp/x.repro"
	if [ -e /dev/full ]; then
		expect 2 "cannot write /dev/full: No space left on device" "$migrace" decode "$good_repro" -o /dev/full
		if grep -q "repro:" "$tmp/out"; then
			echo "FAIL: stdout names a file that was not written"; fail=1
		fi
	fi
	d=$tmp
	for part in aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \
		    bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb \
		    cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc; do
		d=$d/$part
	done
	mkdir -p "$d"
	long=$d/found.repro	# over 300 characters
	# The schedules of a known program: quick, whatever the generator draws.
	expect 1 "" "$migrace" explore --program "$here/../corpus/regressions/flush-tlb-under-ptl.repro" --seed 1 -q -o "$long"
	n=$((n + 1))
	if [ ! -s "$long" ] || ! grep -qxF "repro: $long   (migrace repro FILE)" "$tmp/out"; then
		echo "FAIL: the ${#long}-character -o path was not written as named"; fail=1
	fi
	expect 2 "its directory does not exist" "$migrace" explore --revert flush-tlb-under-ptl -o "$d/x/found.repro"
	;;
crash)
	# A harness crash exits 3 in every build, never 1 (a bug found).
	for sig in ABRT SEGV; do
		n=$((n + 1))
		"$migrace" explore --runs 100000000 -q > /dev/null 2>"$tmp/err" &
		pid=$!
		# a watchdog: a handler that hangs must fail, not stall CI
		(sleep 60; kill -KILL $pid) >/dev/null 2>&1 &
		dog=$!
		sleep 1
		kill -$sig $pid
		wait $pid
		st=$?
		kill $dog 2>/dev/null
		if [ $st -ne 3 ]; then
			echo "FAIL: SIG$sig gave exit $st, want 3"; cat "$tmp/err"; fail=1
		fi
	done
	;;
progress)
	# Not on a terminal: a plain line every 10 s; -q: none.
	n=$((n + 1))
	"$migrace" explore --budget 11 2>"$tmp/err" >/dev/null
	if ! grep -q "^explore: [0-9]* programs, [0-9]* schedules, [0-9]* schedules/s, 10 s elapsed, 1 s left$" "$tmp/err"; then
		echo "FAIL: no progress line after 10 s"; cat "$tmp/err"; fail=1
	fi
	n=$((n + 1))
	"$migrace" explore --budget 11 -q 2>"$tmp/err.raw" >/dev/null
	grep -v "$asan_note" "$tmp/err.raw" > "$tmp/err"
	if [ -s "$tmp/err" ]; then
		echo "FAIL: -q printed"; cat "$tmp/err"; fail=1
	fi
	;;
*)
	echo "unknown class $class"
	exit 1
	;;
esac
echo "$n case(s) of class $class"
exit $fail
