#!/bin/sh
# Runs pareto_mpi under valgrind's memcheck as a single process: the tiny config (every code
# path of a run) and one failing run (a truncated data file), each with no error and no leak.
#
#   tests/valgrind.sh SOURCE_DIR WORK_DIR
#
# The binary is built again without -march=native (valgrind 3.19 cannot run AVX-512 code) and
# with debug information. Open MPI keeps memory it never frees; tests/valgrind/openmpi.supp
# suppresses the leaks whose allocation passed through MPI_Init, MPI_Finalize or Open MPI's
# progress thread, and nothing else. Definite, indirect and possible leaks all count as errors;
# still-reachable blocks do not (OpenBLAS keeps its buffers until exit by design).
# Exits 77 (skipped) when valgrind is not installed.
set -eu
src=$(cd "$1" && pwd)
work=$2
if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind: skipped: valgrind is not installed"
    exit 77
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
build="$work/build-valgrind"
jobs=${PARETO_CHECK_JOBS:-2}

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARETO_NATIVE=OFF \
    -DBUILD_TESTING=OFF > "$work/configure.log"
cmake --build "$build" -j"$jobs" --target pareto_mpi > "$work/build.log" 2>&1 || {
    tail -n 40 "$work/build.log"
    exit 1
}

run="$work/run"
rm -rf "$run"
mkdir -p "$run"
ln -s "$src/tests" "$run/tests"
head -c 9000 "$src/tests/tiny/train.gz" > "$run/truncated.gz"
sed -e 's#tests/tiny/train.gz#truncated.gz#' -e 's#build-tiny/results#truncated-out#' \
    "$src/tests/tiny/tiny.yaml" > "$run/truncated.yaml"

export OPENBLAS_NUM_THREADS=1
status=0
# name, config, expected exit status of the program itself
for case in "tiny tests/tiny/tiny.yaml 0" "truncated truncated.yaml 1"; do
    set -- $case
    log="$work/valgrind-$1.log"
    rc=0
    (cd "$run" && valgrind --error-exitcode=99 --leak-check=full --num-callers=50 \
        --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible \
        --suppressions="$src/tests/valgrind/openmpi.supp" \
        "$build/pareto_mpi" "$2" --quiet) > "$log" 2>&1 || rc=$?
    if [ "$rc" -ne "$3" ]; then
        echo "valgrind: $1 run: exit status $rc, expected $3 (99: valgrind found errors)"
        grep -v "^--" "$log" | tail -n 80
        status=1
    else
        echo "valgrind: $1 run: $(grep 'ERROR SUMMARY' "$log" | sed 's/^==[0-9]*== //')"
    fi
done
exit $status
