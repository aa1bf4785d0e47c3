#!/usr/bin/env python3
"""The house rules, run by scripts/test.sh.

1. The crates form layers, and Cargo.toml says so: core <- engine <- edge <- aws, each
   depending only on the layers below it, and none on a crate its layer must not use (core:
   no web framework, HTTP client, template engine, AWS or Lambda crate; engine: no web
   framework, HTTP client, AWS or Lambda crate; edge: no AWS or Lambda crate, even
   transitively). Read from `cargo metadata` and `cargo tree`.
2. No module cycles inside a crate: the top-level modules of each crate's `src/` form a DAG
   (test-only modules left out). A cycle is reported with one import per edge, so the
   message says which import to move.
3. A DynamoDB key is formatted in one place: `keys::partition` (core/src/keys.rs). A string
   literal starting a key (`"T#...`) anywhere else in library code is an error.
4. AWS SDK and Lambda crates are named only in the AWS crate's source (aws/src).
5. The CLI without its `aws` feature links no AWS SDK (`cargo tree`).

Exit status 1 with one line per broken rule; nothing printed but "layers: ok" otherwise.
"""

import collections
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
import json

CRATES = ["core/src", "engine/src", "edge/src", "aws/src", "shared/src", "encoder/src", "cli/src"]
LIBRARY = ["core/src", "engine/src", "edge/src", "aws/src"]
KEYS_FILE = "core/src/keys.rs"
AWS_MODULES = ("aws/src/",)

# Each layer: the workspace crates it may depend on, and what it must not use, by crate name.
AWS_OR_LAMBDA = re.compile(r"^(aws-|aws_|lambda_)")
WEB = re.compile(r"^(axum|hyper|tower-http|reqwest)$")
TEMPLATES = re.compile(r"^minijinja$")
LAYERS = {
    "switchboard-core": ({"switchboard-encoder"}, [(AWS_OR_LAMBDA, "an AWS or Lambda crate"), (WEB, "a web framework or HTTP client"), (TEMPLATES, "a template engine")]),
    "switchboard-engine": ({"switchboard-core", "switchboard-encoder"}, [(AWS_OR_LAMBDA, "an AWS or Lambda crate"), (WEB, "a web framework or HTTP client")]),
    "switchboard-edge": ({"switchboard-core", "switchboard-engine", "switchboard-encoder"}, [(AWS_OR_LAMBDA, "an AWS or Lambda crate")]),
    "switchboard-aws": ({"switchboard-core", "switchboard-engine", "switchboard-edge", "switchboard-encoder"}, []),
}
AWS_CRATES = re.compile(r"\b(aws_sdk_\w+|aws_config|aws_smithy_\w+|lambda_http|lambda_runtime|aws_lambda_events)::")
KEY_LITERAL = re.compile(r'"T#')


def code_lines(text):
    """(line number, line) of code outside comments and inline `#[cfg(test)] mod … { … }`."""
    lines = text.split("\n")
    skip_depth = None
    depth = 0
    pending_test = False
    for n, line in enumerate(lines, 1):
        stripped = line.strip()
        if skip_depth is None and stripped.startswith("#[cfg(test)]"):
            pending_test = True
            continue
        if pending_test and skip_depth is None:
            pending_test = False
            if re.match(r"(pub(\(crate\))?\s+)?mod\s+\w+\s*\{", stripped):
                skip_depth = depth
        opened, closed = line.count("{"), line.count("}")
        if skip_depth is not None:
            depth += opened - closed
            if depth <= skip_depth:
                skip_depth = None
            continue
        depth += opened - closed
        if stripped.startswith("//"):
            continue
        yield n, line.split("//")[0] if "://" not in line else line


def test_only_files(src):
    """Files declared as `#[cfg(test)] mod x;`: not part of the library's module graph."""
    found = set()
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            text = open(path, encoding="utf-8").read()
            for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\(crate\))?\s+)?mod\s+(\w+)\s*;", text):
                here = dirpath if f in ("mod.rs", "lib.rs", "main.rs") else os.path.join(dirpath, f[:-3])
                for candidate in (os.path.join(here, m.group(1) + ".rs"), os.path.join(here, m.group(1))):
                    found.add(os.path.normpath(candidate))
    return found


def rust_files(src):
    skip = test_only_files(src)
    for dirpath, _, files in os.walk(src):
        if any(os.path.normpath(dirpath).startswith(s) for s in skip if not s.endswith(".rs")):
            continue
        for f in sorted(files):
            path = os.path.normpath(os.path.join(dirpath, f))
            if f.endswith(".rs") and path not in skip:
                yield path


