#!/bin/sh
# Fetches the data sets coopnets_cl's configs and tests use, from Debian packages:
#   - Fashion-MNIST: the package dataset-fashion-mnist, installed with apt-get (needs root),
#     files /usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz;
#   - scikit-image's sample images (the textures brick, grass, gravel, 512x512, and others): the
#     package python3-skimage is downloaded and unpacked into the data folder, not installed.
# Usage: tools/fetch_data.sh [DATA_FOLDER]
#   DATA_FOLDER defaults to $COOPNETS_DATA, else $HOME/.local/share/coopnets_cl/data.
# Quick when everything is already there; safe to run again.
set -eu

data=${1:-${COOPNETS_DATA:-$HOME/.local/share/coopnets_cl/data}}
fashion=/usr/share/datasets/fashion-mnist
skimage=$data/skimage
textures="brick.png grass.png gravel.png"

say() { printf 'fetch_data: %s\n' "$*"; }
die() { printf 'fetch_data: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root for: $* (run this script as root or install sudo)"
    fi
}

# apt knows the package, or learns it after one `apt-get update`.
apt_knows() {
    apt-cache show "$1" >/dev/null 2>&1 && return 0
    say "apt does not know $1 yet: running apt-get update"
    as_root apt-get update -qq
    apt-cache show "$1" >/dev/null 2>&1 || die "no Debian package $1 (is this Debian 12 or newer?)"
}

fashion_complete() {
    for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
        [ -s "$fashion/$f" ] || return 1
    done
}

textures_complete() {
    for f in $textures; do [ -s "$skimage/$f" ] || return 1; done
}

if fashion_complete; then
    say "Fashion-MNIST already installed"
else
    command -v apt-get >/dev/null 2>&1 || die "Fashion-MNIST is missing and apt-get is not available"
    apt_knows dataset-fashion-mnist
    say "installing dataset-fashion-mnist"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
    fashion_complete || die "dataset-fashion-mnist installed but $fashion is incomplete"
fi

if textures_complete; then
    say "scikit-image sample images already in $skimage"
else
    command -v apt-get >/dev/null 2>&1 || die "the textures are missing and apt-get is not available"
    apt_knows python3-skimage
    work=$(mktemp -d "${TMPDIR:-/tmp}/coopnets_fetch.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    say "downloading python3-skimage (unpacked into $skimage, not installed)"
    # Root's apt drops privileges to _apt, which cannot write into a private temporary folder.
    (cd "$work" && apt-get download -qq -o APT::Sandbox::User=root python3-skimage) ||
        die "apt-get download python3-skimage failed"
    dpkg-deb -x "$work"/python3-skimage_*.deb "$work/root"
    source_dir=$(find "$work/root" -type d -path '*/skimage/data' | head -n 1)
    [ -n "$source_dir" ] || die "python3-skimage has no skimage/data folder"
    rm -rf "$skimage.partial"
    mkdir -p "$skimage.partial"
    cp "$source_dir"/*.png "$skimage.partial"/
    rm -rf "$skimage"
    mv "$skimage.partial" "$skimage" # complete or absent, never half there
    textures_complete || die "python3-skimage did not contain $textures"
fi

say "data folder: $data"
say "Fashion-MNIST: $fashion/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz"
for f in $textures; do say "texture: $skimage/$f"; done
say "other scikit-image samples: $skimage/"
