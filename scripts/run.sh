#!/bin/sh
# Runs a config with one MPI rank per local core:  scripts/run.sh [CONFIG] [pareto_mpi options]
set -eu
cd "$(dirname "$0")/.."
config="${1:-configs/fig5.yaml}"
[ $# -gt 0 ] && shift
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exec mpirun -n "$(nproc)" --oversubscribe build/pareto_mpi "$config" "$@"
