#!/bin/sh
# minimize.sh MIGRACE FILE TMPDIR: `migrace minimize` of a regression keeps
# a regression: the result fails as written (exit 1), runs clean with every
# fix in place (exit 0), replays identically 20 times, has no more ops and
# no more preemptions than FILE, and its header says it was minimized and
# keeps the line naming how FILE was found.
migrace=$1 file=$2 tmp=$3
here=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$file" .repro)
out=$tmp/minimized-$name.repro
fail() {
	echo "FAIL: $name: $*" >&2
	exit 1
}
mkdir -p "$tmp" || exit 1
rm -f "$out"
"$migrace" minimize "$file" -o "$out" --budget 3 > "$tmp/minimize-$name.log" ||
	fail "minimize exited $?"
"$migrace" repro "$out" > "$tmp/after-$name.log"
[ $? -eq 1 ] || fail "the result does not reproduce"
"$migrace" repro "$out" --revert none > /dev/null ||
	fail "the result is not clean with every fix in place"
sh "$here/repro_stable.sh" "$migrace" "$out" 20 > /dev/null ||
	fail "the result does not replay deterministically"
# the same report: its first line (titles of regressions hold no pfn here)
t0=$("$migrace" repro "$file" | head -1 | sed 's/0x[0-9a-f]*/#/g; s/[0-9][0-9]*/#/g')
t1=$(head -1 "$tmp/after-$name.log" | sed 's/0x[0-9a-f]*/#/g; s/[0-9][0-9]*/#/g')
[ "$t0" = "$t1" ] || fail "another report: '$t1', was '$t0'"
ops() {	# the op lines of the cpu sections
	awk '/^cpu [0-9]+:/ { c = 1; next } /^schedule:/ { c = 0 }
	     c && /^    [a-z]/ { n++ } END { print n + 0 }' "$1"
}
pre() {
	"$migrace" repro "$1" | sed -n 's/^repro: .*, \([0-9]*\) preemptions)$/\1/p'
}
[ "$(ops "$out")" -le "$(ops "$file")" ] ||
	fail "$(ops "$out") ops, more than the $(ops "$file") of the input"
[ "$(pre "$out")" -le "$(pre "$file")" ] ||
	fail "$(pre "$out") preemptions, more than the $(pre "$file") of the input"
grep -q "^# minimized by: migrace minimize " "$out" || fail "no 'minimized by:' line"
grep -q "^# minimized from: " "$out" || fail "no 'minimized from:' line"
if grep -q "found from scratch by:" "$file"; then
	grep -q "found from scratch by:" "$out" || fail "lost the 'found from scratch by:' line"
fi
echo "ok: $name: $(ops "$file") -> $(ops "$out") ops, $(pre "$file") -> $(pre "$out") preemptions"
