#!/bin/sh
# bad_input.sh MIGRACE DIR CLASS: every case of CLASS in DIR/cases.txt, given
# to `migrace repro`, must exit 2 with exactly one line on stderr that holds
# the expected fragment.  CLASS "good": every DIR/good-*.repro must replay
# (exit 0).  Each case is copied to a file named "x", so messages read
# "x:LINE:COL: ...".
migrace=$1
dir=$2
class=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0
# The ASan runtime warns once about swapcontext (the fibers) on stderr;
# that line is the sanitizer's, not migrace's, and is not counted.
asan_note="^==[0-9]*==WARNING: ASan doesn't fully support makecontext/swapcontext"
if [ "$class" = good ]; then
	for f in "$dir"/good-*.repro; do
		n=$((n + 1))
		cp "$f" "$tmp/x"
		(cd "$tmp" && "$migrace" repro x >out 2>err)
		st=$?
		if [ $st -ne 0 ]; then
			echo "FAIL $(basename "$f"): exit $st, want 0: $(cat "$tmp/err")"
			fail=1
		fi
	done
else
	while IFS='|' read -r name cls frag; do
		case $name in '#'*|'') continue ;; esac
		[ "$cls" = "$class" ] || continue
		n=$((n + 1))
		cp "$dir/$name.repro" "$tmp/x"
		(cd "$tmp" && "$migrace" repro x >out 2>err.raw)
		st=$?
		grep -v "$asan_note" "$tmp/err.raw" > "$tmp/err"
		lines=$(wc -l < "$tmp/err")
		if [ $st -ne 2 ] || [ "$lines" -ne 1 ] ||
		   ! grep -qF -- "$frag" "$tmp/err"; then
			echo "FAIL $name: exit $st (want 2), $lines line(s) on stderr (want 1), want '$frag':"
			cat "$tmp/err"
			fail=1
		fi
	done < "$dir/cases.txt"
fi
if [ $n -eq 0 ]; then
	echo "no cases of class $class"
	exit 1
fi
echo "$n case(s) of class $class"
exit $fail
