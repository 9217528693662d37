#!/usr/bin/python3
"""The texture table (benchmarks/texture_runs.sh): per texture the three numbers of `coopnets_cl
evaluate` on its newest checkpoint (RUNS/eval/texture-NAME.json), each next to the photograph's own
marks, and whether the samples pass them. Every texture must have been scored alike (count, seed,
tile, scales): a difference is an error, not a footnote.

usage: texture_report.py --runs DIR --textures "brick grass gravel" --md OUT.md
"""
import argparse
import json
import os
import sys

ALIKE = ["count", "seed", "tile", "scales"]


class BadInput(Exception):
    pass


def load(runs, texture):
    path = os.path.join(runs, "eval", f"texture-{texture}.json")
    try:
        with open(path) as f:
            doc = json.load(f)
        for key in ALIKE + ["iteration", "not_a_copy", "statistics", "diversity"]:
            doc[key]
        doc["not_a_copy"]["real_elsewhere"]
    except (OSError, ValueError) as err:
        raise BadInput(f"{path}: {err}")
    except KeyError as err:
        raise BadInput(f"{path}: no {err} (not a texture evaluation?)")
    return doc


def mean(doc, group, row):
    return doc[group][row]["mean"]


def stats_cell(doc, kind):
    """The statistics mean over the finite distances, and how many samples were flat (infinite)."""
    row = doc["statistics"][kind]
    flat = row.get("infinite", 0)
    return f"{row['mean']:.2f}" + (f" ({flat} of {row['count']} flat)" if flat else "")


def lattice_cell(doc):
    """The samples' lattice score at one latent cell's period (log10), the photograph's beside it;
    n/a where evaluate could not measure it (a latent map under 3x3)."""
    if "lattice" not in doc:
        return "n/a"
    return (f"{mean(doc, 'lattice', 'generated'):.2f} / {mean(doc, 'lattice', 'revised'):.2f} "
            f"({mean(doc, 'lattice', 'observed'):.2f})")


def verdicts(doc):
    """What the README asks of a synthesiser, per sample kind (generated, revised)."""
    out = []
    for kind in ("generated", "revised"):
        halves = mean(doc, "not_a_copy", kind) >= mean(doc, "not_a_copy", "real_crops")
        elsewhere = mean(doc, "not_a_copy", kind) >= mean(doc, "not_a_copy", "real_elsewhere")
        # Same statistics: nearer the real-crop floor than the noise ceiling.
        floor, noise = mean(doc, "statistics", "real_crops"), mean(doc, "statistics", "noise")
        stats = mean(doc, "statistics", kind) <= (floor + noise) / 2
        copy = ("not a copy" if halves else
                "not a copy by the photograph's tiles elsewhere, closer than its halves" if elsewhere else
                "closer than real crops")
        lattice = ""
        if "lattice" in doc:  # harmonics of one latent cell ten times the photograph's or more
            grid = mean(doc, "lattice", kind) >= mean(doc, "lattice", "observed") + 1
            lattice = ", a lattice of one latent cell" if grid else ", no lattice"
        out.append(f"{kind}: {copy}, "
                   f"{'statistics near the floor' if stats else 'statistics off'}{lattice}")
    return "; ".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", required=True)
    ap.add_argument("--textures", required=True, help='e.g. "brick grass gravel"')
    ap.add_argument("--md", required=True)
    args = ap.parse_args()
    docs = {t: load(args.runs, t) for t in args.textures.split()}
    first = next(iter(docs.values()))
    for t, doc in docs.items():
        for key in ALIKE:
            if doc[key] != first[key]:
                raise BadInput(f"texture-{t}: {key} {doc[key]} differs from {first[key]}")

    f2 = lambda x: f"{x:.2f}"
    f1 = lambda x: f"{x:.1f}"
    lines = [
        "# Texture synthesis: configs/texture.json on scikit-image textures",
        "",
        f"`coopnets_cl evaluate CKPT --count {first['count']} --seed {first['seed']}` on each run's newest "
        f"checkpoint ({first['tile']}x{first['tile']} tiles, {first['scales']} filter scales); tile distances "
        "in grey levels of 255, generated / revised samples. Written by `benchmarks/texture_runs.sh`.",
        "",
        "| texture | iteration | not a copy | real crops: halves / elsewhere | statistics | floor: real halves | "
        "ceilings: phase-randomised / noise | diversity | lattice (photograph) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t, d in docs.items():
        lines.append(
            f"| {t} | {d['iteration']} "
            f"| {f1(mean(d, 'not_a_copy', 'generated'))} / {f1(mean(d, 'not_a_copy', 'revised'))} "
            f"| {f1(mean(d, 'not_a_copy', 'real_crops'))} / {f1(mean(d, 'not_a_copy', 'real_elsewhere'))} "
            f"| {stats_cell(d, 'generated')} / {stats_cell(d, 'revised')} "
            f"| {f2(mean(d, 'statistics', 'real_crops'))} "
            f"| {f2(mean(d, 'statistics', 'phase_randomised'))} / {f2(mean(d, 'statistics', 'noise'))} "
            f"| {f1(mean(d, 'diversity', 'generated'))} / {f1(mean(d, 'diversity', 'revised'))} "
            f"| {lattice_cell(d)} |")
    lines += ["", "Against the marks (not a copy: at or above the real crops, the photograph's halves searched "
              "in each other, or else at least its tiles searched elsewhere in itself, the samples' geometry; "
              "statistics: nearer the floor than the noise ceiling; lattice: the harmonics of one latent cell at least "
              "ten times (1 in log10) the photograph's):", ""]
    lines += [f"- **{t}** (iteration {d['iteration']}): {verdicts(d)}." for t, d in docs.items()]
    lines += ["", "Sample strips (observed, then the revised chains), as the runs wrote them:", ""]
    lines += [f"![{t}](texture_{t}.png)" for t in docs]
    with open(args.md, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {args.md}")


if __name__ == "__main__":
    try:
        main()
    except BadInput as err:
        sys.exit(f"texture_report.py: {err}")
