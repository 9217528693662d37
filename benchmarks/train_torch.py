#!/usr/bin/python3
"""Trains the PyTorch peer (benchmarks/peer_torch.py: the same nets, defaults and CoopNets iteration
as coopnets_cl) on a config's IDX images, for the seed spread of issue 14: N iterations from a seed,
resumable, then N samples written for `coopnets_cl evaluate --generated/--revised`.

The config is a resolved one: the config.json of a coopnets_cl run folder (train writes it, with the
presets' layers spelled out), or the JSON of `coopnets_cl bench`. Mode coop with generator-initialised
chains only. The images are the config's data.path (an IDX file, at its size: no resizing), scaled
as coopnets_cl scales them ("minmax": each image from its own min..max to -1..1; "fixed": v/127.5-1).
Every epoch visits them in a fresh order, a permutation keyed by (seed, epoch) (numpy's, not
coopnets_cl's: the orders differ, as the seeds' draws do); a batch that crosses an epoch's end takes
the rest from the next epoch's order (60000 images in batches of 100 never do). All of torch's draws (weights, latents, Langevin noise)
come from torch's generator seeded with --seed.

RUN/checkpoint.pt holds the parameters, both Adam states, torch's generator state and the
iteration; it is written every --checkpoint-every iterations, at the end and on SIGINT/SIGTERM
(exit 130), to a temporary file renamed over the old one. --resume continues from it (or starts
afresh when there is none); without --resume a run folder that holds a checkpoint is refused.

Once the run has its iterations, RUN/samples-generated.idx and RUN/samples-revised.idx are written,
with RUN/samples.json saying what they are (iteration, count, steps, seed; nothing is written when
that is already what is asked): --samples generator samples drawn from --sample-seed in batches of the config's
chains (batch norm sees a full batch, as in coopnets_cl sample), and the same samples revised by
--revision-steps descriptor Langevin steps, as float32 IDX files (the model's [-1, 1] values).
--export writes them again from the checkpoint without training.

usage: train_torch.py CONFIG --out RUN --iters N [--seed S] [--resume] [--checkpoint-every K]
                      [--log-every L] [--threads T] [--samples E] [--revision-steps R]
                      [--sample-seed Z] [--export]
exit 0 done, 1 failure, 2 bad input, 130 stopped by a signal (after a checkpoint).
"""
import argparse
import gzip
import json
import os
import signal
import struct
import sys
import time

import numpy
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_torch  # noqa: E402  (the path above)

CHECKPOINT = "checkpoint.pt"
SAMPLE_FILES = {"generated": "samples-generated.idx", "revised": "samples-revised.idx"}
SAMPLES_JSON = "samples.json"
IDX_UBYTE, IDX_FLOAT = 0x08, 0x0D


class BadInput(Exception):
    pass


