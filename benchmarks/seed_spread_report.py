#!/usr/bin/python3
"""The seed-spread table (benchmarks/seed_spread.sh): per run the FD and IS of generated and revised
samples from RUNS/eval/{ours,torch}-S.json (`coopnets_cl evaluate`), per implementation the mean,
the range (min-max) and the standard deviation over the seeds (n - 1), next to the real-data floor.
All runs must have been scored alike (count, classifier, test images, revision steps, floor): a
difference is an error, not a footnote.

usage: seed_spread_report.py --runs DIR --seeds "1 2 3" --iters N --md OUT.md --json OUT.json
"""
import argparse
import json
import os
import statistics
import sys

IMPLEMENTATIONS = {"ours": "coopnets_cl", "torch": "PyTorch peer"}
SCORES = ["fd_generated", "fd_revised", "is_generated", "is_revised"]
ALIKE = ["count", "classifier", "classifier_test_accuracy", "test_images", "real_data_floor"]


class BadInput(Exception):
    pass


def load(runs, impl, seed):
    path = os.path.join(runs, "eval", f"{impl}-{seed}.json")
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as err:
        raise BadInput(f"{path}: {err}")
    missing = [k for k in SCORES + ALIKE if k not in doc]
    if missing:
        raise BadInput(f"{path}: no {', '.join(missing)}")
    if impl == "ours":
        doc["iterations"] = doc["iteration"]
    else:  # the peer's samples say which iteration and revision steps made them
        with open(os.path.join(runs, f"{impl}-{seed}", "samples.json")) as f:
            made = json.load(f)
        doc["iterations"], doc["revision_steps"] = made["iteration"], made["revision_steps"]
    doc["path"] = path
    return doc


def spread(values):
    return {"mean": statistics.fmean(values), "min": min(values), "max": max(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", required=True)
    ap.add_argument("--seeds", required=True, help='e.g. "1 2 3"')
    ap.add_argument("--iters", type=int, required=True, help="the iterations every run must have")
    ap.add_argument("--md", required=True)
    ap.add_argument("--json", required=True)
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split()]
    runs = {impl: [load(args.runs, impl, s) for s in seeds] for impl in IMPLEMENTATIONS}
    first = runs["ours"][0]
    for doc in (d for docs in runs.values() for d in docs):
        for key in ALIKE + ["revision_steps"]:
            if doc.get(key) != first.get(key):
                raise BadInput(f"{doc['path']}: {key} is {doc.get(key)!r}, {first['path']} has {first.get(key)!r}: "
                               "the runs were not scored alike")
        if doc["iterations"] != args.iters:
            raise BadInput(f"{doc['path']}: scored at iteration {doc['iterations']}, not {args.iters}")
    floor = first["real_data_floor"]
    summary = {impl: {k: spread([d[k] for d in docs]) for k in SCORES} for impl, docs in runs.items()}
    result = {"config": "configs/fashion_mnist.json", "iterations": args.iters, "seeds": seeds,
              "count": first["count"], "revision_steps": first["revision_steps"], "classifier": first["classifier"],
              "classifier_test_accuracy": first["classifier_test_accuracy"], "real_data_floor": floor,
              "runs": {impl: [{"seed": s, **{k: d[k] for k in SCORES}} for s, d in zip(seeds, docs)]
                       for impl, docs in runs.items()},
              "summary": summary}

    lines = [f"# Seed spread: configs/fashion_mnist.json, {args.iters} iterations, seeds {', '.join(map(str, seeds))}",
             "",
             f"Written by `benchmarks/seed_spread.sh --iters {args.iters}`. Each run scored by `coopnets_cl evaluate` "
             f"on {first['count']} samples (sample seed 1) against the first {first['count']} Fashion-MNIST test "
             f"images; revised = the same samples after {first['revision_steps']} descriptor Langevin steps. FD and IS "
             f"are computed in this project's own classifier's features ({first['classifier']}, test accuracy "
             f"{100 * first['classifier_test_accuracy']:.2f}%), not Inception: compare them only with each other. The "
             "PyTorch peer's samples are scored from files (`evaluate --generated/--revised`), by the same code.",
             "",
             f"Real-data floor: FD train vs test {floor['fd_train_vs_test']:.4g}; IS of the test images "
             f"{floor['is_test']:.4g}, of the training images {floor['is_train']:.4g}.",
             "",
             "| run | seed | FD generated | FD revised | IS generated | IS revised |",
             "|---|---:|---:|---:|---:|---:|"]
    for impl, docs in runs.items():
        for s, d in zip(seeds, docs):
            lines.append(f"| {IMPLEMENTATIONS[impl]} | {s} | " + " | ".join(f"{d[k]:.4g}" for k in SCORES) + " |")
    lines += ["", "| implementation | statistic | FD generated | FD revised | IS generated | IS revised |",
              "|---|---|---:|---:|---:|---:|"]
    for impl in runs:
        sm = summary[impl]
        lines.append(f"| {IMPLEMENTATIONS[impl]} | mean | " + " | ".join(f"{sm[k]['mean']:.4g}" for k in SCORES) + " |")
        lines.append("| | min-max | " + " | ".join(f"{sm[k]['min']:.4g}-{sm[k]['max']:.4g}" for k in SCORES) + " |")
        lines.append("| | std | " + " | ".join(f"{sm[k]['std']:.3g}" for k in SCORES) + " |")
    lines.append(f"| real data | floor | {floor['fd_train_vs_test']:.4g} | {floor['fd_train_vs_test']:.4g} | "
                 f"{floor['is_test']:.4g} | {floor['is_test']:.4g} |")
    for path, text in ((args.md, "\n".join(lines) + "\n"), (args.json, json.dumps(result, indent=2) + "\n")):
        tmp = f"{path}.tmp.{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    print("\n".join(lines))
    print(f"wrote {args.md} and {args.json}")


if __name__ == "__main__":
    try:
        main()
    except BadInput as err:
        print(f"seed_spread_report: {err}", file=sys.stderr)
        sys.exit(2)
