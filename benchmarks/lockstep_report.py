#!/usr/bin/python3
"""The lockstep divergence curve from the JSON that tools/lockstep_torch.py --float64 --json wrote:
OUT_DIR/lockstep.png (matplotlib: Debian's python3-matplotlib) and the table for LOCKSTEP.md on stdout.

usage: lockstep_report.py LOCKSTEP.json OUT_DIR [--perturbed PERTURBED.json]
  PERTURBED.json: from lockstep_torch.py --perturb 1e-7, drawn as PyTorch float32 against itself
  from weights one rounding apart (how far such a difference grows in this run)
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend)
from matplotlib.ticker import MaxNLocator  # noqa: E402

NETS = ("descriptor", "generator")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json")
    ap.add_argument("out")
    ap.add_argument("--perturbed", help="the JSON of a lockstep_torch.py --perturb run of the same trace")
    args = ap.parse_args()
    with open(args.json) as f:
        doc = json.load(f)
    rows = doc["iterations"]
    if "torch32_vs_float64" not in rows[0]:
        raise SystemExit("lockstep_report: the JSON has no float64 replay (run lockstep_torch.py with --float64)")
    its = [r["iteration"] for r in rows]

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 8), sharex=True)
    for net, colour in zip(NETS, ("tab:blue", "tab:orange")):
        top.semilogy(its, [r["params"][net]["rms_rel"] for r in rows], "-o", color=colour,
                     label=f"{net}: coopnets_cl vs PyTorch float32")
        top.semilogy(its, [r["torch32_vs_float64"][net]["rms_rel"] for r in rows], "--", color=colour,
                     label=f"{net}: PyTorch float32 vs float64")
        top.semilogy(its, [r["params_vs_float64"][net]["rms_rel"] for r in rows], ":", color=colour,
                     label=f"{net}: coopnets_cl vs PyTorch float64")
    if args.perturbed:
        with open(args.perturbed) as f:
            perturbed = json.load(f)["iterations"]
        for net, colour in zip(NETS, ("tab:blue", "tab:orange")):
            top.semilogy([r["iteration"] for r in perturbed], [r["torch32_vs_perturbed"][net]["rms_rel"] for r in perturbed],
                         "-.", color=colour, alpha=0.6, label=f"{net}: PyTorch float32 vs itself from weights × (1 + 1e-7 ε)")
    top.set_ylabel("parameters, ‖a − b‖ / ‖b‖")
    top.legend(fontsize=7)
    top.grid(True, which="both", alpha=0.3)
    for key, colour in (("loss_d", "tab:green"), ("loss_g", "tab:red"), ("grad_f_norm", "tab:purple")):
        top_label = {"loss_d": "L_D", "loss_g": "L_G", "grad_f_norm": "mean ‖∂f/∂Y‖"}[key]
        bottom.semilogy(its, [max(r["metrics"][key]["rel"], 1e-12) for r in rows], "-o", color=colour,
                        label=f"{top_label}: coopnets_cl vs PyTorch float32")
        bottom.semilogy(its, [max(r["torch32_metrics_vs_float64"][key]["rel"], 1e-12) for r in rows], "--",
                        color=colour, label=f"{top_label}: PyTorch float32 vs float64")
    bottom.set_ylabel("metrics, relative difference")
    bottom.set_xlabel("iteration")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    bottom.legend(fontsize=7)
    bottom.grid(True, which="both", alpha=0.3)
    c = doc["config"]
    fig.suptitle(f"Lockstep: coopnets_cl and PyTorch from the same weights and draws "
                 f"(n={c['training']['batch_size']}, M={c['training']['chains']}, l_D={c['descriptor']['langevin']['steps']})",
                 fontsize=10)
    fig.tight_layout()
    os.makedirs(args.out, exist_ok=True)
    fig.savefig(os.path.join(args.out, "lockstep.png"), dpi=100)

    def e(v):
        return f"{v:.1e}"

    lines = ["| it | D params: ours vs torch32 (max, worst tensor) | D: torch32 vs f64 | G params: ours vs torch32 "
             "| G: torch32 vs f64 | Ỹ | ∇D | ∇G (torch32 vs f64) | L_D | L_G | ‖∂f/∂Y‖ (torch32 vs f64) | L_D, L_G value |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        p, y, s, s64, m, m64 = (r["params"], r["torch32_vs_float64"], r["steps"], r["torch32_steps_vs_float64"],
                                r["metrics"], r["torch32_metrics_vs_float64"])
        lines.append(
            f"| {r['iteration']} | {e(p['descriptor']['rms_rel'])} ({e(p['descriptor']['max_rel'])}, "
            f"{p['descriptor']['worst']}) | {e(y['descriptor']['rms_rel'])} | {e(p['generator']['rms_rel'])} "
            f"({e(p['generator']['max_rel'])}, {p['generator']['worst']}) | {e(y['generator']['rms_rel'])} | "
            f"{e(s['revised'])} ({e(s64['revised'])}) | {e(s['descriptor_gradient'])} ({e(s64['descriptor_gradient'])}) | "
            f"{e(s['generator_gradient'])} ({e(s64['generator_gradient'])}) | {e(m['loss_d']['rel'])} | "
            f"{e(m['loss_g']['rel'])} | {e(m['grad_f_norm']['rel'])} ({e(m64['grad_f_norm']['rel'])}) | "
            f"{m['loss_d']['ours']:.4g}, {m['loss_g']['ours']:.4g} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
