#!/usr/bin/python3
"""Times the units of work of bench_units.c in PyTorch (CPU), on the same data and shapes.

Two variants are timed:

  reference  the code path of the original PyTorch notebook of the method: a Dataset that
             returns one dense 487-float row and its labels per index, DataLoaders (batch 256
             shuffled with the last partial batch dropped for training, 256 in order for the
             test set, 2048 for the Hessian-vector products), nn.Linear layers, per-task
             gradients by one torch.autograd.grad call per task on a retained graph, HVPs by
             double backward (the first-order gradients built with create_graph=True, then the
             gradient of their dot product with v), scipy.sparse.linalg.minres on a
             LinearOperator with maxiter=100 and x0 = the mean of the Jacobian rows.
  optimised  the same network, losses and autograd algorithm, with what a careful user would
             change without rewriting it: the data held as two whole tensors and batches taken
             by indexing them with a shuffled permutation (no Dataset, no DataLoader), the test
             pass under no_grad in chunks of 1024, the HVP's first-order gradient built once
             for the weighted loss sum_k alpha_k L_k (not per task, then weighted), and no
             NumPy copies around the HVPs.

Units (see bench_units.c): sgd_epoch (779 batches + test pass), test_pass, jacobian_quarter
(194 batches), minres_solve (HVP batch prepared, then MINRES), hvp (time per product inside
that solve), explore_step (J, min-norm, solve, update, test pass), jacobian_full (779 batches),
explore_job_smoke (full J + 3 steps). One repeat is one SGD epoch and one exploration job; the
job's pieces give the samples of the step-level units.

  /usr/bin/python3 bench/bench_torch.py [--threads T] [--repeats N] [--variants a,b]
                                        [--csv FILE] [--data DIR] [--steps S]
                                        [--direction D] [--seed N]
"""
import argparse
import os
import sys


def int_in(lo, hi):
    """An argparse type: a decimal integer in [lo, hi]."""
    def parse(text):
        try:
            v = int(text, 10)
        except ValueError:
            v = None
        if v is None or not lo <= v <= hi:
            raise argparse.ArgumentTypeError("'%s' is not an integer in %d..%d" % (text, lo, hi))
        return v
    return parse


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int_in(1, 256), default=1,
                    help="intra-op threads (torch and BLAS)")
    ap.add_argument("--repeats", type=int_in(1, 25), default=3,
                    help="SGD epochs and jobs per variant")
    ap.add_argument("--variants", default="reference,optimised")
    ap.add_argument("--csv", help="write the timings here as CSV")
    ap.add_argument("--data", default="data", help="folder of census-income.{data,test}.gz")
    ap.add_argument("--steps", type=int_in(1, 1000), default=3,
                    help="exploration steps of the job")
    ap.add_argument("--direction", type=int_in(1, 6), default=3,
                    help="exploration direction, 1..6")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    for v in args.variants.split(","):
        if v not in ("reference", "optimised"):
            ap.error("--variants: '%s' is not one of reference, optimised" % v)
    if args.csv is not None and (args.csv == "" or os.path.isdir(args.csv)):
        ap.error("--csv: '%s' is not a file path" % args.csv)
    return args


def open_csv_tmp():
    """The CSV goes to a temporary name opened before the timings, so that an unwritable path
    fails at once, and is renamed into place at the end (removed if the run stops)."""
    if not ARGS.csv:
        return None
    try:
        return open(ARGS.csv + ".tmp", "w")
    except OSError as e:
        sys.exit("bench_torch.py: --csv: %s: cannot open for writing: %s" % (ARGS.csv, e.strerror))


ARGS = parse_args()
# NumPy's BLAS (used by SciPy's MINRES for its vector updates) reads these at import time.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import gzip  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from scipy.sparse.linalg import LinearOperator, minres  # noqa: E402
from torch.nn.utils import parameters_to_vector, vector_to_parameters  # noqa: E402

torch.set_num_threads(ARGS.threads)
torch.set_num_interop_threads(1)

BATCH = 256
HVP_BATCH = 2048
EVAL_CHUNK_OPTIMISED = 1024
LR, MOMENTUM, EPOCHS = 0.001, 0.9, 30
EXPLORE_MOMENTUM, DAMPING, MAXITER, EXPLORE_LR, JAC_FRACTION = 0.9, 0.1, 100, 0.01, 0.25

