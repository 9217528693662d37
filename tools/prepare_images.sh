#!/usr/bin/env bash
# Makes a training folder for configs/faces.json or configs/scenes.json from a folder of images in
# any common format (JPEG, PNG, BMP, GIF, TIFF, WebP, PPM), e.g. CelebA's img_align_celeba JPEGs:
#   1. images that are not PNG are converted to PNG with ImageMagick (into a staging folder that is
#      removed afterwards; PNGs are linked there, not copied), keeping category sub-folders;
#   2. `coopnets_cl prepare` centre-crops and resizes every image and writes it as PNG into DST.
# Usage: tools/prepare_images.sh SRC DST [--size N] [--crop N] [--channels 1|3]
#   (the options are `coopnets_cl prepare`'s: see `coopnets_cl prepare --help`)
# The program: $COOPNETS_CL, else build/coopnets_cl of this checkout, else coopnets_cl on PATH.
set -eu -o pipefail

say() { printf 'prepare_images: %s\n' "$*"; }
die() { printf 'prepare_images: %s\n' "$*" >&2; exit 2; }

[ $# -ge 2 ] || die "usage: tools/prepare_images.sh SRC DST [--size N] [--crop N] [--channels 1|3]"
src=$1 dst=$2
shift 2
[ -d "$src" ] || die "$src is not a folder"

here=$(cd "$(dirname "$0")/.." && pwd)
cli=${COOPNETS_CL:-}
if [ -z "$cli" ]; then
    if [ -x "$here/build/coopnets_cl" ]; then cli=$here/build/coopnets_cl
    elif command -v coopnets_cl >/dev/null 2>&1; then cli=coopnets_cl
    else die "no coopnets_cl: build it first (bash tools/setup.sh) or set COOPNETS_CL"
    fi
fi

# The formats converted; the extension is matched without regard to case.
CONVERTED=" jpg jpeg bmp gif tif tiff webp ppm "
# The files of SRC and of its sub-folders (categories), as coopnets_cl prepare reads them.
files() { find "$src" -mindepth 1 -maxdepth 2 -type f; }
extension_of() { ext=${1##*.}; ext=${ext,,}; } # sets $ext, lower case (no subshell per file)
converted() { extension_of "$1"; [[ $CONVERTED == *" $ext "* ]]; }

others=0
while IFS= read -r f; do converted "$f" && others=$((others + 1)); done < <(files)
if [ "$others" -eq 0 ]; then
    exec "$cli" prepare "$src" "$dst" "$@"
fi

command -v convert >/dev/null 2>&1 ||
    die "$src holds $others images that are not PNG; converting them needs ImageMagick: apt-get install imagemagick"
stage=$(mktemp -d "${TMPDIR:-/tmp}/prepare_images.XXXXXX")
trap 'rm -rf "$stage"' EXIT INT TERM
say "converting $others images to PNG (ImageMagick) in $stage"
while IFS= read -r f; do
    rel=${f#"$src"/}
    case $rel in */*) mkdir -p "$stage/${rel%/*}" ;; esac
    extension_of "$f"
    if [ "$ext" = png ]; then
        ln -s "$(cd "$(dirname "$f")" && pwd)/${f##*/}" "$stage/$rel"
    elif converted "$f"; then
        # [0]: the first frame of a GIF or TIFF
        convert "$f[0]" "$stage/${rel%.*}.png" || die "ImageMagick could not read $f"
    fi
done < <(files)
"$cli" prepare "$stage" "$dst" "$@"
