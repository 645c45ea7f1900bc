#!/bin/sh
# Builds the libFuzzer targets with clang (AddressSanitizer and UndefinedBehaviorSanitizer
# on) and runs each for a bounded time from its seed corpus; any crash, leak, sanitizer
# report or broken invariant fails.
#
#   tests/fuzz/run.sh SOURCE_DIR WORK_DIR [SECONDS_PER_TARGET]
#
# Exits 77 (reported as skipped by ctest) when clang or its libFuzzer runtime is missing
# (Debian: clang, libclang-rt-14-dev). New inputs found go to WORK_DIR/corpus_*, crashing
# inputs to WORK_DIR/crash-*; rerun one with WORK_DIR/fuzz_config CRASH_FILE.
set -eu
src=$(cd "$1" && pwd)
work=$2
seconds=${3:-30}
mkdir -p "$work"
work=$(cd "$work" && pwd)
cc=${FUZZ_CC:-clang}

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "fuzz: skipped: $cc not found (install clang and libclang-rt-14-dev)"
    exit 77
fi
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' \
    > "$work/probe.c"
if ! "$cc" -fsanitize=fuzzer "$work/probe.c" -o "$work/probe" >/dev/null 2>&1; then
    echo "fuzz: skipped: $cc cannot link -fsanitize=fuzzer (install libclang-rt-14-dev)"
    exit 77
fi

flags="-g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -fsanitize=fuzzer,address,undefined"
flags="$flags -fno-sanitize-recover=undefined -fno-omit-frame-pointer -I$src/include"
echo "fuzz: building with $cc"
# shellcheck disable=SC2086
"$cc" $flags "$src/tests/fuzz/fuzz_config.c" "$src/src/config.c" "$src/src/error.c" \
    -lyaml -lm -o "$work/fuzz_config"
# shellcheck disable=SC2086
"$cc" $flags "$src/tests/fuzz/fuzz_census.c" "$src/src/census.c" "$src/src/error.c" \
    "$src/src/log.c" -lz -lm -o "$work/fuzz_census"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1
status=0
for target in config census; do
    corpus="$work/corpus_$target"
    mkdir -p "$corpus"
    dict=""
    [ -f "$src/tests/fuzz/$target.dict" ] && dict="-dict=$src/tests/fuzz/$target.dict"
    echo "fuzz: fuzz_$target for ${seconds} s"
    # New inputs go to the work corpus; the seeds in the source tree stay as they are.
    # shellcheck disable=SC2086
    if ! "$work/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -max_len=8192 -print_final_stats=1 -artifact_prefix="$work/" $dict \
            "$corpus" "$src/tests/fuzz/corpus_$target" > "$work/fuzz_$target.log" 2>&1; then
        echo "fuzz: fuzz_$target FAILED; the end of its log ($work/fuzz_$target.log):"
        tail -n 60 "$work/fuzz_$target.log"
        status=1
    else
        grep -E "^(stat::number_of_executed_units|stat::new_units_added)" \
            "$work/fuzz_$target.log" | sed "s/^/fuzz: fuzz_$target: /"
    fi
done
rm -f /dev/shm/fuzz_config.*.yaml /dev/shm/fuzz_census.*.gz /tmp/fuzz_config.*.yaml \
    /tmp/fuzz_census.*.gz
exit $status
