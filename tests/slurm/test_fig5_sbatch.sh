#!/bin/bash
# slurm/fig5.sh under a real one-node Slurm cluster started for this test alone.
#
#   tests/slurm/test_fig5_sbatch.sh PARETO_MPI
#
# 1. Installs Debian's slurm-wlm and munge when they are missing; exits 77 (skipped) when that
#    is not possible.
# 2. Starts munged, slurmctld and slurmd on the loopback address with a private key, config,
#    ports and state folder, all under one scratch folder.
# 3. Submits slurm/fig5.sh with the smoke config and 2 tasks, forced onto its mpirun fallback,
#    and checks the job ends COMPLETED with exit code 0:0 and a CSV equal to that of a plain
#    'mpirun -n 2' run.
# 4. Submits it again as users do (the script picks srun --mpi=pmix), requeues it once the
#    first finished jobs are saved, and checks that the second attempt resumes from them, ends
#    with the same CSV, and appends to the first attempt's log.
# On exit it cancels its jobs, stops the daemons it started (by PID) and deletes the scratch
# folder. The CSVs are compared without the wall_s column, the only one that varies by run.
set -euo pipefail

SKIP=77
binary="$(realpath "${1:?usage: test_fig5_sbatch.sh PARETO_MPI}")"
source_dir="$(cd "$(dirname "$0")/../.." && pwd)"
smoke_config="$source_dir/configs/smoke.yaml"
ranks=2

say() { echo "slurm test: $*"; }
fail() { echo "slurm test: FAIL: $*" >&2; exit 1; }

# --- packages ------------------------------------------------------------------------------

have_slurm() {
    for cmd in munged slurmctld slurmd sbatch scontrol squeue srun; do
        command -v "$cmd" >/dev/null 2>&1 || return 1
    done
}

if ! have_slurm; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if ! sudo -n true 2>/dev/null; then
            say "SKIP: slurm-wlm and munge are not installed and this user cannot install them"
            exit $SKIP
        fi
        sudo="sudo -n"
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        say "SKIP: slurm-wlm and munge are not installed and there is no apt-get to install them"
        exit $SKIP
    fi
    say "installing slurm-wlm and munge"
    if ! { $sudo apt-get update -qq &&
           DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
               slurm-wlm munge; } >/dev/null 2>&1 || ! have_slurm; then
        say "SKIP: could not install slurm-wlm and munge with apt-get"
        exit $SKIP
    fi
fi
command -v mpirun >/dev/null || fail "mpirun not found (Debian package openmpi-bin)"

# --- scratch folder and cleanup ------------------------------------------------------------

# A test run inside a Slurm job must not talk to the outer cluster.
for var in $(env | sed -n 's/^\(SLURM_[A-Z_]*\)=.*/\1/p'); do
    unset "$var"
done

state="$(mktemp -d "${TMPDIR:-/tmp}/pareto-slurm.XXXXXX")"
chmod 755 "$state" # munged wants every folder above its socket to be searchable by all
export SLURM_CONF="$state/slurm.conf"
daemon_pids=()

