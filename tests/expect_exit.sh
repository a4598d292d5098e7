#!/bin/sh
# expect_exit.sh STATUS CMD...: run CMD, pass if it exits with STATUS.
want=$1
shift
"$@"
got=$?
if [ "$got" -ne "$want" ]; then
	echo "expected exit status $want, got $got: $*" >&2
	exit 1
fi
exit 0