def load_config(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as err:
        raise BadInput(f"{path}: {err}")
    if isinstance(doc, list):
        doc = next((d for d in doc if "resolved_config" in d), {})
    config = doc.get("resolved_config", doc)
    for key in ("descriptor", "generator", "training", "data"):
        if key not in config:
            raise BadInput(f"{path}: no \"{key}\" section; pass a resolved config (a run folder's config.json)")
    if "layers" not in config["descriptor"] or "updates_per_iteration" not in config["descriptor"]:
        raise BadInput(f"{path}: not a resolved config (descriptor.layers or updates_per_iteration missing); pass a "
                       "coopnets_cl run folder's config.json")
    if config.get("mode", "coop") != "coop" or config["descriptor"].get("chain_init", "generator") != "generator":
        raise BadInput(f"{path}: mode {config.get('mode')!r}, chain_init "
                       f"{config['descriptor'].get('chain_init')!r}: the peer trains mode coop with generator chains")
    if config["data"].get("kind") != "idx":
        raise BadInput(f"{path}: data.kind {config['data'].get('kind')!r}: this trainer reads IDX images only")
    return config


def read_idx(path):
    """(element type, dims, the elements as a numpy array) of an IDX file, gzip or raw."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise BadInput(f"IDX file {path}: {err}")
    if len(raw) < 4 or raw[0] or raw[1] or raw[2] not in (IDX_UBYTE, IDX_FLOAT) or not 1 <= raw[3] <= 4:
        raise BadInput(f"{path} is not an IDX file of unsigned bytes or float32")
    ndims = raw[3]
    dims = struct.unpack(f">{ndims}I", raw[4:4 + 4 * ndims])
    dtype = numpy.dtype(">f4") if raw[2] == IDX_FLOAT else numpy.uint8
    data = numpy.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndims)
    if data.size != int(numpy.prod(dims)):
        raise BadInput(f"IDX file {path}: {data.size} elements, the header says {' x '.join(map(str, dims))}")
    return raw[2], dims, data.reshape(dims)


def load_images(data_cfg):
    """The data set's images as float32 [count][channels][size][size], scaled as coopnets_cl scales them."""
    path = os.path.expanduser(data_cfg["path"])
    kind, dims, pixels = read_idx(path)
    size, channels = data_cfg["image_size"], data_cfg["channels"]
    if kind != IDX_UBYTE or len(dims) != 3 or dims[1] != size or dims[2] != size or channels != 1:
        raise BadInput(f"IDX file {path}: {' x '.join(map(str, dims))} (type 0x{kind:02x}); this trainer takes "
                       f"unsigned-byte images of {size}x{size} with 1 channel as they are (no resizing)")
    if data_cfg.get("limit", 0) > 0:
        pixels = pixels[: data_cfg["limit"]]
    v = pixels.reshape(len(pixels), -1).astype(numpy.float64)
    if data_cfg["scaling"] == "fixed":
        scaled = v / 127.5 - 1
    else:  # minmax: each image from its own range; a constant image becomes 0
        lo, hi = v.min(axis=1, keepdims=True), v.max(axis=1, keepdims=True)
        span = numpy.where(hi > lo, hi - lo, 1)
        scaled = numpy.where(hi > lo, 2 * (v - lo) / span - 1, 0)
    return torch.from_numpy(scaled.astype(numpy.float32).reshape(len(pixels), 1, size, size))


def batch_indices(count, n, iteration, seed):
    """Images iteration*n .. iteration*n + n - 1 of the endless run of per-epoch permutations."""
    first = iteration * n
    epochs = range(first // count, (first + n - 1) // count + 1)
    order = numpy.concatenate([numpy.random.default_rng([seed, e]).permutation(count) for e in epochs])
    start = first - epochs[0] * count
    return torch.from_numpy(order[start:start + n])


def write_idx_floats(path, images):
    """images [n][c][h][w] as a float32 IDX file (channel last when c > 1), atomically."""
    a = images.numpy()
    if a.shape[1] == 1:
        a = a[:, 0]
    else:
        a = a.transpose(0, 2, 3, 1)
    header = bytes([0, 0, IDX_FLOAT, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    atomic_write(path, lambda f: (f.write(header), f.write(a.astype(">f4").tobytes())))


def atomic_write(path, write):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_checkpoint(run, net, iteration, seed, config):
    state = {"iteration": iteration, "seed": seed, "config": config, "rng": torch.get_rng_state(),
             "descriptor": [p.detach().clone() for p in net.D.params],
             "generator": [p.detach().clone() for p in net.G.params],
             "adam_descriptor": net.opt_d.state_dict(), "adam_generator": net.opt_g.state_dict()}
    atomic_write(os.path.join(run, CHECKPOINT), lambda f: torch.save(state, f))


def load_checkpoint(run, net, seed, config):
    path = os.path.join(run, CHECKPOINT)
    try:
        state = torch.load(path)
    except Exception as err:  # torch raises many kinds for a damaged file
        raise BadInput(f"checkpoint {path}: {err}")
    if state["seed"] != seed:
        raise BadInput(f"checkpoint {path}: seed {state['seed']}, this run asks for {seed}")
    if state["config"]["descriptor"] != config["descriptor"] or state["config"]["generator"] != config["generator"]:
        raise BadInput(f"checkpoint {path}: its nets or their settings differ from the config's")
    with torch.no_grad():
        for params, saved in ((net.D.params, state["descriptor"]), (net.G.params, state["generator"])):
            for p, s in zip(params, saved, strict=True):
                p.copy_(s)
    net.opt_d.load_state_dict(state["adam_descriptor"])
    net.opt_g.load_state_dict(state["adam_generator"])
    torch.set_rng_state(state["rng"])
    return state["iteration"]


def samples_wanted(iteration, count, steps, seed):
    """What RUN/samples.json must say for the sample files to be current."""
    return {"iteration": iteration, "count": count, "revision_steps": steps, "sample_seed": seed,
            "files": SAMPLE_FILES}


def samples_current(run, wanted):
    try:
        with open(os.path.join(run, SAMPLES_JSON)) as f:
            have = json.load(f)
    except (OSError, ValueError):
        return False
    return have == wanted and all(os.path.exists(os.path.join(run, f)) for f in SAMPLE_FILES.values())


def export_samples(run, net, wanted):
    """The generated samples and the same revised by the wanted descriptor steps, in batches of M;
    then RUN/samples.json, which says what they are."""
    count, steps = wanted["count"], wanted["revision_steps"]
    torch.manual_seed(wanted["sample_seed"])
    langevin = net.d_cfg["langevin"]
    net.d_cfg = {**net.d_cfg, "langevin": {**langevin, "steps": steps}}  # the peer's revise, R steps
    generated, revised = [], []
    for at in range(0, count, net.m):
        net.generate()
        net.revise()
        generated.append(net.y.detach()[: count - at])
        revised.append(net.revised[: count - at])
    net.d_cfg = {**net.d_cfg, "langevin": langevin}
    for name, images in (("generated", generated), ("revised", revised)):
        write_idx_floats(os.path.join(run, SAMPLE_FILES[name]), torch.cat(images))
    atomic_write(os.path.join(run, SAMPLES_JSON), lambda f: f.write(json.dumps(wanted, indent=2).encode()))
    print(f"wrote {count} samples of iteration {wanted['iteration']} to {run}/{SAMPLE_FILES['generated']} and, "
          f"revised by {steps} Langevin steps, {SAMPLE_FILES['revised']}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", help="a resolved config: a coopnets_cl run folder's config.json")
    ap.add_argument("--out", required=True, help="the run folder")
    ap.add_argument("--iters", type=int, required=True, help="train until N iterations in total")
    ap.add_argument("--seed", type=int, default=1, help="seeds torch's draws and the data order (default 1)")
    ap.add_argument("--resume", action="store_true", help="continue from RUN/checkpoint.pt when there is one")
    ap.add_argument("--checkpoint-every", type=int, help="default: the config's training.checkpoint_every")
    ap.add_argument("--log-every", type=int, help="default: the config's training.log_every")
    ap.add_argument("--threads", type=int, default=1, help="torch's and OpenBLAS's threads (default 1)")
    ap.add_argument("--samples", type=int, default=1000, help="samples written at the end (default 1000)")
    ap.add_argument("--revision-steps", type=int, default=10, help="Langevin steps revising them (default 10)")
    ap.add_argument("--sample-seed", type=int, default=1, help="seed of the samples' draws (default 1)")
    ap.add_argument("--export", action="store_true", help="write the samples from the checkpoint now, no training")
    args = ap.parse_args()
    for name in ("iters", "samples", "revision_steps", "checkpoint_every", "log_every", "threads"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "iters" else 1):
            raise BadInput(f"--{name.replace('_', '-')} {value}: too small")

    config = load_config(args.config)
    training = config["training"]
    every = args.checkpoint_every or training["checkpoint_every"] or args.iters
    log_every = args.log_every or training["log_every"] or 1
    os.makedirs(args.out, exist_ok=True)
    have_checkpoint = os.path.exists(os.path.join(args.out, CHECKPOINT))
    if have_checkpoint and not (args.resume or args.export):
        raise BadInput(f"{args.out} holds a checkpoint: pass --resume to continue it, or another --out")
    if args.export and not have_checkpoint:
        raise BadInput(f"--export: {args.out} holds no {CHECKPOINT}")
    peer_torch.set_threads(args.threads, peer_torch.blas_libraries())

    torch.manual_seed(args.seed)
    net = peer_torch.CoopNets(config)
    start = load_checkpoint(args.out, net, args.seed, config) if have_checkpoint else 0
    if args.export:
        export_samples(args.out, net, samples_wanted(start, args.samples, args.revision_steps, args.sample_seed))
        return 0
    if start:
        print(f"resumed {args.out} at iteration {start}", flush=True)

    trains = start < args.iters
    images = load_images(config["data"]) if trains else None
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stop.append(signum))
    steps, t0 = [0.0] * 5, time.perf_counter()
    for it in range(start, args.iters):
        x = images[batch_indices(len(images), net.n, it, args.seed)]
        net.set_iteration(it)
        net.iteration(x, steps)
        done = it + 1
        if done % log_every == 0 or done == args.iters:
            m = net.read_metrics()
            per_iteration = (time.perf_counter() - t0) / (done - start)
            eta = per_iteration * (args.iters - done)
            print(f"iteration {done}/{args.iters}: L_D {m['loss_d']:.4g}  L_G {m['loss_g']:.4g}  "
                  f"f(X) {m['f_observed']:.4g}  f(Y~) {m['f_revised']:.4g}  {per_iteration:.2f} s/iteration, "
                  f"ETA {eta / 60:.1f} min", flush=True)
        if done % every == 0 or done == args.iters or stop:
            save_checkpoint(args.out, net, done, args.seed, config)
        if stop:
            print(f"stopped by signal {stop[0]} after iteration {done}; checkpoint {args.out}/{CHECKPOINT}",
                  flush=True)
            return 130
    wanted = samples_wanted(max(start, args.iters), args.samples, args.revision_steps, args.sample_seed)
    if not samples_current(args.out, wanted):
        export_samples(args.out, net, wanted)
    elif not trains:
        print(f"{args.out}: done already (iteration {start}, samples current)", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BadInput as err:
        print(f"train_torch: {err}", file=sys.stderr)
        sys.exit(2)
