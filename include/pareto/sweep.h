/*
 * sweep.h - the run: rank 0 reads the config and the data, partitions the jobs over the MPI
 * ranks, collects every finished job, saves it for --resume and writes the one CSV.
 */
#ifndef PARETO_SWEEP_H
#define PARETO_SWEEP_H

typedef struct {
    const char *config_path;
    const char *csv_path;  /* NULL: <output.dir>/<output.csv> */
    int resume;            /* skip jobs saved by an earlier run of the same config */
    int force;             /* delete saved jobs and the CSV of an earlier run first */
    int machine_progress;  /* also print "PROGRESS key=value ..." lines for batch logs */
    int under_launcher;    /* started by mpirun or srun (one OpenBLAS thread per rank) */
} sweep_options;

/* Runs the whole sweep on MPI_COMM_WORLD (MPI must be initialised). Returns the process exit
 * status: 0 when the CSV was written. */
int sweep_run(const sweep_options *opts);

#endif