# --- data: parsed as the original notebook parses it --------------------------------------

# Roles of the 42 columns in file order: 'n' categorical, 'c' continuous, 'l' label source,
# 'i' ignored (the instance weight).
ROLES = "lnnnlcnlnnnnnnnncccnnnnninnnnncnnnnnnnncnn"
assert len(ROLES) == 42 and ROLES.count("n") == 32 and ROLES.count("c") == 6
AGE, EDUCATION, MARITAL = 0, 4, 7
EDUCATION_PREFIXES = ("Bachelors", "Some", "Maters", "Asso", "Doctorate", "Prof")


def read_rows(path):
    """Yields the stripped fields of each line of 42 fields (others are skipped)."""
    with gzip.open(path, "rt", encoding="latin-1") as f:
        for line in f:
            if not line.strip():
                continue
            words = line.strip()[:-1].split(", ")
            if len(words) != 42:
                continue
            yield [w.strip() for w in words]


def load_census(folder):
    paths = [os.path.join(folder, "census-income.data.gz"),
             os.path.join(folder, "census-income.test.gz")]
    cat_cols = [i for i, r in enumerate(ROLES) if r == "n"]
    cont_cols = [i for i, r in enumerate(ROLES) if r == "c"]
    vocab = [set() for _ in range(42)]
    for path in paths:
        for words in read_rows(path):
            for c in cat_cols:
                vocab[c].add(words[c])
    index = {c: {v: j for j, v in enumerate(sorted(vocab[c]))} for c in cat_cols}
    # Feature offset of each column's block, in column order.
    offset, width = {}, 0
    for c, role in enumerate(ROLES):
        if role in "nc":
            offset[c] = width
            width += len(index[c]) if role == "n" else 1
    splits = []
    for path in paths:
        hot, cont, labels = [], [], []
        for words in read_rows(path):
            hot.append([offset[c] + index[c][words[c]] for c in cat_cols])
            cont.append([float(words[c]) for c in cont_cols])
            labels.append([int(float(words[AGE]) >= 40),
                           int(words[EDUCATION].startswith(EDUCATION_PREFIXES)),
                           int(words[MARITAL] == "Never married")])
        n = len(hot)
        x = torch.zeros(n, width)
        rows = torch.arange(n).unsqueeze(1)
        x[rows, torch.tensor(hot, dtype=torch.long)] = 1.0
        x[rows, torch.tensor([offset[c] for c in cont_cols])] = torch.tensor(
            cont, dtype=torch.float32)
        splits.append((x, torch.tensor(labels, dtype=torch.long)))
    return splits, width


class CensusRows(torch.utils.data.Dataset):
    """One dense feature row and its three labels per index, as the notebook's Dataset: it
    keeps a list of per-row tensors (here views of one block) and returns them by index."""

    def __init__(self, x, y):
        self.data = list(torch.unbind(x))
        self.labels = list(torch.unbind(y))

    def __getitem__(self, index):
        return self.data[index], self.labels[index]

    def __len__(self):
        return len(self.data)


# --- the network -----------------------------------------------------------------------------

