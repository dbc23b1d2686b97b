#!/bin/sh
# Install everything the tests need on a fresh Debian machine, then run them all.
set -eu
cd "$(dirname "$0")/.."
need=""
for tool in iverilog verilator yosys; do
    command -v "$tool" >/dev/null 2>&1 || need="$need $tool"
done
if [ -n "$need" ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need
fi
python3 -m pip install -q -e '.[dev]'
python3 -m pytest -q -p no:cacheprovider -n 2 tests
lit -q tests/filecheck