def module_cycles(src):
    problems = []
    tops = set()
    for entry in os.listdir(src):
        if entry.endswith(".rs") and entry not in ("lib.rs", "main.rs"):
            tops.add(entry[:-3])
        elif os.path.isdir(os.path.join(src, entry)):
            tops.add(entry)
    edges = collections.defaultdict(dict)
    for path in rust_files(src):
        rel = os.path.relpath(path, src)
        top = rel.split(os.sep)[0].removesuffix(".rs")
        if top in ("lib", "main"):
            continue
        for n, line in code_lines(open(path, encoding="utf-8").read()):
            for target in re.findall(r"\bcrate::(\w+)", line):
                if target in tops and target != top:
                    edges[top].setdefault(target, f"{os.path.relpath(path, ROOT)}:{n}")
    # Tarjan's strongly connected components.
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            sccs.append(component)

    sys.setrecursionlimit(10000)
    for v in sorted(tops):
        if v not in index:
            visit(v)
    for component in sccs:
        if len(component) < 2:
            continue
        members = set(component)
        inside = [
            f"{a} -> {b} ({where})"
            for a in sorted(members)
            for b, where in sorted(edges[a].items())
            if b in members
        ]
        problems.append(
            f"module cycle in {os.path.relpath(src, ROOT)} among {', '.join(sorted(members))}; its imports: " + "; ".join(inside)
        )
    return problems


def crate_layers():
    """Rule 1, from the manifests: direct dependencies by `cargo metadata`, and for the layers
    below AWS no AWS or Lambda crate anywhere in their tree."""
    out = subprocess.run(
        ["cargo", "metadata", "--offline", "--format-version", "1", "--no-deps"], cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode != 0:
        return [f"cargo metadata failed: {out.stderr.strip()}"]
    problems = []
    packages = {p["name"]: p for p in json.loads(out.stdout)["packages"]}
    workspace = set(packages)
    for name, (allowed, banned) in LAYERS.items():
        package = packages.get(name)
        if package is None:
            problems.append(f"{name}: no such crate in the workspace")
            continue
        manifest = os.path.relpath(package["manifest_path"], ROOT)
        for dep in package["dependencies"]:
            if dep.get("kind") not in (None, "normal"):
                continue
            dep_name = dep["name"]
            if dep_name in workspace and dep_name not in allowed:
                problems.append(f"{manifest}: {name} depends on {dep_name}, a layer above it or beside it (allowed: {', '.join(sorted(allowed))})")
            for pattern, what in banned:
                if pattern.search(dep_name):
                    problems.append(f"{manifest}: {name} depends on {dep_name}, {what}, which its layer must not use")
        if name != "switchboard-aws":
            tree = subprocess.run(
                ["cargo", "tree", "--offline", "-p", name, "-e", "normal", "--prefix", "none", "-f", "{p}"],
                cwd=ROOT, capture_output=True, text=True,
            )
            linked = sorted({line.split()[0] for line in tree.stdout.splitlines() if line and AWS_OR_LAMBDA.search(line.split()[0])})
            if linked:
                problems.append(f"{manifest}: {name} links {', '.join(linked)} through its dependencies")
    return problems


def library_files():
    for src in LIBRARY:
        yield from rust_files(os.path.join(ROOT, src))


def key_literals():
    problems = []
    for path in library_files():
        rel = os.path.relpath(path, ROOT)
        if rel == KEYS_FILE:
            continue
        for n, line in code_lines(open(path, encoding="utf-8").read()):
            if KEY_LITERAL.search(line):
                problems.append(f"{rel}:{n}: a DynamoDB key formatted outside keys::partition: {line.strip()}")
    return problems


def aws_outside_aws_modules():
    problems = []
    for path in library_files():
        rel = os.path.relpath(path, ROOT)
        if rel.startswith(AWS_MODULES):
            continue
        for n, line in code_lines(open(path, encoding="utf-8").read()):
            m = AWS_CRATES.search(line)
            if m:
                problems.append(f"{rel}:{n}: {m.group(1)} used outside the AWS crate ({', '.join(AWS_MODULES)})")
    return problems


def cli_without_aws():
    out = subprocess.run(
        ["cargo", "tree", "--offline", "-p", "switchboard-cli", "-e", "normal", "--prefix", "none", "-f", "{p}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        return [f"cargo tree failed: {out.stderr.strip()}"]
    linked = sorted({line.split()[0] for line in out.stdout.splitlines() if line.startswith(("aws-sdk-", "aws-config"))})
    return [f"the CLI without --features aws links {', '.join(linked)}"] if linked else []


def main():
    os.chdir(ROOT)
    problems = crate_layers()
    for crate in CRATES:
        problems += module_cycles(os.path.join(ROOT, crate))
    problems += key_literals()
    problems += aws_outside_aws_modules()
    problems += cli_without_aws()
    for p in problems:
        print(f"layers: {p}")
    if problems:
        sys.exit(1)
    print("layers: ok")


if __name__ == "__main__":
    main()
