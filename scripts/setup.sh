#!/bin/sh
# Installs the Debian 12 packages pareto_mpi needs (when missing) and builds it into build/.
#   scripts/setup.sh            build tools and libraries only
#   scripts/setup.sh --tests    also what the test suite uses (PyTorch, SciPy, valgrind, clang)
set -eu
cd "$(dirname "$0")/.."

packages="build-essential cmake pkg-config libopenblas-dev libyaml-dev zlib1g-dev \
libopenmpi-dev openmpi-bin libcmocka-dev"
if [ "${1:-}" = "--tests" ]; then
    packages="$packages python3-torch python3-scipy python3-matplotlib valgrind clang \
libclang-rt-14-dev"
fi

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
