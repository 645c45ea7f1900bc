#!/usr/bin/env python3
"""PyTorch/SciPy half of the cross-check: runs the C side, recomputes, compares.

The C program `crosscheck` writes parameters, batches (sparse rows and labels) and its own
results to an exchange file (its format is described at the top of crosscheck.c). This script
rebuilds the same network in PyTorch from those parameters and recomputes, independently:

  (a) the three per-task gradients on a 256-row batch,
  (b) (H + damping I) v for three random v on a 2048-row batch (double backward),
  (c) the min-norm weights of the (a) gradients (its own closed-form solver),
  (d) a MINRES solve from x0 on that damped HVP operator (scipy.sparse.linalg.minres), with
      5 iterations and with the paper's limit of 100,
  (e) one exploration step (explore_begin, then explore_step) from the same batches, again
      with both MINRES limits,
  (f) two SGD steps with momentum 0.9 and the cosine schedule (torch.optim.SGD and
      CosineAnnealingLR),

and prints the largest deviation it saw for each. Exit status: 0 when every deviation is
within its tolerance, 1 otherwise, 77 (skip) when torch, scipy or numpy cannot be imported.

Deviation of a vector c against a reference r: max_i |c_i - r_i| / max_i |r_i|.

  usage: crosscheck.py --exe BUILD/tests/crosscheck --data DATA_DIR --exchange FILE.bin
                       [--float64]   (also the float64 yardstick for (d); slow)
"""
import argparse
import inspect
import math
import struct
import subprocess
import sys
import time
import warnings

SKIP = 77
try:
    import numpy as np
    import scipy
    import torch
    import torch.nn.functional as F
    from scipy.sparse.linalg import LinearOperator, minres
except ImportError as exc:  # pragma: no cover - depends on the machine
    print(f"SKIP: the cross-check needs numpy, scipy and torch in {sys.executable}: {exc}")
    sys.exit(SKIP)

# Tolerances (deviation as defined above), for float32 on both sides. Float32 has a unit
# roundoff u = 6e-8; a sum of n terms taken in another order differs by up to ~n u times the
# sum of |terms|, and cancellation makes that relative to the largest entry, not to each one.
#  - Gradients and HVPs are sums over 256 or 2048 rows and 128-256 hidden units, ordered
#    differently by OpenBLAS and PyTorch; the measured deviations are 1e-7 (gradients) and
#    1e-6 (HVPs, whose inputs reach 1e5 as the features are not scaled). 1e-4 leaves two
#    orders of margin and still catches any wrong term: a missing ReLU mask, a transposed
#    block, a wrong 1/n or a dropped head gives deviations of order 1.
#  - Min-norm weights from the same Gram matrix (the C gradients): both solvers are exact up
#    to float64 rounding, 1e-9 absolute. From PyTorch's gradients: alpha moves with the Gram
#    matrix's relative error (~1e-7) over its conditioning; 1e-4 absolute.
#  - MINRES is compared twice. With 5 iterations float32 Krylov paths still coincide (the
#    C - SciPy deviation is 5e-6, as is SciPy float32 - SciPy float64), so 1e-4 checks the
#    recurrences, x0 and the stopping rule tightly. With the paper's 100 iterations the solve
#    is far from converged on this ill-conditioned operator (unscaled inputs) and float32
#    Lanczos loses orthogonality after ~6 iterations: SciPy's own float32 solution then lies
#    0.28 (deviation) from its float64 solution, and the C one 0.07 from SciPy's float32 one.
#    No tight bound on x is meaningful there: x is bounded by 0.5 only, which catches gross
#    errors alone (solving with a wrong right-hand side, without x0 or without damping moves
#    x by 0.40-0.59 from SciPy's solution). What the long solve must match is how well it
#    solves the system: the true residuals |b - A x| / |b| of the C and SciPy solutions must
#    agree within 10% (measured: 0.4%; the float64 solve's residual is 2% lower; a wrong
#    right-hand side gives a C/wrong ratio of 0.38-0.45). Missing x0 or damping leave that
#    residual within 6%: the 5-iteration comparison is the check that catches those.
#  - The exploration step is lr x / |x|: the same two MINRES limits and tolerances apply
#    (measured: 2.5e-6 with 5 iterations; 1.5e-2, cosine 0.99998, with 100), and for the long
#    solve the residual of each step direction, optimally scaled, within 10%.
#  - SGD: two steps of lr times the momentum buffer from the same gradients: parameters and
#    buffer to 1e-4 as gradients; learning rates (double on both sides) to 1e-12 relative.
TOL = {
    "gradients": 1e-4,
    "hvp": 1e-4,
    "alpha_same_gram": 1e-9,
    "alpha_end_to_end": 1e-4,
    "minres_short": 1e-4,
    "minres_full": 0.5,
    "minres_residual": 0.1,
    "explore_alpha": 1e-4,
    "explore_short": 1e-4,
    "explore_full": 0.5,
    "explore_residual": 0.1,
    "sgd_lr": 1e-12,
    "sgd_theta": 1e-4,
    "sgd_velocity": 1e-4,
}

