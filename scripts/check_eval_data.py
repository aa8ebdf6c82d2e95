#!/usr/bin/env python3
"""House rule: no phrase of the labelled answers in the product's code.

The development split (the sample interviews of datasets/manifest.json and
datasets/devset) and the frozen test split (datasets/holdout) are what the analysis is measured on; a phrase copied from
an answer into a cue list, a lexicon, an example or a test of the crates
would make that measure flatter than it is. This check reads every string
literal and comment of the crates' and the engine's sources, the pipeline
files, the competency library and the skills lexicon, and fails on any run of
SIX or more words that also stands in an answer of either split (shorter runs
are ordinary English: "at the end of the").

    python3 scripts/check_eval_data.py [--words N]
"""
import argparse
import glob
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPLITS = ["datasets/devset/source.json", "datasets/holdout/source.json"]
SOURCES = [
    "crates/*/src/**/*.rs",
    "src/**/*.rs",
    "dataflows/*.toml",
    "crates/models/src/**/*.toml",
    "datasets/skills.json",
]


def words(text):
    return re.findall(r"[a-z0-9']+", text.lower())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--words", type=int, default=6)
    n = ap.parse_args().words
    runs = {}

    def add(text, where):
        w = words(text)
        for i in range(len(w) - n + 1):
            runs.setdefault(" ".join(w[i : i + n]), where)

    for split in SPLITS:
        for answer in json.loads((ROOT / split).read_text())["answers"]:
            add(answer["text"], f"{split}: {answer['answer_id']}")

    # The sample interviews' spoken texts (the development split's other part).
    def walk(value, where):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{where}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]")
        elif isinstance(value, str) and where.endswith("reference_text"):
            add(value, where)

    walk(json.loads((ROOT / "datasets/manifest.json").read_text()), "datasets/manifest.json")
    found = []
    for pattern in SOURCES:
        for path in sorted(glob.glob(str(ROOT / pattern), recursive=True)):
            for number, line in enumerate(Path(path).read_text().splitlines(), 1):
                parts = re.findall(r'"([^"]{8,})"', line) + re.findall(r"(?://|#).*$", line)
                for part in parts:
                    w = words(part)
                    for i in range(len(w) - n + 1):
                        run = " ".join(w[i : i + n])
                        if run in runs:
                            rel = Path(path).relative_to(ROOT)
                            found.append(f"{rel}:{number}: \"{run}\" (in {runs[run]})")
                            break
    if found:
        print(f"phrases of the labelled answers in the code ({n}+ words):", file=sys.stderr)
        for f in found:
            print("  " + f, file=sys.stderr)
        sys.exit(1)
    print(f"no {n}-word phrase of the labelled answers in the code")


if __name__ == "__main__":
    main()
