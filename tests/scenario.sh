#!/bin/sh
# Replay a scenario (corpus/scenarios) under one variant and check the
# outcome its "# expect VARIANT: ..." line states: 0, or 1 and a report
# whose first line contains the given text.
# usage: scenario.sh MIGRACE FILE VARIANT
migrace=$1 file=$2 variant=$3
want=$(sed -n "s/^# expect $variant: //p" "$file" | head -1)
if [ -z "$want" ]; then
	echo "$file: no '# expect $variant:' line" >&2
	exit 1
fi
code=${want%% *}
text=
[ "$code" != "$want" ] && text=${want#* }
out=$("$migrace" repro "$file" --variant "$variant" 2>&1)
rc=$?
if [ "$rc" != "$code" ]; then
	printf '%s\n' "$out" | head -20
	echo "$file ($variant): exit $rc, expected $code" >&2
	exit 1
fi
# the report's first line (a sanitizer's own warnings start with ==)
if [ -n "$text" ] && ! printf '%s\n' "$out" | grep -v '^==' | head -1 | grep -qF -- "$text"; then
	printf '%s\n' "$out" | head -5
	echo "$file ($variant): report does not say '$text'" >&2
	exit 1
fi
exit 0
