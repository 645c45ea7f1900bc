#!/bin/sh
# Installs what the tests need, builds, and runs the whole test suite under ctest.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
ctest --test-dir build --output-on-failure
