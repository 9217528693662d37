#!/usr/bin/python3
"""The PyTorch peer of `coopnets_cl bench`: the same nets, batch, chains and Langevin steps (read
from the resolved config inside the bench's JSON), one CoopNets iteration of DESIGN §2 timed the
same way (W warm-up, K timed, median/min/max), on the CPU. Also times SGEMM at 1024^3 with torch
and numpy, and prints which BLAS library torch has loaded: Debian's torch does its products
through whatever libblas.so.3 is installed, and only OpenBLAS makes the comparison fair (DESIGN §4).

OpenBLAS picks its kernels by the CPU it recognises (DYNAMIC_ARCH). A CPU newer than the library
(Debian 12's 0.3.21 on one with avx512_fp16) falls back to a generic core, "Prescott" (SSE3), four to
five times slower than its AVX-512 kernels. When the core it chose has no AVX2 on a CPU that has
AVX-512 (F, BW, DQ, VL) or AVX2 + FMA, the peer runs itself again with OPENBLAS_CORETYPE=SkylakeX or
Haswell (read only when the library loads). An OPENBLAS_CORETYPE set by the user is kept.

Torch gets its best thread count: after the warm-up, one iteration with each count of --threads
(default 1 and all CPUs) picks the faster for the timed iterations. On a loaded machine more threads
can be several times slower (OpenMP and OpenBLAS threads wait by spinning).

usage: peer_torch.py BENCH.json [--iters K] [--warmup W] [--threads 1,2] [--json OUT]
"""
import argparse
import ctypes
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def same_pads(size, k, stride):
    """TensorFlow's SAME along one axis of a conv from `size`: (out, before, after)."""
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + k - size, 0)
    return out, total // 2, total - total // 2


def activation(x, name, slope):
    if name == "leaky_relu":
        return F.leaky_relu(x, slope)
    if name == "relu":
        return F.relu(x)
    if name == "tanh":
        return torch.tanh(x)
    return x


class Descriptor:
    """conv and fc layers from the image up; f = the sum of the top outputs."""

    def __init__(self, cfg, channels, size):
        self.slope = cfg["leaky_slope"]
        self.layers, self.params = [], []
        for layer in cfg["layers"]:
            k = size if layer["type"] == "fc" else layer["kernel"]
            stride = 1 if layer["type"] == "fc" else layer["stride"]
            if layer["type"] == "fc" or layer["padding"] == "valid":
                out, before, after = (size - k) // stride + 1, 0, 0
            else:
                out, before, after = same_pads(size, k, stride)
            w = (torch.randn(layer["filters"], channels, k, k) * cfg["weight_std"]).requires_grad_()
            b = torch.zeros(layer["filters"], requires_grad=True)
            self.layers.append((w, b, stride, (before, after, before, after), layer.get("activation", "none")))
            self.params += [w, b]
            channels, size = layer["filters"], out

    def __call__(self, x):
        for w, b, stride, pads, act in self.layers:
            x = activation(F.conv2d(F.pad(x, pads), w, b, stride), act, self.slope)
        return x.flatten(1)


class Generator:
    """Transposed convolutions, each the adjoint of the conv from its output back to its input."""

    def __init__(self, cfg, out_channels):
        self.slope, self.eps = cfg["leaky_slope"], cfg["bn_eps"]
        latent = cfg["latent"]
        self.latent_shape = (latent["channels"], latent["size"], latent["size"])
        channels, size = latent["channels"], latent["size"]
        self.layers, self.params = [], []
        for layer in cfg["layers"]:
            k, stride = layer["kernel"], layer["stride"]
            valid = layer["padding"] == "valid"
            out = layer.get("output_size") or (size * stride if not valid else (size - 1) * stride + k)
            before = 0 if valid else same_pads(out, k, stride)[1]
            w = (torch.randn(channels, layer["filters"], k, k) * cfg["weight_std"]).requires_grad_()
            b = torch.zeros(layer["filters"], requires_grad=True)
            beta = torch.zeros(layer["filters"], requires_grad=True) if layer.get("batchnorm") else None
            gamma = torch.ones(layer["filters"], requires_grad=True) if layer.get("bn_scale") else None
            self.layers.append((w, b, stride, before, out, beta, gamma, layer.get("activation", "none")))
            self.params += [p for p in (w, b, beta, gamma) if p is not None]
            channels, size = layer["filters"], out

    def __call__(self, h):
        x = h
        for w, b, stride, before, out, beta, gamma, act in self.layers:
            y = F.conv_transpose2d(x, w, b, stride)
            short = before + out - y.shape[-1]
            if short > 0:
                y = F.pad(y, (0, short, 0, short))
            y = y[:, :, before:before + out, before:before + out]
            if beta is not None:
                y = F.batch_norm(y, None, None, gamma, beta, training=True, eps=self.eps)
            x = activation(y, act, self.slope)
        return x


