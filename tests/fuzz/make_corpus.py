#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/): tiny valid inputs of
every kind the readers accept and a few invalid ones, named bad-* (test_fuzz_regressions checks that
those fail with a message and the others are read). Run once; the files are kept in the repo.

usage: make_corpus.py COOPNETS_CL   (the program makes the checkpoint seed from a 1-iteration run)
"""
import gzip
import os
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def put(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# ---- PNG -----------------------------------------------------------------------------------------

def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, depth, color, rows, interlace=0, extra=b""):
    """rows: the raw scanlines (each already prefixed by its filter byte), all passes in order."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def scanlines(pixels, width, height, bytes_per_pixel):
    row = width * bytes_per_pixel
    return b"".join(b"\x00" + pixels[y * row:(y + 1) * row] for y in range(height))


def adam7(pixels, width, height, bpp):
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    out = b""
    for x0, y0, dx, dy in passes:
        for y in range(y0, height, dy):
            xs = range(x0, width, dx)
            if not xs:
                continue
            out += b"\x00" + b"".join(pixels[(y * width + x) * bpp:(y * width + x + 1) * bpp] for x in xs)
    return out


def pngs():
    gray = bytes((x * 37 + y * 11) % 256 for y in range(3) for x in range(5))
    put("png", "gray8.png", png(5, 3, 8, 0, scanlines(gray, 5, 3, 1)))
    rgb = bytes((i * 53) % 256 for i in range(4 * 4 * 3))
    put("png", "rgb8.png", png(4, 4, 8, 2, scanlines(rgb, 4, 4, 3)))
    rgba = bytes((i * 29) % 256 for i in range(3 * 2 * 4))
    put("png", "rgba8.png", png(3, 2, 8, 6, scanlines(rgba, 3, 2, 4)))
    ga16 = bytes((i * 71) % 256 for i in range(2 * 2 * 4))
    put("png", "gray_alpha16.png", png(2, 2, 16, 4, scanlines(ga16, 2, 2, 4)))
    put("png", "gray1.png", png(8, 2, 1, 0, b"\x00\xa5\x00\x5a"))
    palette = chunk(b"PLTE", bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])) + chunk(b"tRNS", b"\x00\x80")
    put("png", "palette4.png", png(4, 2, 4, 3, b"\x00\x01\x23\x00\x32\x10", extra=palette))
    rgb7 = bytes((i * 13) % 256 for i in range(7 * 7 * 3))
    put("png", "interlaced_rgb.png", png(7, 7, 8, 2, adam7(rgb7, 7, 7, 3), interlace=1))
    whole = png(5, 3, 8, 0, scanlines(gray, 5, 3, 1))
    put("png", "bad-truncated.png", whole[:len(whole) - 20])
    put("png", "bad-signature_only.png", b"\x89PNG\r\n\x1a\n")


# ---- IDX -----------------------------------------------------------------------------------------

def idx(dims, data):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data


def idxs():
    images = bytes(range(2 * 3 * 3))
    put("idx", "images-idx3-ubyte", idx([2, 3, 3], images))
    put("idx", "labels-idx1-ubyte", idx([4], b"\x00\x01\x02\x09"))
    put("idx", "images-idx3-ubyte.gz", gzip.compress(idx([2, 3, 3], images), mtime=0))
    put("idx", "bad-truncated-idx3-ubyte", idx([2, 3, 3], images[:7]))
    put("idx", "float-idx3", bytes([0, 0, 0x0D, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2]) + struct.pack(">2f", 1.0, -0.5))
    put("idx", "bad-int16-idx1", bytes([0, 0, 0x0B, 1, 0, 0, 0, 1]) + struct.pack(">h", 1))


# ---- config --------------------------------------------------------------------------------------

def configs():
    with open(os.path.join(ROOT, "configs", "tiny.json"), "rb") as f:
        put("config", "tiny.json", f.read())
    put("config", "minimal.json", b'{"seed": 3, "data": {"kind": "synthetic"}}')
    # the harness reads NUL-separated --set overrides after the JSON
    put("config", "overrides.json", b'{"data": {"kind": "synthetic"}, "descriptor": {"layers": '
        b'[{"type": "conv", "filters": 4, "kernel": 3}, {"type": "fc", "filters": 1}]}}'
        b'\x00descriptor.layers[0].stride=2\x00training.chains=8\x00generator.optimizer={"lr": 2e-4}')
    put("config", "texture.json", b'{"data": {"kind": "texture", "path": "x.png", "image_size": 64}, '
        b'"descriptor": {"preset": "texture"}, "generator": {"preset": "texture"}, "seed": "18446744073709551615"}')
    put("config", "bad-unknown_key.json", b'{"descriptor": {"lr": 0.1}}')
    put("config", "bad-syntax.json", b'{"seed": 1,')


# ---- checkpoint ----------------------------------------------------------------------------------

def checkpoints(cli):
    """A real checkpoint cut after its header (cn_checkpoint_read_config reads no further) and
    without its checksum, which the harness appends."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([cli, "--quiet", "train", os.path.join(ROOT, "configs", "tiny.json"), "--iters", "1",
                        "--out", tmp], check=True)
        with open(os.path.join(tmp, "checkpoints", "ckpt-000001.cnck"), "rb") as f:
            data = f.read()
    header_len = struct.unpack("<I", data[12:16])[0]
    put("checkpoint", "tiny_header", data[:16 + header_len])
    put("checkpoint", "bad-empty_header", data[:12] + struct.pack("<I", 2) + b"{}")
    put("checkpoint", "bad-wrong_version", data[:8] + struct.pack("<II", 7, 2) + b"{}" + bytes(8))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    pngs()
    idxs()
    configs()
    checkpoints(sys.argv[1])