TYPES = {0: np.float32, 1: np.float64, 2: np.int32, 3: np.uint16, 4: np.uint8}


def read_exchange(path):
    """Returns {name: array} from the C side's exchange file."""
    out = {}
    with open(path, "rb") as f:
        blob = f.read()
    at = 0
    while at < len(blob):
        name = blob[at:at + 32].split(b"\0", 1)[0].decode()
        type_code, ndim = struct.unpack_from("<ii", blob, at + 32)
        dims = struct.unpack_from(f"<{ndim}q", blob, at + 40)
        at += 40 + 8 * ndim
        dtype = np.dtype(TYPES[type_code]).newbyteorder("<")
        count = int(np.prod(dims)) if ndim else 1
        out[name] = np.frombuffer(blob, dtype, count, at).reshape(dims).copy()
        at += count * dtype.itemsize
    return out


def deviation(c, ref):
    """max |c - ref| / max |ref|, in float64."""
    c = np.asarray(c, np.float64)
    ref = np.asarray(ref, np.float64)
    return float(np.max(np.abs(c - ref)) / np.max(np.abs(ref)))


class Net(torch.nn.Module):
    """487 -> 256 -> ReLU -> 128 -> ReLU -> one Linear(128, 2) head per task."""

    def __init__(self, n_in, h1, h2, tasks):
        super().__init__()
        self.fc1 = torch.nn.Linear(n_in, h1)
        self.fc2 = torch.nn.Linear(h1, h2)
        self.heads = torch.nn.ModuleList(torch.nn.Linear(h2, 2) for _ in range(tasks))

    def forward(self, x):
        h = torch.relu(self.fc2(torch.relu(self.fc1(x))))
        return [head(h) for head in self.heads]


class Layout:
    """Maps between the C flat vector (input-major weights, mlp.h) and PyTorch's tensors."""

    def __init__(self, shape):
        self.n_in, self.h1, self.h2, self.tasks = (int(s) for s in shape)
        out = 2 * self.tasks
        sizes = [self.n_in * self.h1, self.h1, self.h1 * self.h2, self.h2, self.h2 * out, out]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.total = int(self.offsets[-1])

    def split(self, vec):
        o = self.offsets
        out = 2 * self.tasks
        w1 = vec[o[0]:o[1]].reshape(self.n_in, self.h1)
        b1 = vec[o[1]:o[2]]
        w2 = vec[o[2]:o[3]].reshape(self.h1, self.h2)
        b2 = vec[o[3]:o[4]]
        w3 = vec[o[4]:o[5]].reshape(self.h2, out)
        b3 = vec[o[5]:o[6]]
        return w1, b1, w2, b2, w3, b3

    def to_torch(self, vec, dtype):
        """C vector -> tensors in the order of Net.parameters(); Linear weight is (out, in)."""
        w1, b1, w2, b2, w3, b3 = self.split(np.asarray(vec))
        ts = [w1.T, b1, w2.T, b2]
        for k in range(self.tasks):
            ts += [w3[:, 2 * k:2 * k + 2].T, b3[2 * k:2 * k + 2]]
        return [torch.tensor(np.ascontiguousarray(t), dtype=dtype) for t in ts]

    def from_torch(self, tensors):
        """Tensors in Net.parameters() order -> C vector (float64)."""
        ts = [t.detach().to(torch.float64).numpy() for t in tensors]
        w3 = np.concatenate([ts[4 + 2 * k].T for k in range(self.tasks)], axis=1)
        b3 = np.concatenate([ts[5 + 2 * k] for k in range(self.tasks)])
        parts = [ts[0].T, ts[1], ts[2].T, ts[3], w3, b3]
        return np.concatenate([p.reshape(-1) for p in parts])


