#!/usr/bin/env python3
"""The house rules, checked: no import circle between the top-level modules
of any crate, none between its files, and the crates depend on each other
the way the README says.

1. Modules: in every crate of the workspace, the `crate::` paths of each
   file under `src/` (comments stripped) give edges between top-level
   modules (`src/<module>.rs` or `src/<module>/…`); any circle fails.
2. Files: the `crate::`, `super::` and `self::` paths of each file (in `use`
   statements, braces expanded, and inline) resolved to the file that
   defines the module they name give edges between files; a circle of files
   fails (a child module's `use super::…` is an edge to its parent, so a
   parent that also names an item of its child by path closes a circle).
3. Crates: `cargo metadata` gives each workspace crate's normal
   dependencies on the others; they must be exactly the allowed ones
   (`panelflow-core` none; `panelflow-models` and `panelflow-connectors`
   only core; `panelflow-devkit` core and connectors; the engine
   `panelflow` everything, the dev kit only as an optional feature).
4. Sizes: no source file under a crate's `src/` over MAX_LINES lines (a
   file that long mixes concerns: split it into a folder).

Prints each crate's module edges and exits 1 on a violation.
Usage: python3 scripts/check_layering.py [--quiet]
"""

import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Normal (non-dev) dependencies each workspace crate may have on the others.
ALLOWED = {
    "panelflow-core": set(),
    "panelflow-models": {"panelflow-core"},
    "panelflow-connectors": {"panelflow-core"},
    "panelflow-devkit": {"panelflow-core", "panelflow-connectors"},
    "panelflow": {
        "panelflow-core",
        "panelflow-models",
        "panelflow-connectors",
        "panelflow-devkit",
    },
}
# Dependencies that must be optional (behind a feature): never in the
# production binary.
OPTIONAL_ONLY = {("panelflow", "panelflow-devkit")}

# The longest a source file under `src/` may be.
MAX_LINES = 600

PATH = re.compile(r"\bcrate::\{([^}]*)\}|\bcrate::(\w+)")
COMMENT = re.compile(r"//[^\n]*")


def module_edges(src):
    """Edges between the top-level modules of the crate rooted at `src`."""
    edges = {}
    for dirpath, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, src).split(os.sep)
            module = rel[0][:-3] if len(rel) == 1 else rel[0]
            if module in ("lib", "main", "bin"):
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                text = COMMENT.sub("", f.read())
            for m in PATH.finditer(text):
                names = (
                    [p.strip().split("::")[0] for p in m.group(1).split(",")]
                    if m.group(1) is not None
                    else [m.group(2)]
                )
                for target in names:
                    if target and target != module and target not in ("self", "super"):
                        edges.setdefault(module, set()).add(target)
    return edges


USE = re.compile(r"\buse\s+([^;]+);", re.S)
INLINE = re.compile(r"\b(?:crate|super|self)(?:::\w+)+")


def expand(tree):
    """`a::{b, c::{d, e}}` → [`a::b`, `a::c::d`, `a::c::e`]."""
    tree = re.sub(r"\s+", "", tree)
    if "{" not in tree:
        return [tree.split(" as ")[0]]
    head, rest = tree.split("{", 1)
    body = rest[: rest.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    out = []
    for part in filter(None, parts):
        out.extend(expand(head + part))
    return out


def file_modules(src):
    """Module path (tuple) → file, for every `.rs` file under `src`."""
    files = {}
    for dirpath, _, names in os.walk(src):
        for name in names:
            if not name.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, name), src).split(os.sep)
            if rel[0] == "bin":
                continue
            if rel[-1] in ("mod.rs", "lib.rs", "main.rs"):
                module = tuple(rel[:-1])
            else:
                module = tuple(rel[:-1]) + (rel[-1][:-3],)
            files[module] = os.path.join(*rel)
    return files


