#!/bin/bash
# Times the units of work of a run in C and in PyTorch, side by side in one run, and measures
# the peak memory of one MPI rank on the Figure 5 settings.
#
#   scripts/bench.sh [THREADS] [REPEATS]      THREADS: 1 (default) or 2; REPEATS: 1..25, 3 (default)
#
# Environment: BUILD_DIR (default build), PYTHON (default /usr/bin/python3, which must have
# Debian's python3-torch and python3-scipy), OUT_DIR (default results/bench); relative paths
# are taken from the repository root.
# Both programs use THREADS threads: in C the library's threads, which split each SGD,
# Jacobian and HVP batch and the test pass (at most 2; OpenBLAS stays on one thread); in
# PyTorch torch.set_num_threads and NumPy's BLAS. Run it on an otherwise idle machine: the
# timings are only as quiet as the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: scripts/bench.sh [THREADS] [REPEATS]   (THREADS 1 or 2, REPEATS 1..25)"
fail() {
    echo "bench: $*" >&2
    exit 2
}
case "${1:-}" in -h | --help) echo "$usage"; exit 0 ;; esac
[ $# -le 2 ] || fail "too many arguments; $usage"
threads="${1:-1}"
repeats="${2:-3}"
case "$threads" in
    1 | 2) ;;
    *) fail "THREADS '$threads' must be 1 or 2: the C program's team splits each batch into 2" \
            "blocks, so more threads would time PyTorch on more cores than C" ;;
esac
[[ "$repeats" =~ ^([1-9]|1[0-9]|2[0-5])$ ]] || fail "REPEATS '$repeats' must be an integer in 1..25"
build="${BUILD_DIR:-build}"
python="${PYTHON:-/usr/bin/python3}"
out="${OUT_DIR:-results/bench}"

# Everything that can fail fast is checked before minutes of timing.
"$python" -c "import numpy, scipy, torch" 2>/dev/null \
    || fail "$python cannot import numpy, scipy and torch (Debian: python3-torch," \
            "python3-scipy; scripts/setup.sh --tests installs them), or set PYTHON"
[ ${#out} -lt 1000 ] || fail "OUT_DIR is too long (${#out} bytes; pareto_mpi takes under 1024)"
[ -x /usr/bin/time ] || fail "/usr/bin/time is missing (Debian package: time)"
mkdir -p -- "$out" || fail "cannot create the output folder $out"
probe="$out/.bench_write_probe"
( : >"$probe" ) 2>/dev/null && rm -f "$probe" || fail "cannot write into the output folder $out"
# No table may mix this run's figures with an earlier run's.
outputs=(c_units.csv c_units.txt torch_units.csv torch_units.txt table.md rss.yaml rss.txt)
discard_run() {
    local f
    for f in "${outputs[@]}"; do rm -f -- "$out/$f" "$out/$f.part" "$out/$f.tmp"; done
    rm -rf -- "$out/rss_run"
}
discard_run

# A stage runs in the background so that a signal reaches this script at once; the trap stops
# the stage and removes the partial files, so an interrupted run leaves no half-written output
# and no process behind.
child=""
on_signal() {
    trap - INT TERM
    [ -z "$child" ] || kill -TERM "$child" 2>/dev/null || true
    [ -z "$child" ] || wait "$child" 2>/dev/null || true
    discard_run
    echo "bench: interrupted; no output of this run is kept" >&2
    exit "$1"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
# stage NAME FILE CMD...: runs CMD, shows its output and keeps it in FILE only if it succeeds.
stage() {
    local name="$1" file="$2" status=0
    shift 2
    "$@" > >(tee -- "$file.part") &
    child=$!
    wait "$child" || status=$?
    child=""
    wait # for tee
    if [ "$status" -ne 0 ]; then
        discard_run
        fail "$name failed (exit status $status); no output of this run is kept"
    fi
    mv -- "$file.part" "$file"
}

echo "bench: building bench_units and pareto_mpi in $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target bench_units pareto_mpi -j"$(nproc)" >/dev/null

echo "bench: C units, $threads thread(s), $repeats repeats"
stage bench_units "$out/c_units.txt" "$build/bench/bench_units" --config configs/smoke.yaml \
    --threads "$threads" --repeats "$repeats" --csv "$out/c_units.csv"

echo
echo "bench: PyTorch units (reference path and optimised), $threads thread(s), $repeats repeats"
stage bench_torch.py "$out/torch_units.txt" "$python" bench/bench_torch.py \
    --threads "$threads" --repeats "$repeats" --csv "$out/torch_units.csv"

# One rank on the Figure 5 settings, cut to one weight vector, one epoch and one step: the
# memory of a rank does not grow with the number of jobs, epochs or steps (the ten SGD networks
# that every rank receives between the two phases add 10 x 0.63 MB).
rss_dir="$out/rss_run"
cat >"$out/rss.yaml" <<YAML
weights: [0]
directions: [1]
threads: 1
output: {dir: '${rss_dir//\'/\'\'}', csv: rss.csv}
sgd: {epochs: 1}
explore: {steps: 1}
YAML
echo
echo "bench: peak RSS of one MPI rank (fig5 settings, 1 weight, 1 epoch, 1 step)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rank_cmd=(/usr/bin/time -f %M "$build/pareto_mpi" "$out/rss.yaml" --force --quiet)
launcher=()
command -v mpirun >/dev/null 2>&1 && launcher=(mpirun -n 1)
if ! "${launcher[@]}" "${rank_cmd[@]}" 2>"$out/rss.txt" >/dev/null; then
    cat "$out/rss.txt" >&2
    discard_run
    fail "the peak-RSS run of pareto_mpi failed (its output is above);" \
        "no output of this run is kept"
fi
rss_kib="$(tail -n 1 "$out/rss.txt")"
[[ "$rss_kib" =~ ^[0-9]+$ ]] || { discard_run; fail "no peak RSS in the output of /usr/bin/time"; }
rss_line="$(awk -v k="$rss_kib" 'BEGIN {
    printf "Peak RSS of one rank on the fig5 config (pareto_mpi): %.1f MB", k * 1024 / 1e6 }')"

echo
stage compare.py "$out/table.md" "$python" bench/compare.py "$out/c_units.csv" \
    "$out/torch_units.csv" "$rss_line"
