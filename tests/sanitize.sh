#!/bin/sh
# Builds the project with AddressSanitizer and UndefinedBehaviorSanitizer and runs, under them,
# the unit tests, the end-to-end error tests and a run of the tiny config.
#
#   tests/sanitize.sh SOURCE_DIR WORK_DIR
#
# Leaks: LeakSanitizer is on everywhere. The unit tests need no suppressions. The pareto_mpi
# runs suppress the leaks of Open MPI's own allocations (tests/lsan_openmpi.supp), which needs
# full malloc stacks (fast_unwind_on_malloc=0), so a leak of the program's own memory still
# fails. Any sanitizer report exits 86, which no test expects.
set -eu
src=$(cd "$1" && pwd)
work=$2
mkdir -p "$work"
work=$(cd "$work" && pwd)
build="$work/build-asan"
jobs=${PARETO_CHECK_JOBS:-2}

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARETO_SANITIZE=ON \
    -DPARETO_SLOW_CHECKS=OFF > "$work/configure.log"
cmake --build "$build" -j"$jobs" > "$work/build.log" 2>&1 || {
    tail -n 40 "$work/build.log"
    exit 1
}

export OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS=detect_leaks=1:exitcode=86
export UBSAN_OPTIONS=print_stacktrace=1:exitcode=86
ctest --test-dir "$build" -L unit --output-on-failure

export ASAN_OPTIONS=detect_leaks=1:exitcode=86:fast_unwind_on_malloc=0
export LSAN_OPTIONS=suppressions=$src/tests/lsan_openmpi.supp:print_suppressions=0
ctest --test-dir "$build" -R '^test_errors$' --output-on-failure

# The tiny config takes its paths from the source root; run it in a scratch copy of that.
run="$work/tiny-run"
rm -rf "$run"
mkdir -p "$run"
ln -s "$src/tests" "$run/tests"
(cd "$run" && "$build/pareto_mpi" tests/tiny/tiny.yaml --quiet) > "$work/tiny-run.log" 2>&1 || {
    cat "$work/tiny-run.log"
    echo "sanitize: the tiny run failed (exit status above 1 is a sanitizer report)"
    exit 1
}
if grep -q "Sanitizer" "$work/tiny-run.log"; then
    cat "$work/tiny-run.log"
    exit 1
fi
test -s "$run/build-tiny/results/tiny.csv"
echo "sanitize: unit tests, error tests and the tiny run are clean"
