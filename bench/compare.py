#!/usr/bin/env python3
"""Joins the CSVs of bench_units and bench_torch.py into one Markdown table.

  compare.py C_CSV TORCH_CSV [RSS_LINE...]

Ratios are PyTorch median / C median: how many times faster the C program is.
"""
import csv
import sys

UNITS = ["sgd_epoch", "test_pass", "jacobian_quarter", "minres_solve", "hvp", "explore_step",
         "jacobian_full", "explore_job_smoke"]


def fmt_seconds(s):
    return "%.2f ms" % (s * 1e3) if s < 0.1 else "%.2f s" % s


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    c_rows = {r["unit"]: r for r in csv.DictReader(open(sys.argv[1]))}
    torch_rows = {(r["unit"], r["variant"]): r for r in csv.DictReader(open(sys.argv[2]))}
    threads = next(iter(c_rows.values()))["threads"]
    torch_threads = {r["threads"] for r in torch_rows.values()}
    if torch_threads != {threads}:
        sys.exit("compare.py: the C units ran on %s thread(s), the PyTorch units on %s: not one "
                 "comparison" % (threads, ", ".join(sorted(torch_threads))))

    def cell(unit, variant, c_median):
        r = torch_rows.get((unit, variant))
        if not r:
            return "-", "-"
        t = float(r["median_s"])
        return fmt_seconds(t), "%.1f×" % (t / c_median)

    print("Threads: %s (in C the library's threads, OpenBLAS on one; torch.set_num_threads "
          "and BLAS in PyTorch)." % threads)
    print()
    print("| unit | C median (min..max) | PyTorch, reference path | ratio "
          "| PyTorch, optimised | ratio | C GFLOP/s |")
    print("|---|---|---|---|---|---|---|")
    for unit in UNITS:
        c = c_rows.get(unit)
        if not c:
            continue
        med = float(c["median_s"])
        ref, ref_ratio = cell(unit, "reference", med)
        opt, opt_ratio = cell(unit, "optimised", med)
        print("| %s | %s (%s..%s) | %s | %s | %s | %s | %s |" % (
            unit, fmt_seconds(med), fmt_seconds(float(c["min_s"])),
            fmt_seconds(float(c["max_s"])), ref, ref_ratio, opt, opt_ratio, c["gflops"]))
    hvps = {v: r["hvps_per_solve"] for (u, v), r in torch_rows.items() if u == "minres_solve"}
    print()
    print("C: %s. PyTorch HVPs per solve: %s." % (
        c_rows["minres_solve"]["note"],
        ", ".join("%s %s" % (v, n) for v, n in sorted(hvps.items()))))
    c_hvps = float(c_rows["minres_solve"]["hvps_per_solve"])
    for v, n in sorted(hvps.items()):
        if abs(float(n) - c_hvps) > 0.5:
            print("Note: HVPs per solve differ (C %.1f, PyTorch %s %s), so the minres_solve "
                  "ratio of %s is not a ratio of speeds; the hvp ratio is." % (c_hvps, v, n, v))
    print("Peak RSS: bench_units %s MB; bench_torch.py %s MB (dense data, both variants)." % (
        c_rows["sgd_epoch"]["peak_rss_mb"],
        next(iter(torch_rows.values()))["peak_rss_mb"] if torch_rows else "-"))
    for line in sys.argv[3:]:
        print(line)


if __name__ == "__main__":
    main()