class Checker:
    def __init__(self, ex, dtype=torch.float32):
        self.ex = ex
        self.dtype = dtype
        self.layout = Layout(ex["shape"])
        self.net = Net(self.layout.n_in, self.layout.h1, self.layout.h2, self.layout.tasks)
        self.net.to(dtype)
        self.params = list(self.net.parameters())
        self.load(ex["theta0"])

    def load(self, vec):
        with torch.no_grad():
            for p, t in zip(self.params, self.layout.to_torch(vec, self.dtype)):
                p.copy_(t)

    def batch(self, name):
        """Dense inputs (n, in) and labels (n, tasks) of a batch written by the C side as
        sparse rows (idx, val)."""
        idx = self.ex[name + "_idx"].astype(np.int64)
        val = self.ex[name + "_val"]
        n = idx.shape[0]
        x = np.zeros((n, self.layout.n_in), np.float64)
        x[np.arange(n)[:, None], idx] = val
        y = torch.tensor(self.ex[name + "_y"].astype(np.int64))
        return torch.tensor(x, dtype=self.dtype), y

    def grad(self, scalar, **kw):
        """d scalar / d parameters; zeros for the parameters it does not use (other heads)."""
        gs = torch.autograd.grad(scalar, self.params, allow_unused=True, **kw)
        return [torch.zeros_like(p) if g is None else g for g, p in zip(gs, self.params)]

    def losses(self, x, y):
        return [F.cross_entropy(logits, y[:, k]) for k, logits in enumerate(self.net(x))]

    def task_grads(self, name):
        """(tasks, P) per-task gradients on one batch, C layout, float64."""
        x, y = self.batch(name)
        losses = self.losses(x, y)
        rows = [self.layout.from_torch(self.grad(l, retain_graph=True)) for l in losses]
        return np.stack(rows)

    def hvp_operator(self, name, alpha, damping):
        """v -> (H + damping I) v for H the Hessian of sum_k alpha_k L_k on a batch; double
        backward through a first-order gradient kept with create_graph."""
        x, y = self.batch(name)
        loss = sum(float(a) * l for a, l in zip(alpha, self.losses(x, y)))
        grads = self.grad(loss, create_graph=True)
        layout, dtype = self.layout, self.dtype

        def apply(v):
            vt = layout.to_torch(np.asarray(v).reshape(-1), dtype)
            dot = sum((g * t).sum() for g, t in zip(grads, vt))
            hv = self.grad(dot, retain_graph=True)
            return layout.from_torch(hv) + damping * np.asarray(v, np.float64).reshape(-1)

        return apply


