#!/usr/bin/env bash
# Install what migrace needs on a Debian machine (idempotent);
# ci/setup.sh --test: and what the test suite needs.
set -eu
pkgs="build-essential cmake ninja-build clang libclang-rt-14-dev llvm afl++ liburcu-dev bc gnuplot-nox"
# The test suite also needs: python3 (KTAP validator, report pages), zip
# (OSS-Fuzz seed corpora), chromium (the report pages rendered headless).
[ "${1:-}" = --test ] && pkgs="$pkgs python3 zip unzip chromium"
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