def file_edges(src):
    """Edges between the files of the crate rooted at `src`."""
    files = file_modules(src)
    edges = {}
    for module, rel in files.items():
        with open(os.path.join(src, rel), encoding="utf-8", errors="replace") as f:
            text = COMMENT.sub("", f.read())
        # Unit tests (`#[cfg(test)] mod tests { use super::*; … }`, at the
        # end of a file) belong to the file itself.
        text = text.split("#[cfg(test)]")[0]
        paths = [p for m in USE.finditer(text) for p in expand(m.group(1))]
        paths += INLINE.findall(USE.sub("", text))
        is_dir_module = rel.endswith("mod.rs") or rel in ("lib.rs", "main.rs")
        for path in paths:
            segs = [x for x in path.split("::") if x]
            if not segs or segs[0] not in ("crate", "super", "self"):
                continue
            here = list(module)
            parent = here if is_dir_module else here[:-1]
            if segs[0] == "crate":
                base, rest = [], segs[1:]
            elif segs[0] == "self":
                base, rest = here, segs[1:]
            else:
                base, rest = (parent[:-1] if is_dir_module else parent), segs[1:]
                while rest and rest[0] == "super":
                    base, rest = base[:-1], rest[1:]
            target = None
            for k in range(len(rest), -1, -1):
                cand = tuple(base + rest[:k])
                if cand in files:
                    target = cand
                    break
            if target is not None and target != module:
                edges.setdefault(files[module], set()).add(files[target])
    return edges


def circles(edges):
    """The modules that reach themselves."""

    def reach(start):
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    return sorted(m for m in edges if m in reach(m))


def main():
    quiet = "--quiet" in sys.argv
    failed = False
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--no-deps", "--format-version", "1", "--offline"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    members = {p["name"]: p for p in meta["packages"]}

    print("Modules (crate:: imports between top-level modules):")
    for name in sorted(members):
        src = os.path.join(os.path.dirname(members[name]["manifest_path"]), "src")
        edges = module_edges(src)
        bad = circles(edges)
        status = "in a circle: " + ", ".join(bad) if bad else "no circle"
        print(f"  {name}: {status}")
        if not quiet:
            for module in sorted(edges):
                print(f"    {module} -> {', '.join(sorted(edges[module]))}")
        failed |= bool(bad)

    print("Files (crate::, super::, self:: paths between the files of a crate):")
    for name in sorted(members):
        src = os.path.join(os.path.dirname(members[name]["manifest_path"]), "src")
        bad = circles(file_edges(src))
        status = "in a circle: " + ", ".join(bad) if bad else "no circle"
        print(f"  {name}: {status}")
        failed |= bool(bad)

    print("Crates (normal dependencies between workspace crates):")
    for name in sorted(members):
        deps = [
            d
            for d in members[name]["dependencies"]
            if d["name"] in members and d.get("kind") is None
        ]
        names = {d["name"] for d in deps}
        wrong = names - ALLOWED.get(name, set())
        not_optional = [
            d["name"]
            for d in deps
            if (name, d["name"]) in OPTIONAL_ONLY and not d.get("optional")
        ]
        shown = ", ".join(
            sorted(d["name"] + (" (optional)" if d.get("optional") else "") for d in deps)
        )
        verdict = "ok"
        if wrong:
            verdict = "NOT ALLOWED: " + ", ".join(sorted(wrong))
        elif not_optional:
            verdict = "must be optional: " + ", ".join(not_optional)
        print(f"  {name} -> {shown or '(none)'}: {verdict}")
        failed |= verdict != "ok"
    both = [
        n
        for n, p in members.items()
        if {"panelflow-models", "panelflow-connectors"}
        <= {d["name"] for d in p["dependencies"] if d.get("kind") is None}
    ]
    print(f"  depending on both models and connectors: {', '.join(sorted(both))}")
    failed |= both != ["panelflow"]

    print(f"Sizes (source files over {MAX_LINES} lines):")
    for name in sorted(members):
        src = os.path.join(os.path.dirname(members[name]["manifest_path"]), "src")
        long = []
        for folder, _, files in os.walk(src):
            for f in files:
                if f.endswith(".rs"):
                    path = os.path.join(folder, f)
                    with open(path, encoding="utf-8") as fh:
                        n = sum(1 for _ in fh)
                    if n > MAX_LINES:
                        long.append(f"{os.path.relpath(path, ROOT)} ({n})")
        print(f"  {name}: {', '.join(sorted(long)) if long else 'none'}")
        failed |= bool(long)

    if failed:
        print("the house rules are broken (see above)")
        return 1
    print("the house rules hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
