#!/bin/sh
# repro_stable.sh MIGRACE FILE N: N replays give the same result and trace.
migrace=$1 file=$2 n=$3
first=$("$migrace" repro "$file" | grep -E '^(trace|repro):')
i=1
while [ "$i" -lt "$n" ]; do
	out=$("$migrace" repro "$file" | grep -E '^(trace|repro):')
	if [ "$out" != "$first" ]; then
		echo "replay $i differs:" >&2
		echo "$first" >&2
		echo "$out" >&2
		exit 1
	fi
	i=$((i + 1))
done
echo "$n replays identical: $(echo "$first" | head -1)"
