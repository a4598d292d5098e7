#!/bin/sh
# report_shape.sh MIGRACE SRCDIR FILE: the replay of FILE reports (exit 1)
# in the shape of DESIGN.md "Reports": the kernel-style first line, the
# CPU that reported (or the end-state check), a line for each object the
# title names (a pfn, an anon_vma, a dev_pagemap), a CPU-column diagram of
# at least three events, and source paths relative to the repository,
# never the build's checkout.
migrace=$1 src=$2 file=$3
out=$("$migrace" repro "$file")
st=$?
fail() {
	echo "FAIL: $file: $*" >&2
	echo "$out" >&2
	exit 1
}
[ $st -eq 1 ] || fail "exit $st, want 1"
title=$(echo "$out" | head -1)
case $title in
"BUG: migrace: "*) ;;
*) fail "first line is not 'BUG: migrace: ...'" ;;
esac
echo "$out" | grep -Eq "^reported (on CPU [0-9]|by the end-state check)" ||
	fail "no 'reported on CPU N' line"
# the diagram: a CPU0 column header, its rule, then events up to 'trace:'
n=$(echo "$out" | awk '/^CPU0/ { h = NR } h && NR == h + 1 && /^----/ { d = 1; next }
	d && /^trace:/ { d = 0 } d { n++ } END { print n + 0 }')
[ "$n" -ge 3 ] || fail "diagram has $n event lines, want at least 3"
# no absolute source path anywhere; a kernel assertion names engine/...:LINE
echo "$out" | grep -v "^repro: " | grep -qF "$src/" &&
	fail "report holds the checkout path $src"
case $title in
*"BUG at "*|*"WARNING at "*)
	echo "$title" | grep -Eq " at (engine|include)/[a-z0-9_/]+\.[ch]:[0-9]+" ||
		fail "assertion without a repository-relative FILE:LINE"
	echo "$title" | grep -Eq "in [a-z_0-9]+\(\)|[a-z_0-9]+\(\) " ||
		fail "assertion without its function" ;;
esac
# the objects the title names have their detail line
pfn=$(echo "$title" | sed -n 's/.* pfn \([0-9][0-9]*\).*/\1/p')
if [ -n "$pfn" ]; then
	echo "$out" | grep -q "^page: pfn $pfn," || fail "no 'page: pfn $pfn' line"
fi
case $title in
*"freed anon_vma"*) echo "$out" | grep -q "^anon_vma" || fail "no anon_vma line" ;;
esac
case $title in
*dev_pagemap*) echo "$out" | grep -q "^dev_pagemap: " || fail "no dev_pagemap line" ;;
esac
echo "ok: $title ($n diagram lines)"
