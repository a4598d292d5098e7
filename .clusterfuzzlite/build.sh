#!/bin/bash -eu
# ClusterFuzzLite (and OSS-Fuzz) run this from the project's checkout with
# CC, CFLAGS, LIB_FUZZING_ENGINE, OUT, SRC and WORK set; the script that
# does the work is shared with the fleet script: ci/oss-fuzz/build.sh.
exec bash "$(dirname "${BASH_SOURCE[0]}")/../ci/oss-fuzz/build.sh"
