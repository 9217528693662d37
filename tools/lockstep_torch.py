#!/usr/bin/python3
"""Replays a coopnets_cl training run in PyTorch, iteration by iteration, and compares.

coopnets_cl writes the trace with the test-only switch COOPNETS_TRACE=TRACE (include/coopnets/cn_trace.h):
the resolved config, both nets' initial parameters, and per iteration the observed batch, the
latent draw, the Langevin noise of both samplers and the parameters after it. The PyTorch peer
(benchmarks/peer_torch.py: the same nets and steps) starts from those parameters, takes those
batches and draws, and after each iteration its parameters are compared with coopnets_cl's, and
its metrics with the run's metrics.jsonl (train with training.log_every=1).

The same replay runs a second time in float64 (--float64), a yardstick for float32 rounding:
PyTorch's own float32 replay is that far from exact arithmetic, and so should coopnets_cl be.
--limits-against float64 checks the --max-* limits against that float64 replay instead of the float32
one: PyTorch's float32 replay meets kinks too, and then the limits would measure PyTorch. On a Zen 3
(AVX2, OpenBLAS 0.3.21) the float32 replay of the test's 2 iterations was 3.7e-3 (rms) from float64
in the descriptor's parameters after iteration 1 while coopnets_cl was 8.9e-6 from it, and 1.3e-2
against 1.8e-5 after iteration 2.
--perturb EPS runs another float32 replay from initial weights multiplied by (1 + EPS·N(0, 1)): how
far a difference of one rounding (EPS 1e-7) grows in this run, the yardstick for chaotic stretches.

Parameter differences: per tensor max |a − b| / max |b| (the worst tensor of each net is shown),
and per net ‖a − b‖ / ‖b‖ over all its tensors (rms). Tensors that cannot affect the run are
reported apart: the bias of a layer followed by batch norm, and the bias of the descriptor's top
layer when it has no activation (f is a sum, so that bias only adds a constant to f). Their
gradients are exactly 0 in exact arithmetic; in float they are rounding noise of ~1e-9, which
Adam's first steps turn into moves of about its learning rate, different in every implementation.
For the same reason the scores f(X), f(Ŷ), f(Ỹ) are compared less that constant (each side's own
sum of the top bias); L_D is a difference of scores and holds no such constant.

Where one net's gradient differs by more than rounding while Ỹ and h agree, look for a ReLU kink:
an activation within rounding of 0 takes the other branch in one implementation (the 12-chain test
config met one: pre-activation 5e-7 of a 0.75 scale, the gradient 4e-4 off, exact once flipped).

usage: lockstep_torch.py TRACE RUN [--float64] [--iterations K] [--json OUT] [--max-param-rms X]
                         [--max-metric-rel Y] [--max-step-rms Z] [--limits-against float32|float64]
exit 0 when every iteration is within the limits given (none given: always, after the report),
1 when one is not, 2 on bad input.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks"))
import peer_torch  # noqa: E402  (the path above)

METRICS = ["f_observed", "f_generated", "f_revised", "loss_d", "loss_g", "grad_f_norm"]


class BadInput(Exception):
    pass


def load_npy(path, what):
    if not os.path.exists(path):
        raise BadInput(f"{path}: missing ({what})")
    a = numpy.load(path)
    if a.dtype != numpy.float32:
        raise BadInput(f"{path}: dtype {a.dtype}, expected float32")
    return a


class Replay(peer_torch.CoopNets):
    """The peer with every draw taken from the trace."""

    def __init__(self, config, dtype):
        self.dtype = dtype
        torch.set_default_dtype(dtype)
        super().__init__(config)
        self.draws = {}

    def normal(self, shape, stream, step):
        draw = self.draws[stream][step]
        if tuple(draw.shape) != tuple(shape):
            raise BadInput(f"trace: the {stream} draw of step {step} has shape {tuple(draw.shape)}, "
                           f"the nets need {tuple(shape)}")
        return draw

    def tensors(self):
        """The parameter tensors in coopnets_cl's order (weight, bias, then the batch norm's scale and shift),
        each with whether it can affect the run."""
        out = []
        layers = self.D.layers
        for i, (w, b, _, _, act) in enumerate(layers):
            top_constant = i == len(layers) - 1 and act == "none"
            out += [(w, True), (b, not top_constant)]
        for w, b, _, _, _, beta, gamma, _ in self.G.layers:
            out += [(w, True), (b, beta is None)]
            out += [(p, True) for p in (gamma, beta) if p is not None]
        return out

    def set_parameters(self, layout, vectors):
        torch.set_default_dtype(self.dtype)
        tensors = self.tensors()
        entries = layout["descriptor"]["tensors"] + layout["generator"]["tensors"]
        if len(entries) != len(tensors):
            raise BadInput(f"trace layout.json: {len(entries)} parameter tensors, the PyTorch nets have {len(tensors)}")
        self.names, self.effective, self.slices = [], [], []
        for entry, (p, effective) in zip(entries, tensors):
            if entry["count"] != p.numel():
                raise BadInput(f"trace layout.json: {entry['name']} has {entry['count']} values, the PyTorch tensor "
                               f"{tuple(p.shape)} has {p.numel()}")
            net = "descriptor" if entry["name"].startswith("des.") else "generator"
            self.names.append(entry["name"])
            self.effective.append(effective)
            self.slices.append((net, entry["offset"], entry["count"], p))
        self.load(vectors)

    def load(self, vectors):
        with torch.no_grad():
            for net, offset, count, p in self.slices:
                p.copy_(torch.from_numpy(vectors[net][offset:offset + count].reshape(p.shape)))

    def top_bias_sum(self, vectors=None):
        """The constant the descriptor's top bias adds to f (0 when the top layer has an activation);
        from a trace's parameter vectors, or this replay's own."""
        w, b, _, _, act = self.D.layers[-1]
        if act != "none":
            return 0.0
        if vectors is None:
            return float(b.detach().double().sum())
        net, offset, count, _ = self.slices[len(self.D.params) - 1]
        return float(vectors[net][offset:offset + count].astype(numpy.float64).sum())

    def compare(self, vectors, gradients=False):
        """Per net: the worst relative difference over the tensors that matter and which tensor, the
        rms relative difference over them, and the no-effect tensors' largest absolute difference.
        Of the parameters, or of the gradients of the last updates."""
        result = {}
        sums = {}
        for name, effective, (net, offset, count, p) in zip(self.names, self.effective, self.slices):
            ours = vectors[net][offset:offset + count].astype(numpy.float64)
            theirs = (p.grad if gradients else p).detach().double().numpy().reshape(-1)
            diff = float(numpy.max(numpy.abs(ours - theirs)))
            scale = float(numpy.max(numpy.abs(theirs)))
            r = result.setdefault(net, {"max_rel": 0.0, "worst": None, "no_effect_max_abs": 0.0, "no_effect": []})
            if effective:
                rel = diff / scale if scale > 0 else (0.0 if diff == 0 else math.inf)
                if rel >= r["max_rel"]:
                    r["max_rel"], r["worst"] = rel, name
                squares = sums.setdefault(net, [0.0, 0.0])
                squares[0] += float(numpy.sum((ours - theirs) ** 2))
                squares[1] += float(numpy.sum(theirs ** 2))
            else:
                r["no_effect"].append(name)
                r["no_effect_max_abs"] = max(r["no_effect_max_abs"], diff)
        for net, (d2, w2) in sums.items():
            result[net]["rms_rel"] = math.sqrt(d2 / w2) if w2 > 0 else 0.0
        return result

    def compare_with(self, other):
        """The same measure between two replays (float32 against float64)."""
        vectors = {"descriptor": None, "generator": None}
        for net in vectors:
            parts = [(offset, p.detach().double().numpy().reshape(-1)) for n, offset, _, p in other.slices if n == net]
            size = max(o + len(a) for o, a in parts)
            v = numpy.zeros(size)
            for o, a in parts:
                v[o:o + len(a)] = a
            vectors[net] = v
        return self.compare(vectors)


def rms_rel(ours, theirs):
    """‖ours − theirs‖ / ‖theirs‖ of two tensors (torch or numpy)."""
    a = numpy.asarray(ours, dtype=numpy.float64)
    b = theirs.detach().double().numpy() if torch.is_tensor(theirs) else numpy.asarray(theirs, dtype=numpy.float64)
    return float(numpy.linalg.norm(a - b) / max(numpy.linalg.norm(b), 1e-300))


def metrics_lines(run):
    path = os.path.join(run, "metrics.jsonl")
    if not os.path.exists(path):
        raise BadInput(f"{path}: missing (the run folder of the traced training)")
    lines = {}
    with open(path) as f:
        for line in f:
            doc = json.loads(line)
            if "event" not in doc:
                lines[doc["iteration"]] = doc
    return lines


def metric_differences(ours, theirs, our_offset, their_offset):
    """Metrics of two sides; the scores less each side's top-bias constant."""
    out = {}
    for k in METRICS:
        a, b = ours.get(k), theirs.get(k)
        if a is None or b is None:
            continue
        if k.startswith("f_"):
            a, b = a - our_offset, b - their_offset
        out[k] = {"ours": a, "torch": b, "abs": abs(a - b), "rel": abs(a - b) / max(abs(b), 1e-30)}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace", help="the folder COOPNETS_TRACE named")
    ap.add_argument("run", help="the traced run's folder (its metrics.jsonl, one line per iteration)")
    ap.add_argument("--float64", action="store_true", help="also replay in float64, the exact-arithmetic yardstick")
    ap.add_argument("--perturb", type=float, help="also replay in float32 from weights perturbed by this much, relative")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--json", help="write the per-iteration comparison here")
    ap.add_argument("--iterations", type=int, help="replay only the first K iterations of the trace")
    ap.add_argument("--max-param-rms", type=float, help="fail when a net's rms relative parameter difference exceeds this")
    ap.add_argument("--max-step-rms", type=float,
                    help="fail when the revised chains Ỹ or the inferred h differ by more than this (rms, relative)")
    ap.add_argument("--max-metric-rel", type=float,
                    help="fail when L_D, L_G or |df/dY| differs relatively by more than this")
    ap.add_argument("--limits-against", choices=("float32", "float64"), default="float32",
                    help="which replay the --max-* limits compare coopnets_cl with (float64 implies --float64)")
    args = ap.parse_args()
    args.float64 = args.float64 or args.limits_against == "float64"
    torch.set_num_threads(args.threads)
    try:
        with open(os.path.join(args.trace, "layout.json")) as f:
            layout = json.load(f)
        if layout.get("format") != 1:
            raise BadInput(f"{args.trace}/layout.json: format {layout.get('format')}, this tool reads format 1")
        config = layout["config"]
        if config["mode"] != "coop":
            raise BadInput(f"{args.trace}/layout.json: mode {config['mode']}; the replay is of mode coop")
        lines = metrics_lines(args.run)

        def vectors(k):
            folder = os.path.join(args.trace, f"{k:06d}")
            return {net: load_npy(os.path.join(folder, f"{net}.npy"), f"the {net}'s parameters") for net in
                    ("descriptor", "generator")}

        replays = [Replay(config, torch.float32)]
        if args.float64:
            replays.append(Replay(config, torch.float64))
        previous = vectors(0)
        for r in replays:
            r.set_parameters(layout, previous)
        if args.perturb:
            rng = numpy.random.default_rng(1)
            replays.append(Replay(config, torch.float32))
            replays[-1].set_parameters(layout, {net: (v * (1 + args.perturb * rng.standard_normal(v.shape))).astype(
                numpy.float32) for net, v in previous.items()})
        dl, gl = config["descriptor"]["langevin"], config["generator"]["langevin"]
        rows, failures, k = [], [], 1
        print(f"torch {torch.__version__}, {args.threads} thread(s); trace {args.trace}; M={config['training']['chains']} "
              f"n={config['training']['batch_size']} l_D={dl['steps']} l_G={gl['steps']}")
        print(" iter | descriptor max rel (worst tensor), rms rel | generator max rel (worst tensor), rms rel | "
              "L_D rel   L_G rel   |df/dY| rel | Ỹ rms     h rms     ∇D rms    ∇G rms"
              + (" | torch f32 vs f64: D max, rms; G max, rms" if args.float64 else ""))
        while os.path.isdir(os.path.join(args.trace, f"{k:06d}")) and (args.iterations is None or k <= args.iterations):
            folder = os.path.join(args.trace, f"{k:06d}")
            observed = load_npy(os.path.join(folder, "observed.npy"), "the observed batch")
            draws = {"latent": load_npy(os.path.join(folder, "latent.npy"), "the latent draw")[None]}
            for stream, cfg in (("descriptor", dl), ("generator", gl)):
                if cfg["noise"] and cfg["steps"] > 0:
                    draws[stream] = load_npy(os.path.join(folder, f"{stream}_noise.npy"), f"the {stream}'s Langevin noise")
            if k not in lines:
                raise BadInput(f"{args.run}/metrics.jsonl: no line for iteration {k} (train with training.log_every=1)")
            seconds, offsets = [], [r.top_bias_sum() for r in replays]
            for r in replays:
                t0 = time.perf_counter()
                r.draws = {s: torch.from_numpy(d).to(r.dtype) for s, d in draws.items()}
                torch.set_default_dtype(r.dtype)
                r.iteration(torch.from_numpy(observed).to(r.dtype), [0.0] * 5)
                seconds.append(time.perf_counter() - t0)
            ours, our_offset = vectors(k), replays[0].top_bias_sum(previous)
            metrics = [r.read_metrics() for r in replays]
            grads = {net: load_npy(os.path.join(folder, f"{net}_gradient.npy"), f"the {net}'s gradient")
                     for net in ("descriptor", "generator")}
            steps = {"revised": rms_rel(load_npy(os.path.join(folder, "revised.npy"), "the revised chains"),
                                        replays[0].revised),
                     "inferred_latent": rms_rel(load_npy(os.path.join(folder, "inferred_latent.npy"), "h after step 4"),
                                                replays[0].h)}
            gradient = replays[0].compare(grads, gradients=True)
            for net in ("descriptor", "generator"):
                steps[f"{net}_gradient"] = gradient[net]["rms_rel"]
            row = {"iteration": k, "seconds": seconds, "params": replays[0].compare(ours), "steps": steps,
                   "metrics": metric_differences(lines[k], metrics[0], our_offset, offsets[0])}
            if args.float64:
                row["params_vs_float64"] = replays[1].compare(ours)
                row["metrics_vs_float64"] = metric_differences(lines[k], metrics[1], our_offset, offsets[1])
                row["torch32_vs_float64"] = replays[1].compare_with(replays[0])
                row["torch32_metrics_vs_float64"] = metric_differences(metrics[0], metrics[1], offsets[0], offsets[1])
                gradient64 = replays[1].compare(grads, gradients=True)
                row["steps_vs_float64"] = {"revised": rms_rel(load_npy(os.path.join(folder, "revised.npy"), "Ỹ"),
                                                              replays[1].revised),
                                           "inferred_latent": rms_rel(load_npy(os.path.join(folder, "inferred_latent.npy"),
                                                                               "h"), replays[1].h),
                                           **{f"{n}_gradient": gradient64[n]["rms_rel"] for n in gradient64}}
                g32 = {net: numpy.zeros(len(ours[net])) for net in ours}
                for net, offset, count, p in replays[0].slices:
                    g32[net][offset:offset + count] = p.grad.detach().double().numpy().reshape(-1)
                gradient32 = replays[1].compare(g32, gradients=True)
                row["torch32_steps_vs_float64"] = {"revised": rms_rel(replays[0].revised, replays[1].revised),
                                                   "inferred_latent": rms_rel(replays[0].h, replays[1].h),
                                                   **{f"{n}_gradient": gradient32[n]["rms_rel"] for n in gradient32}}
            if args.perturb:
                other = replays[-1]
                row["torch32_vs_perturbed"] = other.compare_with(replays[0])
                row["torch32_steps_vs_perturbed"] = {"revised": rms_rel(replays[0].revised, other.revised)}
            rows.append(row)
            previous = ours
            p, m = row["params"], row["metrics"]
            rel = {key: m[key]["rel"] if key in m else float("nan") for key in ("loss_d", "loss_g", "grad_f_norm")}
            line = f"{k:5d} | " + " | ".join(
                f"{p[net]['max_rel']:9.2e} ({p[net]['worst']:<17}) {p[net]['rms_rel']:9.2e}"
                for net in ("descriptor", "generator"))
            line += f" | {rel['loss_d']:9.2e} {rel['loss_g']:9.2e} {rel['grad_f_norm']:9.2e} | " + " ".join(
                f"{steps[key]:9.2e}" for key in ("revised", "inferred_latent", "descriptor_gradient", "generator_gradient"))
            if args.float64:
                y = row["torch32_vs_float64"]
                line += " | " + "; ".join(f"{y[net]['max_rel']:9.2e} {y[net]['rms_rel']:9.2e}"
                                          for net in ("descriptor", "generator"))
            print(line, flush=True)
            if args.limits_against == "float64":
                p, m, steps = row["params_vs_float64"], row["metrics_vs_float64"], row["steps_vs_float64"]
                rel = {key: m[key]["rel"] if key in m else float("nan") for key in ("loss_d", "loss_g", "grad_f_norm")}
                print("      | against the float64 replay (the limits): parameters D " + f"{p['descriptor']['rms_rel']:9.2e}"
                      f" G {p['generator']['rms_rel']:9.2e} | L_D {rel['loss_d']:9.2e} L_G {rel['loss_g']:9.2e}"
                      f" |df/dY| {rel['grad_f_norm']:9.2e} | Ỹ {steps['revised']:9.2e} h {steps['inferred_latent']:9.2e}",
                      flush=True)
            for net in ("descriptor", "generator"):
                if args.max_param_rms is not None and not p[net]["rms_rel"] <= args.max_param_rms:
                    failures.append(f"iteration {k}: {net} parameters differ by {p[net]['rms_rel']:.3g} (rms, relative), "
                                    f"above {args.max_param_rms:g}")
            for key in ("revised", "inferred_latent"):
                if args.max_step_rms is not None and not steps[key] <= args.max_step_rms:
                    failures.append(f"iteration {k}: {key} differs by {steps[key]:.3g} (rms, relative), "
                                    f"above {args.max_step_rms:g}")
            for key, v in rel.items():
                if args.max_metric_rel is not None and not v <= args.max_metric_rel:
                    failures.append(f"iteration {k}: {key} differs by {v:.3g} relative, above {args.max_metric_rel:g}")
            k += 1
        if not rows:
            raise BadInput(f"{args.trace}: no iteration folders (000001, ...)")
    except BadInput as why:
        print(f"lockstep_torch: {why}", file=sys.stderr)
        return 2
    no_effect = rows[-1]["params"]
    print("no-effect tensors (gradient 0 in exact arithmetic), largest absolute difference at the end: "
          + "; ".join(f"{net} {no_effect[net]['no_effect_max_abs']:.2e} ({', '.join(no_effect[net]['no_effect'])})"
                      for net in ("descriptor", "generator")))
    if args.json:
        tmp = f"{args.json}.tmp.{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump({"config": config, "torch": torch.__version__, "threads": args.threads, "iterations": rows}, f,
                      indent=1)
        os.replace(tmp, args.json)
    for why in failures:
        print(f"FAIL: {why}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