cleanup() {
    local status=$?
    set +e
    if [ -n "$(squeue -h -o %i 2>/dev/null)" ]; then
        squeue -h -o %i | xargs scancel 2>/dev/null
        for _ in $(seq 30); do
            [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
            sleep 1
        done
    fi
    # Stop slurmd, slurmctld and munged, in that order (the reverse of starting).
    for ((i = ${#daemon_pids[@]} - 1; i >= 0; i--)); do
        pid=${daemon_pids[i]}
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 20); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [ "$status" -ne 0 ] && [ "$status" -ne $SKIP ]; then
        for log in "$state"/*.log "$state"/munge/munged.log; do
            [ -f "$log" ] && { echo "--- last lines of $log"; tail -n 25 "$log"; }
        done
    fi
    rm -rf "$state"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- a one-node cluster --------------------------------------------------------------------

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Two free neighbouring ports, away from Slurm's defaults so a real cluster here is no bother.
ctld_port=""
for _ in $(seq 50); do
    port=$((20000 + RANDOM % 20000))
    if port_free "$port" && port_free $((port + 1)); then
        ctld_port=$port
        break
    fi
done
[ -n "$ctld_port" ] || fail "no two free TCP ports found on 127.0.0.1"

host="$(hostname -s)"
cpus="$(nproc)"
memory_mb=$(( $(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo) / 2048 ))
mkdir -p "$state/munge" "$state/ctld" "$state/slurmd" "$state/runs"
chmod 755 "$state/munge"
sed -e "s|@HOST@|$host|g" -e "s|@CTLD_PORT@|$ctld_port|" -e "s|@SLURMD_PORT@|$((ctld_port + 1))|" \
    -e "s|@STATE@|$state|g" -e "s|@USER@|$(id -un)|g" -e "s|@CPUS@|$cpus|" \
    -e "s|@MEMORY_MB@|$memory_mb|" "$source_dir/tests/slurm/slurm.conf.in" > "$SLURM_CONF"

# wait_for SECONDS WHAT COMMAND...: runs COMMAND every second until it succeeds.
wait_for() {
    local seconds=$1 what=$2
    shift 2
    for _ in $(seq "$seconds"); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 1
    done
    fail "$what did not happen within $seconds s"
}

head -c 1024 /dev/urandom > "$state/munge/munge.key"
chmod 400 "$state/munge/munge.key"
munged --foreground --socket="$state/munge/munge.socket" --key-file="$state/munge/munge.key" \
    --pid-file="$state/munge/munged.pid" --seed-file="$state/munge/munged.seed" \
    --log-file="$state/munge/munged.log" > "$state/munged.log" 2>&1 &
daemon_pids+=($!)
wait_for 20 "munged creating its socket" test -S "$state/munge/munge.socket"

slurmctld -D -f "$SLURM_CONF" > "$state/slurmctld.out.log" 2>&1 &
daemon_pids+=($!)
wait_for 30 "slurmctld answering 'scontrol ping'" sh -c 'scontrol ping | grep -q UP'

slurmd -D -N "$host" -f "$SLURM_CONF" > "$state/slurmd.out.log" 2>&1 &
daemon_pids+=($!)
node_idle() { [ "$(sinfo -h -n "$host" -o %T)" = idle ]; }
wait_for 30 "node $host becoming idle" node_idle
say "Slurm $(sinfo -V | awk '{print $2}') up on $host ($cpus CPUs," \
    "ports $ctld_port-$((ctld_port + 1)))"

# --- helpers -------------------------------------------------------------------------------

# run_config NAME: a copy of the smoke config whose output.dir is a folder of its own.
run_config() {
    local out="$state/runs/$1" config="$state/runs/$1.yaml"
    sed "s|^  dir: .*|  dir: $out|" "$smoke_config" > "$config"
    grep -q "^  dir: $out\$" "$config" || fail "$smoke_config: no 'output: dir:' line to replace"
    echo "$config"
}

# job_field ID FIELD: one field of 'scontrol show job'.
job_field() {
    scontrol -o show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# wait_job ID SECONDS: waits until the job has ended; prints its final state.
wait_job() {
    local id=$1 seconds=$2 job_state
    for _ in $(seq "$seconds"); do
        job_state="$(job_field "$id" JobState)"
        case "$job_state" in
            COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | \
            DEADLINE | PREEMPTED)
                echo "$job_state"
                return 0
                ;;
        esac
        sleep 1
    done
    fail "job $id still $job_state after $seconds s"
}

# submit NAME CONFIG [LAUNCHER]: submits slurm/fig5.sh; prints the job id. Without LAUNCHER the
# script chooses one itself.
submit() {
    (cd "$source_dir" && PARETO_MPI="$binary" PARETO_LAUNCHER="${3:-}" \
        sbatch --parsable -n "$ranks" --time=00:15:00 --output="$state/runs/$1-%j.log" \
        slurm/fig5.sh "$2")
}

# check_launcher LOG LAUNCHER: the job started its ranks with LAUNCHER.
check_launcher() {
    grep -q "^fig5.sh: $ranks ranks via $2: " "$1" ||
        fail "$1: expected the ranks to start via $2; found: $(grep 'ranks via' "$1")"
}

# check_completed ID STATE LOG: the job ended COMPLETED with exit code 0:0.
check_completed() {
    local job_state=$2 exit_code
    exit_code="$(job_field "$1" ExitCode)"
    if [ "$job_state" != COMPLETED ] || [ "$exit_code" != 0:0 ]; then
        echo "--- $3"
        cat "$3"
        fail "job $1 ended $job_state with exit code $exit_code; expected COMPLETED and 0:0"
    fi
}

# without_wall_s CSV: the CSV without its wall_s column.
without_wall_s() {
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "wall_s") skip = i
                       if (!skip) { print FILENAME ": no wall_s column" > "/dev/stderr"; exit 1 } }
             { line = ""; sep = ""
               for (i = 1; i <= NF; i++) if (i != skip) { line = line sep $i; sep = "," }
               print line }' "$1"
}

# same_csv EXPECTED ACTUAL: equal row for row, wall_s aside.
same_csv() {
    [ -s "$2" ] || fail "$2: no CSV written"
    if ! diff <(without_wall_s "$1") <(without_wall_s "$2") > "$state/csv.diff"; then
        head -n 20 "$state/csv.diff"
        fail "$2 differs from $1 (wall_s aside)"
    fi
}

# --- 1. plain mpirun: the reference CSV ----------------------------------------------------

start=$SECONDS
reference_config="$(run_config mpirun)"
say "reference: mpirun -n $ranks on the smoke config"
(cd "$source_dir" && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    timeout 600 mpirun -n "$ranks" --oversubscribe "$binary" "$reference_config" --quiet) \
    || fail "mpirun -n $ranks $binary $reference_config failed"
reference_csv="$state/runs/mpirun/smoke.csv"
[ -s "$reference_csv" ] || fail "$reference_csv: not written"
say "reference done in $((SECONDS - start)) s"

# --- 2. sbatch with the mpirun fallback: completes with the reference CSV -------------------

start=$SECONDS
job=$(submit sbatch "$(run_config sbatch)" mpirun)
say "submitted job $job: PARETO_LAUNCHER=mpirun sbatch -n $ranks slurm/fig5.sh (smoke config)"
check_completed "$job" "$(wait_job "$job" 600)" "$state/runs/sbatch-$job.log"
check_launcher "$state/runs/sbatch-$job.log" mpirun
same_csv "$reference_csv" "$state/runs/sbatch/smoke.csv"
say "job $job COMPLETED 0:0 (mpirun in the allocation), CSV equals the reference," \
    "in $((SECONDS - start)) s"

# --- 3. sbatch as submitted by users (srun --mpi=pmix), requeued mid-run -------------------

start=$SECONDS
requeue_config="$(run_config requeue)"
job=$(submit requeue "$requeue_config")
log="$state/runs/requeue-$job.log"
say "submitted job $job; requeueing it once a finished job is saved"
jobs_dir="$state/runs/requeue/jobs"
# An SGD job is saved once its network is (rows first, then the network).
saved_jobs() {
    { compgen -G "$jobs_dir/sgd_w*.net" || true; compgen -G "$jobs_dir/explore_*.csv" || true; } |
        wc -l
}
first_saved() { [ "$(saved_jobs)" -gt 0 ]; }
wait_for 300 "a first saved job in $jobs_dir" first_saved
saved_before="$(saved_jobs)"
[ "$(job_field "$job" JobState)" = RUNNING ] || fail "job $job ended before it could be requeued"
scontrol requeue "$job"
say "requeued job $job with $saved_before job(s) saved"

# Slurm holds a requeued job back for about two minutes (Reason=BeginTime); let it go at once.
is_pending() { [ "$(job_field "$job" JobState)" = PENDING ]; }
wait_for 120 "job $job pending again after the requeue" is_pending
scontrol update JobId="$job" StartTime=now || say "note: could not move the start time forward"

check_completed "$job" "$(wait_job "$job" 600)" "$log"
check_launcher "$log" srun
same_csv "$reference_csv" "$state/runs/requeue/smoke.csv"
restarts="$(job_field "$job" Restarts)"
[ "$restarts" = 1 ] || fail "job $job: Restarts=$restarts; expected 1"

# Both attempts are in the one log, the first one first.
first_line="$(grep -n 'SLURM_RESTART_COUNT=0 ' "$log" | cut -d: -f1)"
second_line="$(grep -n 'SLURM_RESTART_COUNT=1 ' "$log" | cut -d: -f1)"
if [ -z "$first_line" ] || [ -z "$second_line" ] || [ "$first_line" -ge "$second_line" ]; then
    echo "--- $log"
    cat "$log"
    fail "$log: expected the first attempt (SLURM_RESTART_COUNT=0) followed by the second (=1)"
fi
# The second attempt started from the saved jobs (--resume prints how many it found).
resumed="$(sed -n "${second_line},\$s/.*resume: \([0-9]*\) of [0-9]* jobs already saved.*/\1/p" \
           "$log")"
if [ -z "$resumed" ] || [ "$resumed" -lt "$saved_before" ]; then
    echo "--- $log"
    cat "$log"
    fail "$log: the second attempt did not resume from the $saved_before saved job(s)"
fi
say "job $job requeued: COMPLETED 0:0 (srun --mpi=pmix) after 1 restart," \
    "resumed $resumed saved job(s), same CSV, both attempts in one log, in $((SECONDS - start)) s"
say "PASS"
