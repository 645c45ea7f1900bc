#!/bin/sh
#SBATCH --job-name=pareto-fig5
#SBATCH --ntasks=16
#SBATCH --cpus-per-task=1
#SBATCH --time=01:00:00
#SBATCH --output=pareto-fig5-%j.log
#SBATCH --open-mode=append
#SBATCH --requeue
#
# The Figure 5 sweep as a Slurm batch job, one MPI rank per task.
#
#   sbatch slurm/fig5.sh [CONFIG] [pareto_mpi options]
#   sbatch -n 4 --time=00:10:00 slurm/fig5.sh configs/smoke.yaml
#
# CONFIG defaults to configs/fig5.yaml; it and the config's output.dir are relative to the job's
# working folder (the folder sbatch was run from, unless --chdir says otherwise). The rank count
# is the job's task count: --ntasks above, or -n on the sbatch command line.
#
# The job always runs with --resume, so that a requeued job (scontrol requeue, node failure,
# preemption) starts again from the jobs its earlier attempts saved. On a first run there is
# nothing saved and --resume changes nothing. --force is honoured on the first attempt only; a
# requeued attempt resumes instead of deleting what the first one saved. The log is opened in
# append mode, so every attempt of the job writes to the same file, one after the other.
#
# Environment:
#   PARETO_MPI       the program (default: build/pareto_mpi in the submit folder)
#   PARETO_LAUNCHER  srun or mpirun (default: srun --mpi=pmix when Slurm offers PMIx, else mpirun)
set -eu

if [ -z "${SLURM_JOB_ID:-}" ]; then
    echo "fig5.sh: not inside a Slurm job; submit it with: sbatch slurm/fig5.sh [CONFIG]" >&2
    exit 2
fi

config=configs/fig5.yaml
case "${1:-}" in
    "" | -*) ;;
    *) config="$1"; shift ;;
esac
binary="${PARETO_MPI:-${SLURM_SUBMIT_DIR:-.}/build/pareto_mpi}"
ranks="${SLURM_NTASKS:-1}"
restarts="${SLURM_RESTART_COUNT:-0}"

if [ ! -x "$binary" ]; then
    echo "fig5.sh: $binary: no such program; build it (cmake --build build) or set PARETO_MPI" >&2
    exit 1
fi

# Keep the pass-through options, minus --resume (added below) and, on a restart, --force.
force=0
for arg do
    shift
    case "$arg" in
        --resume) continue ;;
        --force) force=1; [ "$restarts" -gt 0 ] && continue ;;
    esac
    set -- "$@" "$arg"
done
if [ "$force" -eq 0 ] || [ "$restarts" -gt 0 ]; then
    set -- --resume "$@"
fi

# srun starts the ranks as job steps that Slurm tracks, signals and cleans up itself; its PMIx
# plugin and Debian's Open MPI use the same libpmix. mpirun inside the allocation is the
# fallback where srun has no PMIx plugin.
launcher="${PARETO_LAUNCHER:-}"
if [ -z "$launcher" ]; then
    if command -v srun >/dev/null 2>&1 && srun --mpi=list 2>&1 | grep -qw pmix; then
        launcher=srun
    else
        launcher=mpirun
    fi
fi

echo "fig5.sh: job $SLURM_JOB_ID SLURM_RESTART_COUNT=$restarts on ${SLURM_JOB_NODELIST:-?}" \
     "at $(date -Is)"
echo "fig5.sh: $ranks ranks via $launcher: $binary $config $*"

case "$launcher" in
    srun)
        exec srun --mpi=pmix -n "$ranks" "$binary" "$config" "$@"
        ;;
    mpirun)
        if [ "$(id -u)" -eq 0 ]; then
            export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
        fi
        exec mpirun -n "$ranks" "$binary" "$config" "$@"
        ;;
    *)
        echo "fig5.sh: PARETO_LAUNCHER is '$launcher'; expected srun or mpirun" >&2
        exit 2
        ;;
esac
