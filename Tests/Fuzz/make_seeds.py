#!/usr/bin/env python3
"""Writes the fuzzers' seed inputs into Tests/Fuzz/seeds/<target>/.

decoder: each captured protocol-1/2 task message of shared/wire-vectors as
"headers JSON, NUL, body"; binder: a task index byte, args JSON, NUL, kwargs
JSON; signature: signature texts. Run again when the vectors change:

    python3 Tests/Fuzz/make_seeds.py [../shared/wire-vectors]
"""
import base64
import json
import pathlib
import sys

here = pathlib.Path(__file__).resolve().parent
vectors = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else here.parents[2] / "shared" / "wire-vectors")
out = here / "seeds"

decoder = out / "decoder"
decoder.mkdir(parents=True, exist_ok=True)
def messages(v):
    return v["messages"] if "messages" in v else [v]


for path in sorted(vectors.glob("task-*.json")):
    for n, v in enumerate(messages(json.loads(path.read_text()))):
        body = v["body"]
        if isinstance(body, dict) and "base64" in body:
            raw = base64.b64decode(body["base64"])
        elif isinstance(body, str):
            raw = body.encode()
        else:
            raw = json.dumps(body).encode()
        headers = v["properties"].get("headers") or {}
        (decoder / f"{path.stem}-{n}").write_bytes(json.dumps(headers).encode() + b"\0" + raw)

binder = out / "binder"
binder.mkdir(parents=True, exist_ok=True)
args = [
    ("[true]", "{}"), ("[-128]", "{}"), ("[1]", '{"v": 2}'), ("[18446744073709551615]", "{}"),
    ("[1.5e300]", "{}"), ('["h\\u00e9llo \\ud83d\\ude00"]', "{}"),
    ('[{"__type__": "bytes", "__value__": "aGVsbG8="}]', "{}"), ('[{"a": [1, 2, {"b": null}]}]', "{}"),
    ("[]", '{"kind": "ValueError", "msg": "x"}'), ("[0.1]", "{}"), ("[1, 2, 3, 4, 5, 6, 7, 8]", "{}"),
]
for i, (a, k) in enumerate(args):
    for index in range(0, 24, 6):
        (binder / f"seed-{i}-{index}").write_bytes(bytes([(i + index) % 256]) + a.encode() + b"\0" + k.encode())

signature = out / "signature"
signature.mkdir(parents=True, exist_ok=True)
for i, text in enumerate([
    "add(a: int64, b: int64) -> int64", "f() -> void", "g(ctx) -> json", "h(s: string, b: bytes, ctx) -> string",
    "m(a: int8, b: uint64, c: float, d: double, e: bool, f: json) -> double", "pow(x: double, y: double) -> double",
]):
    (signature / f"seed-{i}").write_text(text)
print(f"seeds written to {out}")
