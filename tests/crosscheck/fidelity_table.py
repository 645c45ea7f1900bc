#!/usr/bin/env python3
"""Fidelity tables: the C runs' statistics over seeds next to the reference notebook's figures.

Reads the CSVs of several runs of the same configuration that differ only in their seed (one
weight vector, exploration in every direction) and prints, as Markdown:

  1. SGD: test accuracy and loss per task after epochs 1, 10, 20, 30: the reference, the C
     runs' mean and min..max, and whether the reference lies within that range widened by
     0.5 percentage points (accuracies) or by 0.005 (losses);
  2. the same for the exploration along direction 011 at steps 0 (the SGD end), 1, 5, 10, 15,
     20;
  3. for every direction, each selected task's test loss averaged over steps 11-20 against
     its step-0 value, both averaged over the seeds.

Standard library only.

  usage: fidelity_table.py RUN1.csv RUN2.csv ...
"""
import csv
import sys

# The reference notebook run for (1/3, 1/3, 1/3), seed 42, the paper's settings:
# (acc1, acc2, acc3) in percent, (loss1, loss2, loss3).
REFERENCE_SGD = {
    1: ((63.09, 70.36, 70.70), (0.6345, 0.5355, 0.5746)),
    10: ((76.86, 73.18, 90.78), (0.4252, 0.4697, 0.2149)),
    20: ((77.99, 75.00, 91.36), (0.4058, 0.4565, 0.1973)),
    30: ((78.63, 75.42, 92.59), (0.3963, 0.4532, 0.1718)),
}
REFERENCE_DIRECTION = "011"
REFERENCE_EXPLORE = {
    0: ((78.63, 75.42, 92.59), (0.3963, 0.4532, 0.1718)),
    1: ((78.63, 75.40, 92.61), (0.3964, 0.4531, 0.1714)),
    5: ((78.51, 75.45, 92.68), (0.3973, 0.4528, 0.1700)),
    10: ((78.44, 75.56, 92.69), (0.3975, 0.4521, 0.1686)),
    15: ((78.54, 75.49, 92.73), (0.3962, 0.4517, 0.1677)),
    20: ((78.56, 75.47, 92.73), (0.3948, 0.4516, 0.1663)),
}
ACC_MARGIN = 0.5     # percentage points
LOSS_MARGIN = 0.005  # absolute, the loss analogue used here
LATE_STEPS = range(11, 21)
DIRECTIONS = ["001", "010", "011", "100", "101", "110"]


def read_run(path):
    """{("sgd", epoch) or (direction, step): (acc[3] in percent, loss[3])} of one CSV."""
    rows = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            acc = tuple(100.0 * float(r[f"acc{k}"]) for k in (1, 2, 3))
            loss = tuple(float(r[f"loss{k}"]) for k in (1, 2, 3))
            key = ("sgd", int(r["step"])) if r["phase"] == "sgd" else (r["direction"],
                                                                         int(r["step"]))
            rows[key] = (acc, loss)
    last_epoch = max(step for (phase, step) in rows if phase == "sgd")
    for d in DIRECTIONS:
        rows[(d, 0)] = rows[("sgd", last_epoch)]  # step 0 of every direction: the SGD end
    return rows


def stats(values):
    return sum(values) / len(values), min(values), max(values)


def comparison_table(runs, keys, reference, label):
    """One row per key: reference, mean and range of each metric, and whether ref is in."""
    head = [label]
    for name in ("acc 1", "acc 2", "acc 3", "loss 1", "loss 2", "loss 3"):
        head.append(name)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    outside = []
    for key, ref_key in keys:
        cells = [str(ref_key)]
        ref_acc, ref_loss = reference[ref_key]
        for metric, (ref_vals, margin, fmt) in enumerate(
                ((ref_acc, ACC_MARGIN, "{:.2f}"), (ref_loss, LOSS_MARGIN, "{:.4f}"))):
            for k in range(3):
                vals = [run[key][metric][k] for run in runs]
                mean, lo, hi = stats(vals)
                ref = ref_vals[k]
                inside = lo - margin <= ref <= hi + margin
                if not inside:
                    outside.append(f"{label} {ref_key}, {'acc' if metric == 0 else 'loss'} "
                                   f"{k + 1}: reference {fmt.format(ref)}, C "
                                   f"{fmt.format(lo)}..{fmt.format(hi)}")
                if not inside:
                    mark = " **out**"
                elif not lo <= ref <= hi:
                    mark = " +"  # inside only thanks to the margin
                else:
                    mark = ""
                cells.append(f"{fmt.format(ref)} / {fmt.format(mean)} "
                             f"({fmt.format(lo)}..{fmt.format(hi)}){mark}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines, outside


def late_loss_table(runs):
    """Per direction and selected task: mean step-0 loss, mean loss over steps 11-20."""
    lines = ["| direction | task | loss at step 0 | mean loss, steps 11-20 | change | below? "
             "| runs below |", "|---|---|---|---|---|---|---|"]
    failures = []
    for d in DIRECTIONS:
        for k in range(3):
            if d[k] != "1":
                continue
            starts = [run[(d, 0)][1][k] for run in runs]
            lates = [sum(run[(d, s)][1][k] for s in LATE_STEPS) / len(LATE_STEPS)
                     for run in runs]
            start = sum(starts) / len(runs)
            late = sum(lates) / len(runs)
            below = late < start
            runs_below = sum(1 for a, b in zip(lates, starts) if a < b)
            if not below:
                failures.append(f"direction {d}, task {k + 1}")
            lines.append(f"| {d} | {k + 1} | {start:.5f} | {late:.5f} | {late - start:+.5f} |"
                         f" {'yes' if below else '**no**'} | {runs_below} of {len(runs)} |")
    return lines, failures


def main(paths):
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    runs = [read_run(p) for p in paths]
    print(f"Runs: {len(runs)}. Cells: reference / C mean (C min..max); **out** marks a "
          f"reference outside the C range widened by {ACC_MARGIN} points (accuracies, %) "
          f"or {LOSS_MARGIN} (losses), + one inside the widened range only.\n")

    print("SGD, weight vector (1/3, 1/3, 1/3):\n")
    lines, out_sgd = comparison_table(
        runs, [(("sgd", e), e) for e in sorted(REFERENCE_SGD)], REFERENCE_SGD, "epoch")
    print("\n".join(lines) + "\n")

    print(f"Exploration along direction {REFERENCE_DIRECTION} (step 0 = SGD end):\n")
    lines, out_exp = comparison_table(
        runs, [((REFERENCE_DIRECTION, s), s) for s in sorted(REFERENCE_EXPLORE)],
        REFERENCE_EXPLORE, "step")
    print("\n".join(lines) + "\n")

    print("Selected tasks' test loss, steps 11-20 against step 0, averaged over the runs:\n")
    lines, late_failures = late_loss_table(runs)
    print("\n".join(lines) + "\n")

    print("Reference outside the widened C range: " +
          ("none" if not out_sgd + out_exp else "; ".join(out_sgd + out_exp)))
    print("Selected task whose late loss is not below step 0: " +
          ("none" if not late_failures else "; ".join(late_failures)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