class MLP(nn.Module):
    def __init__(self, n_in):
        super().__init__()
        self.fc1 = nn.Linear(n_in, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc_age = nn.Linear(128, 2)
        self.fc_education = nn.Linear(128, 2)
        self.fc_marriage = nn.Linear(128, 2)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        h = self.relu(self.fc2(self.relu(self.fc1(x))))
        return [self.fc_age(h), self.fc_education(h), self.fc_marriage(h)]


def task_losses(logits, targets):
    return [F.cross_entropy(logits[k], targets[:, k]) for k in range(3)]


def flat_grad(output, params, **kwargs):
    """d output / d params as one vector; the parameters output does not depend on (the other
    tasks' heads) get zeros, as in the notebook (allow_unused, then None -> zeros)."""
    grads = torch.autograd.grad(output, params, allow_unused=True, **kwargs)
    return parameters_to_vector([torch.zeros_like(p) if g is None else g
                                 for g, p in zip(grads, params)])


def min_norm_weights(jac):
    """MGDA weights: the point of the convex hull of the rows of jac nearest the origin, by
    Frank-Wolfe on the 3x3 Gram matrix (the problem is tiny; the Gram matrix is the cost)."""
    gram = (jac.double() @ jac.double().T).numpy()
    alpha = np.full(3, 1.0 / 3)
    for _ in range(250):
        g = gram @ alpha
        t = int(np.argmin(g))
        d = -alpha.copy()
        d[t] += 1.0
        dgd = d @ gram @ d
        if dgd <= 1e-20:
            break
        step = min(max(-(g @ d) / dgd, 0.0), 1.0)
        if step * np.abs(d).max() < 1e-6:
            break
        alpha += step * d
    return alpha


class Timer:
    """Samples of wall time per unit."""

    def __init__(self):
        self.samples, self.notes = {}, {}

    def add(self, unit, seconds):
        self.samples.setdefault(unit, []).append(seconds)


# --- the reference code path ----------------------------------------------------------------

def reference_evaluate(net, loader):
    """The notebook's evaluation: batches of the test DataLoader, per-task loss and top-1
    accuracy read back with .item() per batch."""
    n_seen, losses, top1 = 0, np.zeros(3), np.zeros(3)
    with torch.no_grad():
        net.train(False)
        for images, targets in loader:
            b = len(images)
            n_seen += b
            logits = net(images)
            losses += b * np.array([l.item() for l in task_losses(logits, targets)])
            top1 += b * np.array([
                logits[k].topk(1, dim=1)[1].eq(targets[:, k:k + 1]).float().sum(1).mean().item()
                for k in range(3)])
    return losses / n_seen, top1 / n_seen


class ReferenceHVP(LinearOperator):
    """The notebook's operator: x -> H x + damping x, H the Hessian of sum_k alpha_k L_k on
    the next batch of the 2048 loader, by double backward."""

    def __init__(self, net, loader):
        n = sum(p.numel() for p in net.parameters())
        super().__init__(np.float32, (n, n))
        self.net, self.loader, self.it = net, loader, iter(loader)
        self.alpha_jac = None
        self.count, self.seconds = 0, 0.0

    def prepare(self, alpha):
        try:
            images, targets = next(self.it)
        except StopIteration:
            self.it = iter(self.loader)
            images, targets = next(self.it)
        losses = task_losses(self.net(images), targets)
        params = list(self.net.parameters())
        grads = [flat_grad(l, params, retain_graph=True, create_graph=True) for l in losses]
        a = torch.as_tensor(alpha.astype(np.float32)).view(1, -1)
        self.alpha_jac = a.matmul(torch.stack(grads, dim=0)).squeeze()

    def _matvec(self, x):
        start = time.perf_counter()
        v = torch.as_tensor(x.astype(self.dtype)).reshape(-1)
        dot = self.alpha_jac.dot(v)
        hv = parameters_to_vector([g.contiguous() for g in torch.autograd.grad(
            dot, self.net.parameters(), retain_graph=True)])
        hv.add_(v, alpha=DAMPING)
        out = hv.detach().cpu().numpy()
        self.seconds += time.perf_counter() - start
        self.count += 1
        return out


class ReferenceJacobians:
    """The notebook's Jacobian estimate: per-task gradients averaged over the next batches of
    the 256 training loader, which continues where it stopped and restarts when exhausted."""

    def __init__(self, net, loader):
        self.net, self.loader, self.it = net, loader, iter(loader)

    def __call__(self, n_batches):
        jac = None
        for _ in range(n_batches):
            try:
                images, targets = next(self.it)
            except StopIteration:
                self.it = iter(self.loader)
                images, targets = next(self.it)
            losses = task_losses(self.net(images), targets)
            params = list(self.net.parameters())
            rows = torch.stack([flat_grad(l, params, retain_graph=True) for l in losses],
                               dim=0).detach()
            jac = rows if jac is None else jac.add_(rows)
        return jac.div_(n_batches).clone()


def run_reference(start_state, n_in, train, test, timer, repeats):
    trainset, testset = CensusRows(*train), CensusRows(*test)
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=BATCH, shuffle=True,
                                              drop_last=True, num_workers=0)
    testloader = torch.utils.data.DataLoader(testset, batch_size=BATCH, shuffle=False,
                                             drop_last=False, num_workers=0)
    hvploader = torch.utils.data.DataLoader(trainset, batch_size=HVP_BATCH, shuffle=True,
                                            drop_last=True, num_workers=0)
    net = MLP(n_in)
    weight = (1 / 3, 1 / 3, 1 / 3)
    bits = np.array([int(c) for c in "{:03b}".format(ARGS.direction)], dtype=np.float32)
    for _ in range(repeats):
        # sgd_epoch: the notebook's training loop for one epoch, then its evaluation.
        net.load_state_dict(start_state)
        opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS * len(trainloader))
        t0 = time.perf_counter()
        net.train(True)
        for images, targets in trainloader:
            losses = task_losses(net(images), targets)
            loss = sum(w * l for w, l in zip(weight, losses))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        t1 = time.perf_counter()
        reference_evaluate(net, testloader)
        t2 = time.perf_counter()
        timer.add("sgd_epoch", t2 - t0)
        timer.add("test_pass", t2 - t1)

        # explore_job_smoke: the notebook's exploration loop for one direction.
        net.load_state_dict(start_state)
        jacobians = ReferenceJacobians(net, trainloader)
        op = ReferenceHVP(net, hvploader)
        mr_opt = torch.optim.SGD(net.parameters(), lr=EXPLORE_LR)
        job_start = time.perf_counter()
        jac_buf = jacobians(len(trainloader)).numpy()
        timer.add("jacobian_full", time.perf_counter() - job_start)
        alpha_buf = min_norm_weights(torch.from_numpy(jac_buf))
        for _ in range(ARGS.steps):
            step_start = time.perf_counter()
            net.train(False)
            jac_t = jacobians(int(len(trainloader) * JAC_FRACTION))
            t_jac = time.perf_counter()
            jac_buf *= EXPLORE_MOMENTUM
            jac_buf += (1 - EXPLORE_MOMENTUM) * jac_t.numpy()
            alpha_buf = EXPLORE_MOMENTUM * alpha_buf + (1 - EXPLORE_MOMENTUM) * \
                min_norm_weights(jac_t)
            rhs = np.squeeze(bits.reshape(1, -1) @ jac_buf)
            x0 = jac_buf.mean(axis=0)
            op.count, op.seconds = 0, 0.0
            t_solve = time.perf_counter()
            op.prepare(alpha_buf)
            x, _ = minres(op, rhs, x0=x0, maxiter=MAXITER)
            op.alpha_jac = None
            t_solved = time.perf_counter()
            d = torch.as_tensor(x.astype(np.float32))
            mr_opt.zero_grad()
            d.div_(d.norm())
            offset = 0
            for p in net.parameters():
                p.grad = d[offset:offset + p.numel()].view_as(p.data).clone()
                offset += p.numel()
            mr_opt.step()
            t_eval = time.perf_counter()
            reference_evaluate(net, testloader)
            t_end = time.perf_counter()
            timer.add("jacobian_quarter", t_jac - step_start)
            timer.add("minres_solve", t_solved - t_solve)
            timer.add("hvp", op.seconds / op.count)
            timer.add("hvps_per_solve", op.count)
            timer.add("test_pass", t_end - t_eval)
            timer.add("explore_step", t_end - step_start)
        timer.add("explore_job_smoke", time.perf_counter() - job_start)