def min_norm_closed_form(gram):
    """alpha on the simplex minimising alpha^T G alpha for 3 vectors: the best of the three
    vertices, the three edges (a 1-D quadratic, clipped) and the interior stationary point
    (when it is feasible)."""
    m = gram.shape[0]
    best, best_val = None, math.inf

    def consider(a):
        nonlocal best, best_val
        val = float(a @ gram @ a)
        if val < best_val:
            best, best_val = a, val

    for i in range(m):
        a = np.zeros(m)
        a[i] = 1.0
        consider(a)
    for i in range(m):
        for j in range(i + 1, m):
            # |t g_i + (1-t) g_j|^2 is minimal at t = (G_jj - G_ij) / |g_i - g_j|^2
            denom = gram[i, i] - 2 * gram[i, j] + gram[j, j]
            if denom > 0:
                t = min(1.0, max(0.0, (gram[j, j] - gram[i, j]) / denom))
                a = np.zeros(m)
                a[i], a[j] = t, 1.0 - t
                consider(a)
    # interior: G a = nu 1, sum a = 1
    try:
        z = np.linalg.solve(gram, np.ones(m))
        if np.all(z >= 0) and z.sum() > 0:
            consider(z / z.sum())
    except np.linalg.LinAlgError:
        pass
    return best


def min_norm(jac):
    j = np.asarray(jac, np.float64)
    return min_norm_closed_form(j @ j.T)


def scaled_residual(apply, rhs, direction):
    """min over s of |b - s A d| / |b|: how well a direction d solves A x = b."""
    b = np.asarray(rhs, np.float64)
    ad = apply(direction)
    s = (ad @ b) / (ad @ ad)
    return float(np.linalg.norm(b - s * ad) / np.linalg.norm(b))