def adam(params, opt):
    return torch.optim.Adam(params, lr=opt["lr"], betas=(opt["beta1"], opt["beta2"]), eps=opt["eps"])


def scheduled_lr(opt, iteration):
    """optimizer.lr under the step schedule of optimizer.decay_every / decay_factor (cn_optimizer_lr)."""
    every = opt.get("decay_every", 0)
    return opt["lr"] * opt.get("decay_factor", 0.1) ** (iteration // every) if every > 0 else opt["lr"]


class CoopNets:
    def __init__(self, c):
        d, g, t = c["descriptor"], c["generator"], c["training"]
        self.d_cfg, self.g_cfg = d, g
        self.n, self.m = t["batch_size"], t["chains"]
        self.D = Descriptor(d, c["data"]["channels"], c["data"]["image_size"])
        self.G = Generator(g, c["data"]["channels"])
        self.opt_d, self.opt_g = adam(self.D.params, d["optimizer"]), adam(self.G.params, g["optimizer"])
        self.logged = {}  # the numbers of a metrics.jsonl line, as tensors (read_metrics turns them into floats)

    def normal(self, shape, stream, step):
        """A fresh N(0, I) draw. `stream` ("latent", "descriptor", "generator") and `step` (the Langevin
        step) name it, so that tools/lockstep_torch.py can give every draw the one coopnets_cl made."""
        return torch.randn(shape)

    def read_metrics(self):
        return {k: float(v) for k, v in self.logged.items()}

    def generate(self):
        self.h = self.normal((self.m, *self.G.latent_shape), "latent", 0)
        self.y = self.G(self.h)

    def revise(self):
        dl = self.d_cfg["langevin"]
        delta, s2 = dl["step_size"], dl["refsig"] ** 2
        y = self.y.detach()
        for t in range(dl["steps"]):
            y.requires_grad_(True)
            f = self.D(y).sum()
            (grad,) = torch.autograd.grad(f, y)
            with torch.no_grad():
                if t == 0:
                    self.logged["f_generated"] = f.detach() / self.m
                if t == dl["steps"] - 1:
                    self.logged["grad_f_norm"] = grad.flatten(1).norm(dim=1).mean()
                y = y - 0.5 * delta * delta * (y / s2 - grad)
                if dl["noise"]:
                    y = y + delta * self.normal(y.shape, "descriptor", t)
        self.revised = y.detach()

    def update_descriptor(self, x):
        for u in range(self.d_cfg["updates_per_iteration"]):
            self.opt_d.zero_grad()
            f = self.D(torch.cat([self.revised, x]))
            loss = f[: self.m].sum() / self.m - f[self.m:].sum() / self.n
            if u == 0:
                self.logged.update(f_revised=f[: self.m].detach().sum() / self.m,
                                   f_observed=f[self.m:].detach().sum() / self.n, loss_d=loss.detach())
            loss.backward()
            self.opt_d.step()

    def infer_latent(self):
        gl = self.g_cfg["langevin"]
        if gl["steps"] == 0:
            return
        delta, s2 = gl["step_size"], gl["sigma"] ** 2
        h = self.h.detach()
        for t in range(gl["steps"]):
            h.requires_grad_(True)
            loss = ((self.revised - self.G(h)) ** 2).sum() / (2 * s2)
            (grad,) = torch.autograd.grad(loss, h)
            with torch.no_grad():
                h = h - 0.5 * delta * delta * (h + grad)
                if gl["noise"]:
                    h = h + delta * self.normal(h.shape, "generator", t)
        self.h = h.detach()
        self.y = self.G(self.h)

    def update_generator(self):
        s2 = self.g_cfg["langevin"]["sigma"] ** 2
        for u in range(self.g_cfg["updates_per_iteration"]):
            if u > 0:
                self.y = self.G(self.h)
            self.opt_g.zero_grad()
            loss = ((self.revised - self.y) ** 2).sum() / (2 * s2 * self.m)
            if u == 0:
                self.logged["loss_g"] = loss.detach()
            loss.backward()
            self.opt_g.step()

    def set_iteration(self, iteration):
        """The learning rates of iteration `iteration` (from 0)."""
        for opt, cfg in ((self.opt_d, self.d_cfg["optimizer"]), (self.opt_g, self.g_cfg["optimizer"])):
            for group in opt.param_groups:
                group["lr"] = scheduled_lr(cfg, iteration)

    def iteration(self, x, steps):
        for i, step in enumerate((self.generate, self.revise, lambda: self.update_descriptor(x), self.infer_latent,
                                  self.update_generator)):
            t0 = time.perf_counter()
            step()
            steps[i] += time.perf_counter() - t0


def sgemm_gflops(mm, a, b, repeats=5):
    best = float("inf")
    for r in range(repeats):
        t0 = time.perf_counter()
        mm(a, b)
        if r:
            best = min(best, time.perf_counter() - t0)
    return 2.0 * a.shape[0] * a.shape[1] * b.shape[1] / best * 1e-9


def blas_libraries():
    """The BLAS shared objects this process has mapped (after a product has run)."""
    with open("/proc/self/maps") as f:
        return sorted({line.split()[-1] for line in f if "blas" in line.lower() and "/" in line})


# OpenBLAS cores with AVX2 kernels or better (its names, lower case); any other is a fallback on a
# CPU that has AVX2.
AVX2_CORES = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"}
COMMANDED = "CN_PEER_OPENBLAS_FALLBACK"  # set for the run again: the core OpenBLAS chose on its own


def openblas_info(blas):
    """(core name, build configuration) of the OpenBLAS among the mapped libraries, or (None, None)."""
    for lib in sorted(blas, key=lambda l: "openblas" not in os.path.basename(l)):
        try:
            handle = ctypes.CDLL(lib)
            corename, config = handle.openblas_get_corename, handle.openblas_get_config
        except (OSError, AttributeError):
            continue
        corename.restype = config.restype = ctypes.c_char_p
        return corename().decode(), config().decode()
    return None, None


def cpu_core_type():
    """The OpenBLAS core this CPU's flags deserve: SkylakeX (AVX-512 F/BW/DQ/VL), Haswell (AVX2 + FMA)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((set(line.split(":", 1)[1].split()) for line in f if line.startswith("flags")), set())
    except OSError:
        return None
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        return "SkylakeX"
    if {"avx2", "fma"} <= flags:
        return "Haswell"
    return None


def use_right_core(blas):
    """Runs this script again with OPENBLAS_CORETYPE set when OpenBLAS fell back to a core below the
    CPU (it reads the variable only when it loads); returns a description of the core used."""
    core, config = openblas_info(blas)
    if core is None:
        return {"core": None, "config": None, "how": "not OpenBLAS"}
    wanted = cpu_core_type()
    if "OPENBLAS_CORETYPE" not in os.environ and wanted and core.lower() not in AVX2_CORES:
        print(f"OpenBLAS chose core {core} on a CPU that has {'AVX-512' if wanted == 'SkylakeX' else 'AVX2 + FMA'}: "
              f"running again with OPENBLAS_CORETYPE={wanted}", flush=True)
        env = dict(os.environ, OPENBLAS_CORETYPE=wanted, **{COMMANDED: core})
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    if COMMANDED in os.environ:
        how = f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} set by peer_torch.py: on its own OpenBLAS chose " \
              f"{os.environ[COMMANDED]}"
    elif "OPENBLAS_CORETYPE" in os.environ:
        how = f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} set by the user"
    else:
        how = "chosen by OpenBLAS"
    return {"core": core, "config": config, "how": how}


def set_threads(threads, blas):
    """torch's threads, and OpenBLAS's own pool (which torch.set_num_threads does not reach)."""
    torch.set_num_threads(threads)
    for lib in blas:
        if "libopenblas" in os.path.basename(lib):
            ctypes.CDLL(lib).openblas_set_num_threads(threads)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bench_json", help="the JSON of `coopnets_cl bench` (its resolved_config), or a resolved config")
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", default=f"1,{os.cpu_count()}", help="thread counts to try, e.g. 1,2")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    with open(args.bench_json) as f:
        doc = json.load(f)
    if isinstance(doc, list):
        doc = next(d for d in doc if "resolved_config" in d)
    config = doc.get("resolved_config", doc)
    thread_counts = sorted({int(t) for t in args.threads.split(",")})
    torch.manual_seed(config["seed"])

    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    torch.mm(a, b)  # maps the BLAS library into the process
    blas = blas_libraries()
    core = use_right_core(blas)
    print(f"torch {torch.__version__}, BLAS: {', '.join(blas) or 'none mapped'}")
    if core["core"]:
        print(f"  {core['config']}; core {core['core']} ({core['how']})")
    if not any("openblas" in lib for lib in blas):
        print("warning: torch is not using OpenBLAS; install libopenblas0-pthread for a fair comparison",
              file=sys.stderr)
    try:
        import numpy
    except ImportError:
        numpy = None
    sgemm = {}  # the host BLAS at its best thread count
    for threads in thread_counts:
        set_threads(threads, blas)
        rates = {"torch": sgemm_gflops(torch.mm, a, b),
                 "numpy": sgemm_gflops(numpy.matmul, a.numpy(), b.numpy()) if numpy else None}
        print(f"SGEMM 1024^3 with {threads} thread(s): torch {rates['torch']:.1f} GFLOP/s, numpy "
              + (f"{rates['numpy']:.1f} GFLOP/s" if rates["numpy"] else "n/a"))
        for lib, rate in rates.items():
            if rate and rate > (sgemm.get(lib) or 0):
                sgemm[lib] = rate
    sgemm.setdefault("numpy", None)
    set_threads(thread_counts[-1], blas)

    net = CoopNets(config)
    d = config["data"]
    x = torch.rand(net.n, d["channels"], d["image_size"], d["image_size"]) * 2 - 1
    steps = [0.0] * 5
    for _ in range(args.warmup):
        net.iteration(x, steps)
    probe = {}
    for threads in thread_counts:
        set_threads(threads, blas)
        t0 = time.perf_counter()
        net.iteration(x, steps)
        probe[threads] = time.perf_counter() - t0
        print(f"  {threads} thread(s): {probe[threads]:.3f} s for one iteration")
    set_threads(min(probe, key=probe.get), blas)
    steps = [0.0] * 5
    times = []
    for _ in range(args.iters):
        t0 = time.perf_counter()
        net.iteration(x, steps)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    names = ["generate", "revise", "update_descriptor", "infer_latent", "update_generator"]
    result = {
        "framework": "pytorch", "torch_version": torch.__version__, "threads": torch.get_num_threads(),
        "thread_probe_seconds": {str(t): s for t, s in probe.items()},
        "blas": blas, "blas_core": core["core"], "blas_config": core["config"], "blas_core_how": core["how"],
        "config": doc.get("config", args.bench_json), "iterations": args.iters, "warmup": args.warmup,
        "seconds_per_iteration": {"median": median, "min": min(times), "max": max(times)},
        "images_per_second": net.n / median,
        "steps": {n: s / args.iters for n, s in zip(names, steps)},
        "sgemm_gflops": sgemm,
    }
    print(f"PyTorch CPU, {torch.get_num_threads()} thread(s): median {median:.4f} s/iteration (min {min(times):.4f}, max {max(times):.4f}) over "
          f"{args.iters}, {net.n / median:.2f} images/s")
    print("  steps: " + ", ".join(f"{n} {s / args.iters:.3f} s" for n, s in zip(names, steps)))
    if args.json:
        tmp = f"{args.json}.tmp.{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(result, f, indent=2)
        os.replace(tmp, args.json)


if __name__ == "__main__":
    main()
