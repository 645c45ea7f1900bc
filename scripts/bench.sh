#!/bin/sh
# Times the units of work of a run in C and in PyTorch, side by side in one run, and measures
# the peak memory of one MPI rank on the Figure 5 settings.
#
#   scripts/bench.sh [THREADS] [REPEATS]      THREADS: 1 (default) or more; REPEATS: 3 (default)
#
# Environment: BUILD_DIR (default build), PYTHON (default /usr/bin/python3, which must have
# Debian's python3-torch and python3-scipy), OUT_DIR (default results/bench).
# Both programs use THREADS threads: in C the library's threads, which split each SGD,
# Jacobian and HVP batch and the test pass (at most 2; OpenBLAS stays on one thread); in
# PyTorch torch.set_num_threads and NumPy's BLAS. Run it on an otherwise idle
# machine: the timings are only as quiet as the machine.
set -eu
cd "$(dirname "$0")/.."
threads="${1:-1}"
repeats="${2:-3}"
build="${BUILD_DIR:-build}"
python="${PYTHON:-/usr/bin/python3}"
out="${OUT_DIR:-results/bench}"
mkdir -p "$out"

echo "bench: building bench_units and pareto_mpi in $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target bench_units pareto_mpi -j"$(nproc)" >/dev/null

echo "bench: C units, $threads thread(s), $repeats repeats"
"$build/bench/bench_units" --config configs/smoke.yaml --threads "$threads" \
    --repeats "$repeats" --csv "$out/c_units.csv" | tee "$out/c_units.txt"

echo
echo "bench: PyTorch units (reference path and optimised), $threads thread(s), $repeats repeats"
"$python" bench/bench_torch.py --threads "$threads" --repeats "$repeats" \
    --csv "$out/torch_units.csv" | tee "$out/torch_units.txt"

# One rank on the Figure 5 settings, cut to one weight vector, one epoch and one step: the
# memory of a rank does not grow with the number of jobs, epochs or steps (the ten SGD networks
# that every rank receives between the two phases add 10 x 0.6 MB).
cat >"$out/rss.yaml" <<EOF
weights: [0]
directions: [1]
threads: 1
output: {dir: $out/rss_run, csv: rss.csv}
sgd: {epochs: 1}
explore: {steps: 1}
EOF
echo
echo "bench: peak RSS of one MPI rank (fig5 settings, 1 weight, 1 epoch, 1 step)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rank_cmd="/usr/bin/time -f %M $build/pareto_mpi $out/rss.yaml --force --quiet"
if command -v mpirun >/dev/null 2>&1; then
    mpirun -n 1 $rank_cmd 2>"$out/rss.txt" >/dev/null
else
    $rank_cmd 2>"$out/rss.txt" >/dev/null
fi
rss_kib="$(tail -n 1 "$out/rss.txt")"
rss_line="$(awk -v k="$rss_kib" 'BEGIN {
    printf "Peak RSS of one rank on the fig5 config (pareto_mpi): %.1f MB", k * 1024 / 1e6 }')"

echo
"$python" bench/compare.py "$out/c_units.csv" "$out/torch_units.csv" "$rss_line" \
    | tee "$out/table.md"