# --- the optimised code path ----------------------------------------------------------------

class Batches:
    """Shuffled batches of the training tensors by indexing, last partial batch dropped,
    continuing across calls and reshuffling when exhausted."""

    def __init__(self, x, y, batch, generator):
        self.x, self.y, self.batch, self.gen = x, y, batch, generator
        self.per_epoch = x.shape[0] // batch
        self.next = self.per_epoch

    def __call__(self):
        if self.next == self.per_epoch:
            self.perm = torch.randperm(self.x.shape[0], generator=self.gen)
            self.next = 0
        rows = self.perm[self.next * self.batch:(self.next + 1) * self.batch]
        self.next += 1
        return self.x[rows], self.y[rows]


def optimised_evaluate(net, x, y):
    losses, correct = torch.zeros(3, dtype=torch.float64), torch.zeros(3, dtype=torch.long)
    with torch.no_grad():
        for first in range(0, x.shape[0], EVAL_CHUNK_OPTIMISED):
            xb, yb = x[first:first + EVAL_CHUNK_OPTIMISED], y[first:first + EVAL_CHUNK_OPTIMISED]
            logits = net(xb)
            for k in range(3):
                losses[k] += F.cross_entropy(logits[k], yb[:, k], reduction="sum").double()
                correct[k] += (logits[k].argmax(1) == yb[:, k]).sum()
    return (losses / x.shape[0]).numpy(), (correct.double() / x.shape[0]).numpy()


