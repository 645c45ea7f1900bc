#!/bin/sh
# The MPI sweep end to end on the smoke config.
#   sweep_test.sh BINARY SOURCE_DIR determinism   -n 1, 2, 3, 4, and one process on 2 threads,
#                                                 give the same CSV
#   sweep_test.sh BINARY SOURCE_DIR resume        a run killed after some jobs, then resumed,
#                                                 gives the CSV of an uninterrupted run
#   sweep_test.sh BINARY SOURCE_DIR bad-input     a config error and a missing data file under
#                                                 -n 2: one message, non-zero exit, no CSV
# The wall_s column (the last) is left out of every comparison: it is the only column that
# depends on the machine's load.
set -eu
binary=$1
source_dir=$2
mode=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$source_dir"

# config_for NAME: the smoke config with its own output folder.
config_for() {
    sed "s|dir: results/smoke|dir: $work/$1|" configs/smoke.yaml > "$work/$1.yaml"
    echo "$work/$1.yaml"
}

run() { # run RANKS NAME [options]: runs the smoke config quietly; returns the exit status
    ranks=$1; name=$2; shift 2
    mpirun -n "$ranks" --oversubscribe "$binary" "$(config_for "$name")" --quiet "$@"
}

strip_wall() { cut -d, -f1-19 "$1"; }

fail() { echo "FAIL: $*"; exit 1; }

case "$mode" in
determinism)
    for n in 1 2 3 4; do
        start=$(date +%s)
        run "$n" "n$n" || fail "the run with -n $n exited with $?"
        echo "-n $n: $(($(date +%s) - start)) s, $(wc -l < "$work/n$n/smoke.csv") lines"
        strip_wall "$work/n$n/smoke.csv" > "$work/n$n.cmp"
    done
    rows=$(wc -l < "$work/n1.cmp")
    [ "$rows" -eq 19 ] || fail "expected a header and 18 rows, found $rows lines"
    for n in 2 3 4; do
        cmp "$work/n1.cmp" "$work/n$n.cmp" || { diff "$work/n1.cmp" "$work/n$n.cmp" | head;
                                              fail "-n $n differs from -n 1"; }
    done
    # One process without mpirun, on BATCH_BLOCKS = 2 threads: the blocks of each batch run in
    # parallel, and must give the bits of the one-thread ranks.
    config=$(config_for threads2)
    echo "threads: 2" >> "$config"
    start=$(date +%s)
    "$binary" "$config" --quiet || fail "the single process on 2 threads exited with $?"
    echo "one process, 2 threads: $(($(date +%s) - start)) s"
    strip_wall "$work/threads2/smoke.csv" > "$work/threads2.cmp"
    cmp "$work/n1.cmp" "$work/threads2.cmp" || { diff "$work/n1.cmp" "$work/threads2.cmp" | head;
                                                fail "2 threads differ from -n 1"; }
    echo "PASS: -n 1, 2, 3, 4 and one process on 2 threads wrote identical CSVs ($rows lines)"
    ;;
resume)
    run 2 clean || fail "the uninterrupted run exited with $?"
    # Start the same config in another folder and kill it once two jobs are saved.
    config=$(config_for killed)
    mpirun -n 2 --oversubscribe "$binary" "$config" --quiet &
    pid=$!
    while [ "$(ls "$work/killed/jobs" 2>/dev/null | grep -c '\.csv$')" -lt 2 ]; do
        kill -0 "$pid" 2>/dev/null || fail "the run to be killed ended before saving 2 jobs"
        sleep 0.2
    done
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    pkill -KILL -f "$config" 2>/dev/null || true
    saved=$(ls "$work/killed/jobs" | grep -c '\.csv$')
    [ ! -e "$work/killed/smoke.csv" ] || fail "a killed run left a CSV"
    echo "killed after $saved saved jobs"
    mpirun -n 2 --oversubscribe "$binary" "$config" --quiet --resume \
        || fail "the resumed run exited with $?"
    strip_wall "$work/clean/smoke.csv" > "$work/clean.cmp"
    strip_wall "$work/killed/smoke.csv" > "$work/resumed.cmp"
    cmp "$work/clean.cmp" "$work/resumed.cmp" || fail "the resumed CSV differs"
    # A changed config must not mix with the saved jobs.
    sed -i 's/epochs: 3/epochs: 2/' "$config"
    if mpirun -n 2 --oversubscribe "$binary" "$config" --quiet --resume 2> "$work/err"; then
        fail "--resume accepted a changed config"
    fi
    grep -q "different configuration" "$work/err" || fail "no clear message: $(cat "$work/err")"
    echo "PASS: killed after $saved jobs and resumed: identical CSV; a changed config is refused"
    ;;
bad-input)
    config=$(config_for bad)
    sed -i 's/epochs: 3/epochs: -3/' "$config"
    if mpirun -n 2 --oversubscribe "$binary" "$config" 2> "$work/err"; then
        fail "a config with negative epochs was accepted"
    fi
    [ "$(grep -c "sgd.epochs" "$work/err")" -eq 1 ] || fail "expected one message: $(cat "$work/err")"
    grep -q "$config:" "$work/err" || fail "the message does not name the file"
    [ ! -e "$work/bad" ] || fail "the output folder was created for a bad config"

    config=$(config_for nodata)
    printf 'data:\n  train: %s/missing.data.gz\n' "$work" >> "$config"
    if mpirun -n 2 --oversubscribe "$binary" "$config" 2> "$work/err"; then
        fail "a missing data file was accepted"
    fi
    [ "$(grep -c "missing.data.gz" "$work/err")" -eq 1 ] || fail "expected one message: $(cat "$work/err")"
    [ ! -e "$work/nodata/smoke.csv" ] || fail "a CSV was written"
    echo "PASS: bad config and missing data: one message each, non-zero exit, no CSV"
    ;;
*)
    fail "unknown mode $mode"
    ;;
esac
