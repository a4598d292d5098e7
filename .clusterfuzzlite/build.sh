#!/bin/bash -eu
# ClusterFuzzLite (and OSS-Fuzz) copy this to $SRC/build.sh and run it
# from the checkout ($SRC/migrace, the Dockerfile's WORKDIR) with CC,
# CFLAGS, LIB_FUZZING_ENGINE, OUT, SRC and WORK set.  The script that does
# the work is shared with the fleet script: ci/oss-fuzz/build.sh.
for s in "$PWD/ci/oss-fuzz/build.sh" \
	 "$(dirname "${BASH_SOURCE[0]}")/../ci/oss-fuzz/build.sh" \
	 "${SRC:-/src}/migrace/ci/oss-fuzz/build.sh"; do
	[ -f "$s" ] && exec bash "$s"
done
echo "build.sh: cannot find ci/oss-fuzz/build.sh (run from the checkout)" >&2
exit 1
