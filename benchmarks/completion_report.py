#!/usr/bin/python3
"""The completion table (benchmarks/completion_runs.sh): per iteration and mask, the hidden-pixel
mean |error| and PSNR of CoopNets and of the generator alone on the same test images and masks
(SCORES/{coop,generator}-IT-MASK.json, `coopnets_cl complete`), the mean-fill baseline, and which
completes better. Both must have completed alike (images, mask, steps, seed, count).

usage: completion_report.py --scores DIR --at "300 600" --masks "square:12" --md OUT.md
"""
import argparse
import json
import os
import sys

ALIKE = ["images", "mask", "steps", "seed", "count"]


class BadInput(Exception):
    pass


def load(scores, kind, iteration, mask):
    path = os.path.join(scores, f"{kind}-{iteration}-{mask.replace(':', '')}.json")
    try:
        with open(path) as f:
            doc = json.load(f)
        for key in ["iteration", "hidden_mean_abs_error", "hidden_psnr_db", "baseline_hidden_psnr_db"]:
            doc[key]
    except (OSError, ValueError) as err:
        raise BadInput(f"{path}: {err}")
    except KeyError as err:
        raise BadInput(f"{path}: no {err} (not a `complete` result?)")
    if doc["iteration"] != iteration:
        raise BadInput(f"{path}: iteration {doc['iteration']}, expected {iteration}")
    return doc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scores", required=True)
    ap.add_argument("--at", required=True)
    ap.add_argument("--masks", required=True)
    ap.add_argument("--md", required=True)
    args = ap.parse_args()
    rows = []
    for mask in args.masks.split():
        for it in (int(x) for x in args.at.split()):
            coop, gen = (load(args.scores, k, it, mask) for k in ("coop", "generator"))
            for key in ALIKE:
                if key in coop and coop.get(key) != gen.get(key):
                    raise BadInput(f"iteration {it}, {mask}: {key} differs ({coop.get(key)} / {gen.get(key)})")
            better = "CoopNets" if coop["hidden_psnr_db"] > gen["hidden_psnr_db"] else "generator alone"
            rows.append(f"| `{mask}` | {it} | {coop['hidden_mean_abs_error']:.3f} / {coop['hidden_psnr_db']:.1f} dB "
                        f"| {gen['hidden_mean_abs_error']:.3f} / {gen['hidden_psnr_db']:.1f} dB "
                        f"| {coop['baseline_hidden_mean_abs_error']:.3f} / {coop['baseline_hidden_psnr_db']:.1f} dB "
                        f"| {better} |")
    first = coop
    lines = [
        "# Completion at equal iterations: CoopNets against the generator alone",
        "",
        f"`configs/fashion_mnist.json`, seed 1, CoopNets and Algorithm G (`--set mode=generator --set "
        f"generator.langevin.steps=30`); `coopnets_cl complete CKPT --mask M --count {first.get('count')} "
        f"--seed {first.get('seed')}` ({first.get('steps')} inference steps) on the same test images and masks. "
        "Hidden-pixel mean |error| / PSNR, images in [0, 1]. Written by `benchmarks/completion_runs.sh`.",
        "",
        "| mask | iteration | CoopNets | generator alone | mean-fill baseline | completes better |",
        "|---|---|---|---|---|---|",
    ] + rows
    with open(args.md, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {args.md}")


if __name__ == "__main__":
    try:
        main()
    except BadInput as err:
        sys.exit(f"completion_report.py: {err}")
