#!/usr/bin/env python3
"""Convert Moonshine's shipped ORT-format int8 models into plain ONNX with the
int8->float dequantisation folded into constants.

Why: as shipped, every decoder step re-runs Cast/Mul/Add over all weights
(the dequantisation), which dominates CPU time. Folding once at set-up makes
each step pay only for the real matrix work.

usage: convert_moonshine.py SRC_DIR DST_DIR
"""
import hashlib
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

FOLDABLE = {"Cast", "Mul", "Add", "Sub", "DequantizeLinear"}


def export_plain_onnx(src, dst):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.optimized_model_filepath = dst
    ort.InferenceSession(src, opts, providers=["CPUExecutionProvider"])


def evaluate(node, args):
    op = node.op_type
    if op == "Cast":
        to = next(a.i for a in node.attribute if a.name == "to")
        return args[0].astype(helper.tensor_dtype_to_np_dtype(to))
    if op == "Mul":
        return args[0] * args[1]
    if op == "Add":
        return args[0] + args[1]
    if op == "Sub":
        return args[0] - args[1]
    if op == "DequantizeLinear":
        x, scale = args[0], args[1]
        zero = args[2] if len(args) > 2 else np.zeros((), dtype=x.dtype)
        return ((x.astype(np.float32) - zero.astype(np.float32)) * scale).astype(np.float32)
    raise ValueError(op)


def fold_constants(graph, constants):
    """Fold foldable nodes whose inputs are all known constants, in place."""
    local = dict(constants)
    for init in graph.initializer:
        local[init.name] = numpy_helper.to_array(init)
    kept, new_inits = [], []
    for node in graph.node:
        if node.op_type in FOLDABLE and all(i in local for i in node.input if i):
            value = evaluate(node, [local[i] for i in node.input if i])
            local[node.output[0]] = value
            new_inits.append(numpy_helper.from_array(np.asarray(value), node.output[0]))
            continue
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                fold_constants(attr.g, local)
        kept.append(node)
    used = {i for n in kept for i in n.input} | {o.name for o in graph.output}
    used |= {i for n in kept for a in n.attribute if a.type == onnx.AttributeProto.GRAPH for i in outer_inputs(a.g)}
    old = [i for i in graph.initializer if i.name in used]
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(old + [i for i in new_inits if i.name in used])


def outer_inputs(graph):
    names = set()
    for n in graph.node:
        names.update(n.input)
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                names |= outer_inputs(a.g)
    return names


def name_subgraphs(graph, prefix):
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                if not attr.g.name:
                    attr.g.name = f"{prefix}_{node.name or node.op_type}_{attr.name}"
                name_subgraphs(attr.g, attr.g.name)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    src_dir, dst_dir = sys.argv[1], sys.argv[2]
    os.makedirs(dst_dir, exist_ok=True)
    manifest = {"model": "moonshine-base-en", "source": "PyPI moonshine-cpp==0.1.4", "files": {}}
    for name in ("encoder_model", "decoder_model_merged"):
        src = os.path.join(src_dir, name + ".ort")
        raw = os.path.join(dst_dir, name + ".raw.onnx")
        dst = os.path.join(dst_dir, name + ".onnx")
        export_plain_onnx(src, raw)
        model = onnx.load(raw)
        fold_constants(model.graph, {})
        name_subgraphs(model.graph, name)
        onnx.save(model, dst)
        os.remove(raw)
        manifest["files"][name + ".onnx"] = {"sha256": sha256(dst), "source_sha256": sha256(src)}
    with open(os.path.join(dst_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)


if __name__ == "__main__":
    main()
