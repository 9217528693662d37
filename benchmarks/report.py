#!/usr/bin/python3
"""Writes RESULTS.md and chart.png in a results folder from the JSON files benchmarks/run.sh made:
NAME.json (coopnets_cl bench --device all) and NAME-torch.json (peer_torch.py) per config.
Standard library only (the chart is a PNG written with zlib).

usage: report.py RESULTS_DIR --configs mnist28 scene64 texture [--load-before L] [--load-after L] [--note TEXT]
"""
import argparse
import json
import os
import platform
import struct
import time
import zlib

STEPS = ["generate", "revise", "update_descriptor", "infer_latent", "update_generator"]
FAMILIES = {"conv": "conv (im2col, col2im, transposes, pads)", "deconv": "transposed conv (im2col, col2im, transposes, pads)",
            "gemm": "GEMM", "conv_direct": "direct conv", "batchnorm": "batch norm", "activation": "activations", "langevin": "Langevin",
            "adam": "Adam", "reduce": "reductions", "elementwise": "scaled differences"}


def load(path):
    with open(path) as f:
        doc = json.load(f)
    return doc if isinstance(doc, list) else [doc]


def cpu_model():
    with open("/proc/cpuinfo") as f:
        models = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    return (models[0] if models else platform.processor() or "unknown"), len(models) or os.cpu_count()


def fmt(v, digits=3):
    return "n/a" if v is None else f"{v:.{digits}f}"


def pct(v):
    return "n/a" if v is None else f"{100 * v:.0f}%"


# ---- the bar chart ------------------------------------------------------------------------------

# 3x5 pixel glyphs: five rows of three bits, most significant bit left.
FONT = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ./-_():%", (
    "75557 26227 71747 71717 55711 74717 74757 71111 75757 75717 25755 65656 34443 65556 74647 74644 34553 55755 "
    "72227 11152 55655 44447 57755 65555 25552 65644 25563 65655 34216 72222 55557 55552 55775 55255 55222 71247 "
    "00002 11244 00700 00007 24442 21112 02020 51245").split()))


class Canvas:
    def __init__(self, width, height):
        self.w, self.h = width, height
        self.px = bytearray(b"\xff" * (width * height * 3))

    def rect(self, x0, y0, x1, y1, rgb):
        for y in range(max(0, int(y0)), min(self.h, int(y1))):
            row = y * self.w * 3
            for x in range(max(0, int(x0)), min(self.w, int(x1))):
                self.px[row + 3 * x: row + 3 * x + 3] = bytes(rgb)

    def text(self, x, y, s, scale=2, rgb=(0, 0, 0), centre=False):
        s = s.upper()
        if centre:
            x -= len(s) * 4 * scale // 2
        for ch in s:
            rows = FONT.get(ch)
            for r, bits in enumerate(rows or ""):
                for c in range(3):
                    if int(bits) >> (2 - c) & 1:
                        self.rect(x + c * scale, y + r * scale, x + (c + 1) * scale, y + (r + 1) * scale, rgb)
            x += 4 * scale

    def png(self, path):
        raw = b"".join(b"\x00" + bytes(self.px[y * self.w * 3:(y + 1) * self.w * 3]) for y in range(self.h))

        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
        tmp = f"{path}.tmp.{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)


