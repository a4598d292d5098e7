#!/usr/bin/env bash
# Install what migrace needs on a Debian machine (idempotent).
set -eu
pkgs="build-essential cmake ninja-build clang libclang-rt-14-dev llvm afl++ liburcu-dev bc gnuplot-nox"
missing=""
for p in $pkgs; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "ci/setup.sh: installing:$missing"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
