/* main.c - the command line: parses options, starts MPI and hands over to the sweep. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pareto/log.h"
#include "pareto/summary.h"
#include "pareto/sweep.h"

static const char usage[] =
    "usage: pareto_mpi CONFIG.yaml [--out CSV] [--resume] [--force] [--quiet] [--progress]\n"
    "       pareto_mpi summary FILE.csv [--ref E1,E2,E3]   (see pareto_mpi summary --help)\n"
    "\n"
    "Reproduces Figure 5 of Ma, Du and Matusik, \"Efficient Continuous Pareto Exploration in\n"
    "Multi-Task Learning\" (ICML 2020) on UCI Census-Income (KDD): a 3-task MLP trained by\n"
    "weighted-sum SGD for each weight vector, then explored along the Pareto set in each\n"
    "direction with Jacobians, MGDA min-norm weights, exact Hessian-vector products and MINRES.\n"
    "\n"
    "Run it as a single process, or under MPI (mpirun -n 16 pareto_mpi CONFIG, srun ...): rank 0\n"
    "reads the config and the data, deals the jobs over the ranks and writes one CSV. The CSV is\n"
    "the same whatever the number of ranks (the wall_s column aside).\n"
    "\n"
    "  CONFIG.yaml   the run's settings; see configs/fig5.yaml (the paper's run) and\n"
    "                configs/smoke.yaml (a short run of every code path)\n"
    "  --out CSV     write the CSV here instead of <output.dir>/<output.csv>\n"
    "  --resume      skip the jobs an interrupted run of the same config saved under\n"
    "                <output.dir>/jobs (a changed config is refused)\n"
    "  --force       delete an earlier run's saved jobs and CSV and start over\n"
    "  --quiet       only warnings and errors on stderr\n"
    "  --progress    also print 'PROGRESS jobs_done=.. jobs_total=.. eta_s=..' lines on stdout\n"
    "  --help        this text\n"
    "\n"
    "Threads: one per rank under MPI; a single process uses up to 2 (one per core), which\n"
    "split each Jacobian and HVP batch in two; the config's 'threads' key overrides this.\n"
    "The thread count never changes a result.\n"
    "Exit status: 0 when the CSV was written; 1 on any error (nothing partial is left at the\n"
    "CSV path); 2 on a command-line error.\n";

int main(int argc, char **argv)
{
    /* The summary of a CSV needs no MPI. */
    if (argc > 1 && strcmp(argv[1], "summary") == 0)
        return summary_main(argc - 1, argv + 1);

    sweep_options opts;
    memset(&opts, 0, sizeof opts);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--out") == 0) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0') {
                fprintf(stderr, "pareto_mpi: --out needs a CSV file name\n");
                return 2;
            }
            opts.csv_path = argv[++i];
        } else if (strcmp(a, "--resume") == 0) {
            opts.resume = 1;
        } else if (strcmp(a, "--force") == 0) {
            opts.force = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            log_set_level(LOG_WARN);
        } else if (strcmp(a, "--progress") == 0) {
            opts.machine_progress = 1;
        } else if (a[0] == '-') {
            fprintf(stderr, "pareto_mpi: unknown option '%s'\n%s", a, usage);
            return 2;
        } else if (!opts.config_path) {
            opts.config_path = a;
        } else {
            fprintf(stderr, "pareto_mpi: unexpected argument '%s'\n%s", a, usage);
            return 2;
        }
    }
    if (!opts.config_path) {
        fprintf(stderr, "pareto_mpi: missing CONFIG.yaml\n%s", usage);
        return 2;
    }
    if (opts.resume && opts.force) {
        fprintf(stderr, "pareto_mpi: --resume and --force exclude each other\n");
        return 2;
    }

    /* Read before MPI_Init, which sets such variables even for a lone process. */
    opts.under_launcher = getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") ||
                          getenv("PMIX_RANK") || getenv("SLURM_STEP_ID");
    MPI_Init(&argc, &argv);
    int status = sweep_run(&opts);
    MPI_Finalize();
    return status;
}
