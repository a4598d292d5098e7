#!/bin/sh
# fuzz_min.sh MIGRACE FUZZ_RUN TMPDIR: a fuzzer crash minimized the way
# libFuzzer's -minimize_crash and afl-tmin do it (bytes removed while the
# target still crashes) decodes to a repro that reproduces.
#
# FUZZ_RUN is the fuzz target's own source driven without a fuzzer
# (tests/fuzz_run.c): a report aborts it, as in a fuzzing run.  A crashing
# input is the first of a fixed series of pseudo-random byte strings that
# crashes with every fix reverted; the minimizer truncates it, then deletes
# blocks and single bytes while the target still aborts.  Nothing here
# depends on the byte encoding (engine/prog/decode.c).
migrace=$1 target=$2 tmp=$3
export MIGRACE_REVERT=all LC_ALL=C
mkdir -p "$tmp" || exit 1
in=$tmp/crash cand=$tmp/cand
crashes() {	# the target aborts on $1 (exit status above 128: a signal)
	"$target" "$1" > /dev/null 2>&1
	[ $? -gt 128 ]
}
i=0 found=0
while [ $i -lt 300 ]; do
	awk -v seed=$((i + 1)) 'BEGIN { srand(seed); n = 8 + int(rand() * 56)
		for (k = 0; k < n; k++) printf "%c", int(rand() * 256) }' > "$in"
	if crashes "$in"; then
		found=1
		break
	fi
	i=$((i + 1))
done
[ $found -eq 1 ] || { echo "FAIL: no crash in 300 inputs with every fix reverted" >&2; exit 1; }
size0=$(wc -c < "$in")
# truncation, then removal of blocks of 8, 4, 2 and 1 bytes, to a fixpoint
changed=1
while [ $changed -eq 1 ]; do
	changed=0
	n=$(wc -c < "$in")
	while [ "$n" -gt 1 ]; do
		head -c $((n / 2)) "$in" > "$cand"
		crashes "$cand" || break
		cp "$cand" "$in"
		n=$(wc -c < "$in")
		changed=1
	done
	for b in 8 4 2 1; do
		p=0
		while [ $p -lt "$(wc -c < "$in")" ]; do
			{ head -c $p "$in"; tail -c +$((p + b + 1)) "$in"; } > "$cand"
			if [ "$(wc -c < "$cand")" -lt "$(wc -c < "$in")" ] && crashes "$cand"; then
				cp "$cand" "$in"
				changed=1
			else
				p=$((p + b))
			fi
		done
	done
done
size1=$(wc -c < "$in")
crashes "$in" || { echo "FAIL: the minimized input no longer crashes" >&2; exit 1; }
"$migrace" decode "$in" -o "$tmp/min.repro" || { echo "FAIL: decode exited $?" >&2; exit 1; }
"$migrace" repro "$tmp/min.repro" > "$tmp/min.log"
st=$?
if [ $st -ne 1 ]; then
	echo "FAIL: the decoded repro of the minimized crash exits $st, not 1" >&2
	cat "$tmp/min.repro" >&2
	exit 1
fi
here=$(cd "$(dirname "$0")" && pwd)
sh "$here/repro_stable.sh" "$migrace" "$tmp/min.repro" 5 > /dev/null ||
	{ echo "FAIL: the decoded repro does not replay deterministically" >&2; exit 1; }
echo "ok: input $((i + 1)) crashes ($size0 bytes), minimized to $size1 bytes; decoded: $(head -1 "$tmp/min.log")"