def optimised_jacobian(net, params, batches, n_batches, jac):
    """jac (3, P) = per-task gradients averaged over n_batches batches."""
    jac.zero_()
    for _ in range(n_batches):
        xb, yb = batches()
        losses = task_losses(net(xb), yb)
        for k in range(3):
            jac[k].add_(flat_grad(losses[k], params, retain_graph=k < 2))
    return jac.div_(n_batches)


def run_optimised(start_state, n_in, train, test, timer, repeats, generator):
    (xtr, ytr), (xte, yte) = train, test
    net = MLP(n_in)
    params = list(net.parameters())
    n_params = sum(p.numel() for p in params)
    weight = torch.tensor([1 / 3, 1 / 3, 1 / 3])
    bits = torch.tensor([float(c) for c in "{:03b}".format(ARGS.direction)])
    sgd_batches = Batches(xtr, ytr, BATCH, generator)
    jac_batches = Batches(xtr, ytr, BATCH, generator)
    hvp_batches = Batches(xtr, ytr, HVP_BATCH, generator)
    jac, jac_buf = torch.zeros(3, n_params), torch.zeros(3, n_params)
    for _ in range(repeats):
        net.load_state_dict(start_state)
        opt = torch.optim.SGD(params, lr=LR, momentum=MOMENTUM, foreach=True)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS * sgd_batches.per_epoch)
        t0 = time.perf_counter()
        for _ in range(sgd_batches.per_epoch):
            xb, yb = sgd_batches()
            loss = (weight * torch.stack(task_losses(net(xb), yb))).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        t1 = time.perf_counter()
        optimised_evaluate(net, xte, yte)
        t2 = time.perf_counter()
        timer.add("sgd_epoch", t2 - t0)
        timer.add("test_pass", t2 - t1)

        net.load_state_dict(start_state)
        job_start = time.perf_counter()
        optimised_jacobian(net, params, jac_batches, jac_batches.per_epoch, jac_buf)
        timer.add("jacobian_full", time.perf_counter() - job_start)
        alpha_buf = min_norm_weights(jac_buf)
        for _ in range(ARGS.steps):
            step_start = time.perf_counter()
            optimised_jacobian(net, params, jac_batches,
                               int(jac_batches.per_epoch * JAC_FRACTION), jac)
            t_jac = time.perf_counter()
            jac_buf.mul_(EXPLORE_MOMENTUM).add_(jac, alpha=1 - EXPLORE_MOMENTUM)
            alpha_buf = EXPLORE_MOMENTUM * alpha_buf + (1 - EXPLORE_MOMENTUM) * \
                min_norm_weights(jac)
            rhs = (bits @ jac_buf).numpy()
            x0 = jac_buf.mean(0).numpy()

            t_solve = time.perf_counter()
            xb, yb = hvp_batches()
            losses = task_losses(net(xb), yb)
            a = [float(v) for v in alpha_buf]
            weighted = sum(a[k] * losses[k] for k in range(3))
            grad = flat_grad(weighted, params, create_graph=True)
            count, hvp_seconds = 0, 0.0

            def matvec(v):
                nonlocal count, hvp_seconds
                s = time.perf_counter()
                vt = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)).reshape(-1)
                hv = torch.cat([g.reshape(-1) for g in torch.autograd.grad(
                    grad, params, grad_outputs=vt, retain_graph=True)])
                hv.add_(vt, alpha=DAMPING)
                hvp_seconds += time.perf_counter() - s
                count += 1
                return hv.numpy()

            op = LinearOperator((n_params, n_params), matvec=matvec, dtype=np.float32)
            x, _ = minres(op, rhs, x0=x0, maxiter=MAXITER)
            grad = losses = weighted = None  # frees the double-backward graph
            t_solved = time.perf_counter()
            with torch.no_grad():
                d = torch.from_numpy(x)
                vector_to_parameters(parameters_to_vector(params) - EXPLORE_LR * d / d.norm(),
                                     params)
            t_eval = time.perf_counter()
            optimised_evaluate(net, xte, yte)
            t_end = time.perf_counter()
            timer.add("jacobian_quarter", t_jac - step_start)
            timer.add("minres_solve", t_solved - t_solve)
            timer.add("hvp", hvp_seconds / count)
            timer.add("hvps_per_solve", count)
            timer.add("test_pass", t_end - t_eval)
            timer.add("explore_step", t_end - step_start)
        timer.add("explore_job_smoke", time.perf_counter() - job_start)