def chart(path, panels):
    """panels: [(title, [(label, seconds, is_peer)])]: one panel of bars per config."""
    pw, h, top, bottom = 440, 360, 50, 60
    c = Canvas(pw * len(panels), h)
    c.text(c.w // 2, 8, "SECONDS PER ITERATION (LOWER IS BETTER)", centre=True)
    for p, (title, bars) in enumerate(panels):
        x0 = p * pw
        c.text(x0 + pw // 2, 28, title, centre=True)
        c.rect(x0 + 20, h - bottom, x0 + pw - 20, h - bottom + 2, (0, 0, 0))
        vmax = max((b[1] for b in bars if b[1]), default=1.0) * 1.15
        slot = (pw - 40) / max(len(bars), 1)
        for i, (label, seconds, peer) in enumerate(bars):
            bx = x0 + 20 + i * slot
            if seconds:
                bh = (h - top - bottom) * seconds / vmax
                c.rect(bx + slot * 0.2, h - bottom - bh, bx + slot * 0.8, h - bottom,
                       (230, 130, 40) if peer else (40, 100, 190))
                c.text(bx + slot / 2, h - bottom - bh - 14, f"{seconds:.3g}", centre=True)
            for line, text in enumerate(label.split("\n")):
                c.text(bx + slot / 2, h - bottom + 10 + 14 * line, text, centre=True)
    c.png(path)


# ---- the report ---------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results")
    ap.add_argument("--configs", nargs="+", required=True)
    ap.add_argument("--load-before", default="")
    ap.add_argument("--load-after", default="")
    ap.add_argument("--note", default="")
    args = ap.parse_args()
    model, cpus = cpu_model()
    runs = {name: load(os.path.join(args.results, f"{name}.json")) for name in args.configs}
    peers = {name: load(os.path.join(args.results, f"{name}-torch.json"))[0] for name in args.configs}
    first = next(r for r in runs[args.configs[0]] if "error" not in r) if runs else {}
    peer0 = peers[args.configs[0]]
    md = ["# Benchmark results", "",
          f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} with `bash benchmarks/run.sh`: for each config, "
          "`coopnets_cl bench --device all` and then `benchmarks/peer_torch.py` (the same nets, batch, chains and "
          "Langevin steps in PyTorch on the CPU), back to back. Compare speeds only as ratios measured in one run.",
          "", "## Machine", "",
          f"- CPU: {model}, {cpus} logical CPUs; {platform.system()} {platform.release()}",
          f"- load average (1, 5, 15 min) before: {args.load_before or 'n/a'}, after: {args.load_after or 'n/a'}"]
    try:
        loaded = float(args.load_before.split()[0]) >= 0.5 * cpus
    except (ValueError, IndexError):
        loaded = False
    if loaded:
        md.append(f"- **The machine was loaded** when measuring began (1-minute load at least half the CPUs)"
                  f"{': ' + args.note if args.note else ''}. Absolute numbers may be depressed; the coopnets_cl / "
                  "PyTorch ratios, measured back to back, are the fairer figure.")
    elif args.note:
        md.append(f"- While measuring: {args.note}.")
    for r in runs[args.configs[0]]:
        if "error" in r:
            md.append(f"- OpenCL device [{r['device_index']}] {r['device']}: failed: {r['error']}")
        else:
            md.append(f"- OpenCL device [{r['device_index']}] {r['device']} ({r['device_type']}, "
                      f"{r['compute_units']} compute units at {r['clock_mhz']} MHz, {r['device_version']}, driver "
                      f"{r['driver_version']}), GEMM backend `{r['gemm']}`")
    md.append(f"- PyTorch {peer0['torch_version']} (Debian), the BLAS that torch used: "
              f"{', '.join(os.path.basename(b) for b in peer0['blas']) or 'none mapped'}"
              + (f", {peer0['blas_config']}, core **{peer0['blas_core']}** ({peer0['blas_core_how']})"
                 if peer0.get("blas_core") else "") + "; its thread count (torch "
              "and OpenBLAS) is the faster in a one-iteration probe per config: "
              + "; ".join(f"{name}: " + ", ".join(f"{t} thread(s) {sec:.2f} s" for t, sec in
                                                  peers[name]["thread_probe_seconds"].items())
                          + f" → {peers[name]['threads']}" for name in args.configs))

    md += ["", "## One CoopNets iteration", "",
           "Seconds per training iteration; images/s counts the observed batch. Ratio: coopnets_cl seconds / "
           "PyTorch seconds (> 1: slower).", ""]
    for name in args.configs:
        r = next((r for r in runs[name] if "error" not in r), None)
        if r:
            md.append(f"- {name}: {r['image_size']}×{r['image_size']}×{r['channels']}, batch {r['batch']}, "
                      f"{r['chains']} chains, {r['descriptor_langevin_steps']} descriptor and "
                      f"{r['generator_langevin_steps']} generator Langevin steps; {r['iterations']} timed "
                      f"iterations after {r['warmup']} warm-up (PyTorch: the same)")
    md += ["", "| config | implementation | device | s/iteration median (min–max) | images/s | ratio to PyTorch |",
           "|---|---|---|---|---|---|"]
    panels = []
    for name in args.configs:
        peer = peers[name]
        ps = peer["seconds_per_iteration"]
        bars = []
        for r in runs[name]:
            if "error" in r:
                md.append(f"| {name} | coopnets_cl | [{r['device_index']}] {r['device']} | failed | | |")
                continue
            s = r["seconds_per_iteration"]
            md.append(f"| {name} | coopnets_cl | [{r['device_index']}] {r['device']} | {s['median']:.3f} "
                      f"({s['min']:.3f}–{s['max']:.3f}) | {r['images_per_second']:.2f} | "
                      f"{s['median'] / ps['median']:.2f} |")
            bars.append((f"COOPNETS_CL\nDEVICE {r['device_index']} {r['device_type']}", s["median"], False))
        md.append(f"| {name} | PyTorch {peer['torch_version']} | CPU, {peer['threads']} thread(s) | "
                  f"{ps['median']:.3f} ({ps['min']:.3f}–{ps['max']:.3f}) | {peer['images_per_second']:.2f} | 1 |")
        bars.append((f"PYTORCH\nCPU {peer['threads']} THREAD(S)", ps["median"], True))
        panels.append((name, bars))
    chart(os.path.join(args.results, "chart.png"), panels)
    md += ["", "![seconds per iteration](chart.png)", ""]

    md += ["## Cold start", "",
           "Seconds = set-up (runtime open, program builds, GEMM choice, buffers, weights) + the first iteration. "
           "Without the program cache: a runtime with `no_cache = 1`, which also measures the GEMM choice again. "
           "The driver's own kernel cache (PoCL's `POCL_CACHE_DIR`) stays warm in both. On a loaded machine the "
           "first iteration varies as much as any iteration; the set-up is the part the cache changes.", "",
           "| config | device | with the program cache | without it |", "|---|---|---|---|"]
    for name in args.configs:
        for r in runs[name]:
            if "error" not in r:
                c = r["cold_start_seconds"]
                md.append(f"| {name} | [{r['device_index']}] {r['device']} | {c['cached']:.2f} = "
                          f"{c['setup_cached']:.2f} + {c['first_iteration_cached']:.2f} "
                          f"({c['cache_hits']} programs from the cache, {c['cache_misses']} compiled; builds "
                          f"{c['build_cached']:.2f}) | {c['uncached']:.2f} = {c['setup_uncached']:.2f} + "
                          f"{c['first_iteration_uncached']:.2f} (builds {c['build_uncached']:.2f}) |")

    md += ["", "## SGEMM 1024³", "", "| implementation | GFLOP/s |", "|---|---|"]
    for r in runs[args.configs[0]]:
        g = r.get("sgemm")
        if g:
            md.append(f"| coopnets_cl's own kernel on [{r['device_index']}] {r['device']} | {fmt(g['own_gflops'], 1)} |")
            md.append(f"| CLBlast on [{r['device_index']}] {r['device']} | {fmt(g['clblast_gflops'], 1)} |")
    core = f", core {peer0['blas_core']}" if peer0.get("blas_core") else ""
    md.append(f"| host BLAS through torch.mm{core} | {fmt(peer0['sgemm_gflops']['torch'], 1)} |")
    md.append(f"| host BLAS through numpy.matmul{core} | {fmt(peer0['sgemm_gflops']['numpy'], 1)} |")
    for r in runs[args.configs[0]]:
        if "error" not in r:
            md.append(f"| measured peak of [{r['device_index']}] {r['device']}: {r['peak']['gflops_how']} | "
                      f"{fmt(r['peak']['gflops'], 1)} |")
            md.append(f"| formula for [{r['device_index']}] {r['device']} (a side note): "
                      f"{r['peak']['formula_how']} | {fmt(r['peak']['formula_gflops'], 1)} |")

    md += ["", "## Against the measured peak and bandwidth", "",
           "`coopnets_cl bench` measures each device's single-precision peak with an FMA micro-kernel and its "
           "memory bandwidth with a copy kernel (`cl/peak.cl`, OpenCL event times, the best of several runs). "
           "GEMM: the GFLOP/s of every GEMM of the profiled iteration together; SGEMM: the 1024³ product above; "
           "lowering: im2col, col2im and the transposes of conv and transposed conv together, their GB/s and their "
           "share of the profiled iteration's device time.", "",
           "| config | device | peak GFLOP/s | bandwidth GB/s | GEMM GFLOP/s (of peak) | SGEMM ours (of peak) "
           "| lowering GB/s (of bandwidth) | lowering share of the iteration |", "|---|---|---|---|---|---|---|---|"]
    for name in args.configs:
        for r in runs[name]:
            if "error" in r:
                continue
            p, of = r["peak"], r.get("of_peak", {})
            lowering = sum(r["kernels"].get(f, {}).get("seconds", 0) for f in ("conv", "deconv"))
            events = r["profiled_iteration_seconds"]["events"]
            sgemm = r.get("sgemm")
            md.append(f"| {name} | [{r['device_index']}] {r['device']} | {fmt(p['gflops'], 1)} | {fmt(p['gbps'], 1)} "
                      f"| {fmt(of.get('gemm_gflops'), 1)} ({pct(of.get('gemm'))}) | "
                      + (f"{fmt(sgemm['own_gflops'], 1)} ({pct(of.get('sgemm_own'))})" if sgemm else "-")
                      + f" | {fmt(of.get('lowering_gbps'), 1)} ({pct(of.get('lowering'))}) | "
                      f"{pct(lowering / events if events else None)} |")

    md += ["", "## Where the time goes", "",
           "Per step: device time from OpenCL events in one profiled iteration (a separate runtime with a "
           "profiling queue; the timed iterations run without events). PyTorch: host time per step, mean over "
           "the timed iterations.", "",
           "| config | implementation | " + " | ".join(STEPS) + " |", "|---|---|" + "---|" * len(STEPS)]
    for name in args.configs:
        for r in runs[name]:
            if "error" not in r:
                md.append(f"| {name} | coopnets_cl [{r['device_index']}] | "
                          + " | ".join(f"{r['steps'][s]:.3f}" for s in STEPS) + " |")
        md.append(f"| {name} | PyTorch | " + " | ".join(f"{peers[name]['steps'][s]:.3f}" for s in STEPS) + " |")
    for name in args.configs:
        for r in runs[name]:
            if "error" in r:
                continue
            total = r["profiled_iteration_seconds"]["events"] or 1.0
            md += ["", f"### Kernel families: {name} on [{r['device_index']}] {r['device']}", "",
                   f"One profiled iteration: events {r['profiled_iteration_seconds']['events']:.3f} s of "
                   f"{r['profiled_iteration_seconds']['wall']:.3f} s wall. GFLOP/s and GB/s where the launch counts "
                   "its work (GEMM: 2mnk per product; transfers: bytes), else n/a. Measured peak "
                   f"{fmt(r['peak']['gflops'], 1)} GFLOP/s, bandwidth {fmt(r['peak']['gbps'], 1)} GB/s.", "",
                   "| family | seconds | share | calls | GFLOP/s | GB/s |", "|---|---|---|---|---|---|"]
            for fam, k in sorted(r["kernels"].items(), key=lambda kv: -kv[1]["seconds"]):
                md.append(f"| {FAMILIES.get(fam, fam)} | {k['seconds']:.4f} | {100 * k['seconds'] / total:.1f}% | {k['calls']} | "
                          f"{fmt(k['gflops'], 1)} | {fmt(k['gbps'], 1)} |")
            md += ["", "Slowest kernels:", "", "| kernel | step | seconds | calls | GFLOP/s |", "|---|---|---|---|---|"]
            for k in sorted(r["kernel_names"], key=lambda k: -k["seconds"])[:8]:
                md.append(f"| `{k['name']}` | {k['step']} | {k['seconds']:.4f} | {k['calls']} | {fmt(k['gflops'], 1)} |")
    path = os.path.join(args.results, "RESULTS.md")
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write("\n".join(md) + "\n")
    os.replace(tmp, path)
    print(f"wrote {path} and {os.path.join(args.results, 'chart.png')}")


if __name__ == "__main__":
    main()
