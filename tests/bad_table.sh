#!/bin/sh
# bad_table.sh MIGRACE DIR [DOC]: the table of bad repro inputs and the
# messages migrace prints for them (markdown, from DIR/cases.txt).  With
# DOC, check that DOC holds exactly this table between its markers
# "<!-- bad-inputs:begin -->" and "<!-- bad-inputs:end -->".
migrace=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
dir=$2
doc=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
asan_note="^==[0-9]*==WARNING: ASan doesn't fully support makecontext/swapcontext"
{
	echo "| case | class | message (exit 2) |"
	echo "|---|---|---|"
	while IFS='|' read -r name cls frag; do
		case $name in '#'*|'') continue ;; esac
		cp "$dir/$name.repro" "$tmp/x"
		msg=$(cd "$tmp" && "$migrace" repro x 2>&1 >/dev/null |
		      grep -v "$asan_note" | sed 's/|/\\|/g')
		echo "| \`$name\` | $cls | \`$msg\` |"
	done < "$dir/cases.txt"
} > "$tmp/table"
if [ -z "$doc" ]; then
	cat "$tmp/table"
	exit 0
fi
sed -n '/<!-- bad-inputs:begin -->/,/<!-- bad-inputs:end -->/p' "$doc" |
	sed '1d;$d' > "$tmp/doc"
if ! diff -u "$tmp/doc" "$tmp/table"; then
	echo "$doc: the table of bad inputs is stale; regenerate it with"
	echo "  sh tests/bad_table.sh build/migrace tests/bad"
	exit 1
fi