# --- main -----------------------------------------------------------------------------------

UNITS = ["sgd_epoch", "test_pass", "jacobian_quarter", "minres_solve", "hvp", "explore_step",
         "jacobian_full", "explore_job_smoke"]


def main(csv_file):
    torch.manual_seed(ARGS.seed)
    t = time.perf_counter()
    (train, test), n_in = load_census(ARGS.data)
    print("bench_torch: torch %s, threads %d, repeats %d; data: %d train rows, %d test rows, "
          "%d features (parsed in %.1f s)" % (torch.__version__, torch.get_num_threads(),
                                               ARGS.repeats, train[0].shape[0],
                                               test[0].shape[0], n_in,
                                               time.perf_counter() - t), flush=True)
    if n_in != 487:
        sys.exit("bench_torch: expected 487 features, found %d" % n_in)

    # The starting network: a fresh one after one untimed SGD epoch of equal weights.
    generator = torch.Generator().manual_seed(ARGS.seed)
    net = MLP(n_in)
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    batches = Batches(train[0], train[1], BATCH, generator)
    for _ in range(batches.per_epoch):
        xb, yb = batches()
        loss = sum(l / 3 for l in task_losses(net(xb), yb))
        opt.zero_grad()
        loss.backward()
        opt.step()
    start_state = {k: v.clone() for k, v in net.state_dict().items()}

    rows = []
    for variant in ARGS.variants.split(","):
        timer = Timer()
        if variant == "reference":
            run_reference(start_state, n_in, train, test, timer, ARGS.repeats)
        elif variant == "optimised":
            run_optimised(start_state, n_in, train, test, timer, ARGS.repeats, generator)
        else:
            sys.exit("bench_torch: unknown variant '%s'" % variant)
        hvps = timer.samples.pop("hvps_per_solve")
        print("\n%s (HVPs per solve: %s)" % (variant, ", ".join(str(c) for c in hvps)))
        print("%-18s %10s   %s" % ("unit", "median s", "min s .. max s"))
        for unit in UNITS:
            s = timer.samples[unit]
            rows.append((unit, variant, statistics.median(s), min(s), max(s), len(s),
                         statistics.mean(hvps)))
            print("%-18s %10.4f   %9.4f .. %-9.4f (%d samples)" % (
                unit, statistics.median(s), min(s), max(s), len(s)), flush=True)

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6
    print("\npeak RSS: %.1f MB (data as dense tensors; variants: %s)" % (rss_mb, ARGS.variants))
    if csv_file:
        with csv_file as f:
            f.write("unit,variant,median_s,min_s,max_s,samples,hvps_per_solve,threads,"
                    "peak_rss_mb\n")
            for r in rows:
                f.write("%s,%s,%.6f,%.6f,%.6f,%d,%.1f,%d,%.1f\n" % (r + (ARGS.threads, rss_mb)))
        os.replace(ARGS.csv + ".tmp", ARGS.csv)


def stop_on_signal(signum, frame):
    sys.exit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop_on_signal)
    CSV_FILE = open_csv_tmp()
    try:
        main(CSV_FILE)
    except BaseException:
        if CSV_FILE:
            CSV_FILE.close()
            os.remove(ARGS.csv + ".tmp")
        raise