def scipy_minres(apply, rhs, x0, maxiter, rtol, dtype):
    """SciPy's MINRES on a LinearOperator of the given dtype; returns (x, iterations, istop)."""
    n = rhs.shape[0]
    calls = [0]

    def matvec(v):
        calls[0] += 1
        return apply(v).astype(dtype)

    op = LinearOperator((n, n), matvec=matvec, dtype=dtype)
    tol_key = "rtol" if "rtol" in inspect.signature(minres).parameters else "tol"
    x, info = minres(op, rhs.astype(dtype), x0=x0.astype(dtype), maxiter=maxiter,
                     **{tol_key: rtol})
    # one application for r0 = b - A x0, then one per iteration
    return np.asarray(x, np.float64), calls[0] - 1, info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exe", required=True, help="the crosscheck C executable")
    ap.add_argument("--data", required=True, help="directory of census-income.*.gz")
    ap.add_argument("--exchange", required=True, help="exchange file to write and read")
    ap.add_argument("--float64", action="store_true",
                    help="also solve (d) in float64, the yardstick for the float32 spread")
    args = ap.parse_args()

    torch.set_num_threads(2)
    start = time.time()
    subprocess.run([args.exe, args.exchange, args.data], check=True)
    ex = read_exchange(args.exchange)
    chk = Checker(ex)
    damping, momentum, explore_lr, rtol = (float(v) for v in ex["settings"])
    maxiter, direction = (int(v) for v in ex["settings_int"])
    selected = [k for k in range(3) if (direction >> (2 - k)) & 1]  # character k -> task k+1
    results = []  # (quantity, deviation, tolerance)

    def report(name, dev, tol_key, note=""):
        results.append((name, dev, TOL[tol_key]))
        status = "ok" if dev <= TOL[tol_key] else "FAIL"
        print(f"  {name:<44} {dev:10.3e}  (tol {TOL[tol_key]:g}) {status} {note}")

    theta0 = ex["theta0"].astype(np.float64)
    print(f"crosscheck: P = {theta0.size} parameters; deviation = max|C - ref| / max|ref|")

    # (a) per-task gradients
    jac_ref = chk.task_grads("a")
    jac_c = ex["a_jac"]
    report("(a) gradients, worst of 3 tasks",
           max(deviation(jac_c[k], jac_ref[k]) for k in range(3)), "gradients")

    # (b) damped HVPs
    apply_b = chk.hvp_operator("b", ex["b_alpha"], damping)
    report("(b) (H + 0.1 I) v, worst of 3 vectors",
           max(deviation(ex["b_hv"][j], apply_b(ex["b_v"][j])) for j in range(len(ex["b_v"]))),
           "hvp")

    # (c) min-norm weights
    alpha_c = ex["c_alpha"]
    alpha_same = min_norm(jac_c)
    alpha_e2e = min_norm(jac_ref)
    report("(c) alpha, same gradients (abs)", float(np.max(np.abs(alpha_c - alpha_same))),
           "alpha_same_gram", f"C {np.round(alpha_c, 6)}")
    report("(c) alpha, PyTorch gradients (abs)", float(np.max(np.abs(alpha_c - alpha_e2e))),
           "alpha_end_to_end", f"ref {np.round(alpha_e2e, 6)}")
    g1, g2 = jac_c[0].astype(np.float32), jac_c[1].astype(np.float32)
    triples = (np.stack([g1, g2, np.float32(3) * (g1 + g2)]),
               np.stack([g1, np.float32(2) * g1, np.float32(3) * g1]))
    for name, triple, alpha_face in zip(("(J1, J2, 3 (J1 + J2))", "(J1, 2 J1, 3 J1)"), triples,
                                        ex["c_alpha_faces"]):
        ref = min_norm(triple)
        report(f"(c) alpha of {name} (abs)", float(np.max(np.abs(alpha_face - ref))),
               "alpha_same_gram", f"ref {np.round(ref, 6)}")

    # (d) MINRES with x0 on (H + damping I), H of the (c) weights on the (b) batch, from the
    # C side's gradients (so that both solve the very same system). A short solve, compared
    # tightly, and one with the paper's iteration limit.
    apply_d = chk.hvp_operator("b", alpha_c, damping)
    rhs = sum(jac_c[k].astype(np.float32) for k in selected)
    x0 = ex["d_x0"]
    short, full = (int(v) for v in ex["d_limits"])
    c_iters = ex["d_iterations"]
    x_short, it_short, _ = scipy_minres(apply_d, rhs, x0, short, rtol, np.float32)
    report(f"(d) MINRES x, {short} iterations", deviation(ex["d_short_x"], x_short),
           "minres_short", f"iterations C {c_iters[0]}, SciPy {it_short}")
    x_full, it_full, _ = scipy_minres(apply_d, rhs, x0, full, rtol, np.float32)
    report(f"(d) MINRES x, limit {full}", deviation(ex["d_x"], x_full), "minres_full",
           f"iterations C {c_iters[1]}, SciPy {it_full}")
    rhs_norm = np.linalg.norm(rhs.astype(np.float64))
    res_c = np.linalg.norm(rhs - apply_d(ex["d_x"])) / rhs_norm
    res_ref = np.linalg.norm(rhs - apply_d(x_full)) / rhs_norm
    res_x0 = np.linalg.norm(rhs - apply_d(x0)) / rhs_norm
    report("(d) |b - A x| / |b|: |C / SciPy - 1|", abs(res_c / res_ref - 1),
           "minres_residual", f"C {res_c:.4f}, SciPy {res_ref:.4f} (x0: {res_x0:.4f})")
    if args.float64:
        # The yardstick for the full solve: the same system solved in float64 end to end.
        chk64 = Checker(ex, torch.float64)
        apply_d64 = chk64.hvp_operator("b", alpha_c, damping)
        for limit, x_c, x_32 in ((short, ex["d_short_x"], x_short), (full, ex["d_x"], x_full)):
            x_64, it_64, _ = scipy_minres(apply_d64, rhs.astype(np.float64),
                                          x0.astype(np.float64), limit, rtol, np.float64)
            res_64 = np.linalg.norm(rhs - apply_d64(x_64)) / rhs_norm
            print(f"      float64 yardstick, limit {limit}: SciPy float32 vs float64 "
                  f"{deviation(x_32, x_64):.3e}, C vs float64 {deviation(x_c, x_64):.3e} "
                  f"({it_64} iterations, |b - A x| / |b| = {res_64:.4f})")

    # (e) one exploration step, recomputed from the same batches
    n_step = 2
    n_begin = sum(1 for k in ex if k.startswith("e_jac") and k.endswith("_idx")) - n_step
    jac_avg = np.mean([chk.task_grads(f"e_jac{b}") for b in range(n_begin)], axis=0)
    alpha_avg = min_norm(jac_avg.astype(np.float32))
    report("(e) begin: alpha_avg (abs)", float(np.max(np.abs(ex["e_alpha_begin"] - alpha_avg))),
           "explore_alpha")
    jac = np.mean([chk.task_grads(f"e_jac{n_begin + b}") for b in range(n_step)], axis=0)
    jac_avg = (momentum * jac_avg + (1 - momentum) * jac).astype(np.float32)
    alpha = min_norm(jac.astype(np.float32))
    alpha_avg = momentum * alpha_avg + (1 - momentum) * alpha
    report("(e) step: alpha_avg (abs)", float(np.max(np.abs(ex["e_alpha_avg"] - alpha_avg))),
           "explore_alpha", f"ref {np.round(alpha_avg, 6)}")
    apply_e = chk.hvp_operator("e_hvp", alpha_avg, damping)
    rhs = sum(jac_avg[k] for k in selected)
    x0 = jac_avg.astype(np.float64).mean(axis=0)
    c_iters = ex["e_iterations"]
    for run, (limit, key, tol_key) in enumerate(((short, "e_short_theta", "explore_short"),
                                                 (full, "e_theta", "explore_full"))):
        x, it_e, _ = scipy_minres(apply_e, rhs, x0, limit, rtol, np.float32)
        step_ref = -explore_lr * x / np.linalg.norm(x)
        step_c = ex[key].astype(np.float64) - theta0
        cos = float(step_c @ step_ref / (np.linalg.norm(step_c) * np.linalg.norm(step_ref)))
        report(f"(e) step theta1 - theta0, MINRES limit {limit}", deviation(step_c, step_ref),
               tol_key, f"iterations C {c_iters[run]}, SciPy {it_e}; cosine {cos:.7f}")
    # The step only keeps x's direction: compare how well each direction, best scaled,
    # solves the system (the residual of the last, 100-iteration solve).
    res_c, res_ref = (scaled_residual(apply_e, rhs, d) for d in (step_c, step_ref))
    report("(e) min_s |b - s A d| / |b|: |C / SciPy - 1|", abs(res_c / res_ref - 1),
           "explore_residual", f"C {res_c:.4f}, SciPy {res_ref:.4f}")

    # (f) SGD with momentum and the cosine schedule
    lr0, sgd_mom, first, total = (float(v) for v in ex["f_schedule"])
    chk.load(ex["theta0"])
    opt = torch.optim.SGD(chk.params, lr=lr0, momentum=sgd_mom)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=int(total))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stepping the schedule ahead without optimizer steps
        for _ in range(int(first)):
            sched.step()
    lrs = []
    weight = ex["f_weight"]
    for s in range(len(ex["f_lr"])):
        lrs.append(opt.param_groups[0]["lr"])
        x, y = chk.batch(f"f_batch{s}")
        opt.zero_grad()
        loss = sum(float(w) * l for w, l in zip(weight, chk.losses(x, y)))
        loss.backward()
        opt.step()
        sched.step()
    report("(f) cosine learning rates (rel)",
           float(np.max(np.abs(np.array(lrs) - ex["f_lr"]) / np.array(lrs))), "sgd_lr",
           f"lr {lrs}")
    theta_ref = chk.layout.from_torch([p.detach() for p in chk.params])
    report("(f) SGD theta2 - theta0", deviation(ex["f_theta"].astype(np.float64) - theta0,
                                                theta_ref - theta0), "sgd_theta")
    vel_ref = chk.layout.from_torch([opt.state[p]["momentum_buffer"] for p in chk.params])
    report("(f) SGD momentum buffer", deviation(ex["f_velocity"], vel_ref), "sgd_velocity")

    failed = [r for r in results if not r[1] <= r[2]]
    print(f"crosscheck: {len(results) - len(failed)}/{len(results)} within tolerance "
          f"({time.time() - start:.1f} s; torch {torch.__version__}, scipy {scipy.__version__})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
