"""Reads a coopnets_cl run folder's TensorBoard event files back with TensorBoard's own readers and
checks them against what the run wrote beside them: metrics.jsonl, samples/*.png, config.json.

Usage: python tb_readback.py RUN_DIR [--config-steps N,M,...]

- Every file is read record by record with TensorBoard's raw loader (it checks each record's
  masked CRC32C and parses the Event), in name order as TensorBoard does: no (tag, step) pair may
  appear twice, across files either.
- EventAccumulator (what the TensorBoard server uses) on the folder: for every number of every
  metrics.jsonl line the scalar of its tag at that iteration, equal to the float32 of the number,
  and no step that metrics.jsonl lacks; every sample grid as an image of the same size and bytes
  at its iteration; the config text (tag "config") at the steps given, the last one equal to
  config.json.
Prints what it read (a table) and "ok:"/"FAIL:" lines; exits 1 when a check failed.
"""
import collections
import glob
import json
import os
import struct
import sys

from tensorboard.backend.event_processing import event_accumulator, event_file_loader
from tensorboard.util import tensor_util

# metrics.jsonl field -> TensorBoard tag (src/coop/train.c, tb_log)
TAGS = {
    "loss_d": "loss/L_D", "loss_g": "loss/L_G", "f_observed": "score/f_observed",
    "f_generated": "score/f_generated", "f_revised": "score/f_revised", "grad_f_norm": "langevin/grad_f_norm",
    "seconds_per_iteration": "speed/seconds_per_iteration", "images_per_second": "speed/images_per_second",
    "elapsed_seconds": "time/elapsed_seconds", "epoch": "progress/epoch",
    "descriptor_lr": "optimizer/descriptor_lr", "generator_lr": "optimizer/generator_lr",
}
IMAGES = {"generated": "samples/generated", "revised": "samples/revised", "texture": "samples/texture"}

failures = 0
checks = 0


def check(ok, what):
    global failures, checks
    checks += 1
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures += 1


def png_size(data):
    return struct.unpack(">II", data[16:24])


def float32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def main():
    run = sys.argv[1]
    config_steps = None
    if len(sys.argv) > 3 and sys.argv[2] == "--config-steps":
        config_steps = [int(s) for s in sys.argv[3].split(",")]
    files = sorted(glob.glob(os.path.join(run, "*tfevents*")))
    check(len(files) >= 1, f"{len(files)} event file(s) in {run}")

    # Raw records, file by file in name order.
    seen = collections.Counter()
    records = 0
    for path in files:
        for event in event_file_loader.LegacyEventFileLoader(path).Load():
            records += 1
            if event.HasField("file_version"):
                check(event.file_version == "brain.Event:2", f"{os.path.basename(path)} starts with brain.Event:2")
                continue
            for value in event.summary.value:
                seen[(value.tag, event.step)] += 1
    dups = sorted(k for k, n in seen.items() if n > 1)
    check(not dups, f"{records} records, every (tag, step) once" + (f"; twice or more: {dups[:8]}" if dups else ""))

    acc = event_accumulator.EventAccumulator(run, size_guidance={
        event_accumulator.SCALARS: 0, event_accumulator.IMAGES: 0, event_accumulator.TENSORS: 0})
    acc.Reload()
    tags = acc.Tags()

    # Scalars against metrics.jsonl.
    want = collections.defaultdict(dict)
    with open(os.path.join(run, "metrics.jsonl")) as f:
        for line in f:
            row = json.loads(line)
            if "event" in row:
                continue
            for field, tag in TAGS.items():
                if row.get(field) is not None:
                    want[tag][row["iteration"]] = row[field]
    table = []
    for tag in sorted(set(want) | set(tags["scalars"])):
        got = {s.step: s.value for s in acc.Scalars(tag)} if tag in tags["scalars"] else {}
        w = want.get(tag, {})
        same_steps = sorted(got) == sorted(w)
        worst = max((abs(got[s] - float32(v)) / max(abs(float32(v)), 1e-30) for s, v in w.items() if s in got),
                    default=0.0)
        check(same_steps and worst <= 1e-6,
              f"scalar {tag}: steps {min(got, default='-')}..{max(got, default='-')} ({len(got)}) as in "
              f"metrics.jsonl, values equal as float32 (worst relative difference {worst:.1e})")
        if got:
            last = max(got)
            table.append((tag, "scalar", len(got), f"{min(got)}..{last}", f"{got[last]:.6g} at {last}"))

    # Images against samples/*.png.
    for name, tag in IMAGES.items():
        pngs = {}
        for path in glob.glob(os.path.join(run, "samples", f"{name}-*.png")):
            pngs[int(os.path.basename(path)[len(name) + 1:-4])] = open(path, "rb").read()
        if not pngs and tag not in tags["images"]:
            continue
        got = {im.step: im for im in acc.Images(tag)} if tag in tags["images"] else {}
        check(sorted(got) == sorted(pngs), f"image {tag}: steps {sorted(got)} = the grids in samples/ {sorted(pngs)}")
        same = all(s in got and got[s].encoded_image_string == data and (got[s].width, got[s].height) == png_size(data)
                   for s, data in pngs.items())
        check(same, f"image {tag}: each the bytes and size of its PNG file")
        if got:
            last = got[max(got)]
            table.append((tag, "image", len(got), f"{min(got)}..{max(got)}", f"{last.width}x{last.height} PNG"))

    # The config text.
    check("config" in tags["tensors"], "text summary 'config' present")
    if "config" in tags["tensors"]:
        events = acc.Tensors("config")
        steps = [t.step for t in events]
        text = tensor_util.make_ndarray(events[-1].tensor_proto).item().decode()
        body = text.removeprefix("```\n").removesuffix("\n```")
        meta = acc.SummaryMetadata("config")
        check(meta.plugin_data.plugin_name == "text", f"config: plugin {meta.plugin_data.plugin_name!r}")
        with open(os.path.join(run, "config.json")) as f:
            check(json.loads(body) == json.load(f), "config: the last text is config.json")
        if config_steps is not None:
            check(steps == config_steps, f"config: steps {steps} (want {config_steps})")
        table.append(("config", "text", len(steps), ",".join(map(str, steps)), f"{len(body)} chars of JSON"))

    print(f"\nread back from {run} ({len(files)} file(s), {records} records):")
    print("| tag | kind | count | steps | last |\n|---|---|---|---|---|")
    for row in table:
        print("| " + " | ".join(str(c) for c in row) + " |")
    print(f"{checks} checks, {failures} failed")
    sys.exit(1 if failures or not checks else 0)


main()
