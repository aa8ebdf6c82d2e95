#!/usr/bin/env python3
"""The house rules, checked: no import circle between the top-level modules
of any crate, and the crates depend on each other the way the README says.

1. Modules: in every crate of the workspace, the `crate::` paths of each
   file under `src/` (comments stripped) give edges between top-level
   modules (`src/<module>.rs` or `src/<module>/…`); any circle fails.
2. Crates: `cargo metadata` gives each workspace crate's normal
   dependencies on the others; they must be exactly the allowed ones
   (`panelflow-core` none; `panelflow-models` and `panelflow-connectors`
   only core; `panelflow-devkit` core and connectors; the engine
   `panelflow` everything, the dev kit only as an optional feature).

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

    if failed:
        print("the house rules are broken (see above)")
        return 1
    print("the house rules hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
