#!/usr/bin/env python3
"""Convert Moonshine's shipped ORT-format int8 models into plain ONNX for
panelflow's batched decoder.

Steps, each checked:

1. Export plain ONNX and fold the int8->float dequantisation into constants.
   As shipped, every decoder step re-runs Cast/Mul/Add over all weights,
   which dominates CPU time; folding once at set-up removes it.
2. Encoder: dynamic int8 quantisation of the weight MatMuls
   (``DynamicQuantizeMatMul``, symmetric per-column int8 weights, activations
   quantised per call; 7-bit weights where the CPU lacks VNNI and full-range
   ones saturate, the float encoder where neither stays close). About 3x faster matrix work on AVX-512/VNNI CPUs, no
   measurable change in word error rate. The encoder always runs one segment
   at a time, so per-call activation scales do not couple segments.
3. Merged decoder, rewritten for batched greedy decoding:
   - the cross-attention key cache is kept the way the attention consumes it
     (transposed to [batch, heads, head_dim, frames] and pre-scaled), instead
     of being transposed and scaled again over all encoder frames at every
     step (the largest cost of a step once segments are batched);
   - an ``encoder_attention_bias`` input ([batch, 1, 1, frames], 0 for a real
     frame, -1e9 for padding) is added before each cross-attention softmax,
     so segments of different lengths share one decoder call: padded frames
     get exactly zero weight;
   - the output projection uses the token embedding directly
     (Gemm with transB) instead of a transposed copy computed inside each
     branch: 54 MB less to load and hold.
   The decoder keeps float weights: dynamic int8 activations are scaled per
   tensor, which would make a segment's tokens depend on the other segments
   in its batch. Batched decoding must give the tokens of one-at-a-time
   decoding.
   A self-check runs the rewritten decoder against the original on random
   inputs before anything is written.

usage: convert_moonshine.py SRC_DIR DST_DIR
"""
import copy
import hashlib
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

FOLDABLE = {"Cast", "Mul", "Add", "Sub", "DequantizeLinear"}
#: Bumped whenever the files' contents change; the engine reads it.
FORMAT = 2
BIAS = "encoder_attention_bias"
MASKED = -1e9


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


def quantize_matmuls_dynamic(model, limit=127, only=None):
    """MatMul(A, W const 2-D float) -> DynamicQuantizeMatMul(A, W int8 per column, scales).

    ``limit`` 63 is ONNX Runtime's ``reduce_range``: 7-bit weights, for CPUs
    without VNNI, whose u8*s8 multiply-add saturates at 16 bits on full-range
    weights (the error then is about 100 %, not a few). ``only``, when given,
    picks the weights to quantise by name."""
    inits = {i.name: i for i in model.graph.initializer}
    done = set()
    count = 0
    new_nodes = []
    for n in model.graph.node:
        w = inits.get(n.input[1]) if n.op_type == "MatMul" and len(n.input) == 2 else None
        if w is None or len(w.dims) != 2 or w.data_type != TensorProto.FLOAT or (only and not only(w.name)):
            new_nodes.append(n)
            continue
        base = n.input[1]
        if base not in done:
            weights = numpy_helper.to_array(w).astype(np.float32)
            amax = np.abs(weights).max(axis=0)
            scale = np.where(amax > 0, amax / float(limit), 1.0).astype(np.float32)
            q = np.clip(np.rint(weights / scale), -limit, limit).astype(np.int8)
            model.graph.initializer.extend(
                [numpy_helper.from_array(q, base + "_s8"), numpy_helper.from_array(scale, base + "_scale")]
            )
            done.add(base)
        new_nodes.append(
            helper.make_node(
                "DynamicQuantizeMatMul",
                [n.input[0], base + "_s8", base + "_scale"],
                list(n.output),
                name=(n.name or base) + "_int8",
                domain="com.microsoft",
            )
        )
        count += 1
    del model.graph.node[:]
    model.graph.node.extend(new_nodes)
    keep = [i for i in model.graph.initializer if i.name not in done]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return count


def set_key_dims(value_info):
    """[batch, 8, frames, 52] -> [batch, 8, 52, frames]."""
    dims = value_info.type.tensor_type.shape.dim
    heads_dim = dims[3].dim_value
    dims[2].Clear()
    dims[2].dim_value = heads_dim
    dims[3].Clear()
    dims[3].dim_param = "encoder_sequence_length_out"


def rewrite_branch(graph, layers, first_step):
    """Cross-attention key layout and padding bias in one If branch."""
    nodes = list(graph.node)
    producer = {o: n for n in nodes for o in n.output}
    consumers = {}
    for n in nodes:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    drop = set()
    for layer in range(layers):
        prefix = f"/model/decoder/layers.{layer}/encoder_attn/"
        key = f"present.{layer}.encoder.key" if first_step else f"past_key_values.{layer}.encoder.key"
        if first_step:
            # The branch computes K, transposes and scales it for the
            # attention, and separately transposes K for the cache output:
            # output the attention's form instead.
            drop.add(id(producer[key]))
            scaled = producer[prefix + "Mul_1_output_0"]
            assert scaled.op_type == "Mul", scaled
            old = scaled.output[0]
            for n in consumers[old]:
                n.input[:] = [key if x == old else x for x in n.input]
            scaled.output[0] = key
        else:
            # past key -> Transpose -> Mul(scale) -> MatMul: feed the MatMul.
            (transpose,) = consumers[key]
            (mul,) = consumers[transpose.output[0]]
            assert transpose.op_type == "Transpose" and mul.op_type == "Mul", (transpose.op_type, mul.op_type)
            for n in consumers[mul.output[0]]:
                n.input[:] = [key if x == mul.output[0] else x for x in n.input]
            drop |= {id(transpose), id(mul)}
        softmax = producer[prefix + "Softmax_output_0"]
        masked = prefix + "PaddingBias_output_0"
        add = helper.make_node("Add", [softmax.input[0], BIAS], [masked], name=prefix + "PaddingBias")
        softmax.input[0] = masked
        nodes.insert(nodes.index(softmax), add)
    kept = [n for n in nodes if id(n) not in drop]
    del graph.node[:]
    graph.node.extend(kept)


def rewrite_decoder(model):
    (if_node,) = [n for n in model.graph.node if n.op_type == "If"]
    layers = sum(1 for i in model.graph.input if i.name.endswith(".decoder.key"))
    branches = {a.name: a.g for a in if_node.attribute}
    # use_cache_branch true -> then_branch (with past), false -> else_branch.
    rewrite_branch(branches["else_branch"], layers, first_step=True)
    rewrite_branch(branches["then_branch"], layers, first_step=False)
    for vi in model.graph.input:
        if vi.name.endswith(".encoder.key"):
            set_key_dims(vi)
    # The with-past branch returns empty placeholders for the encoder cache:
    # leave those outputs' shapes open.
    for vi in model.graph.output:
        if ".encoder." in vi.name:
            dims = vi.type.tensor_type.shape.dim
            for i, name in ((2, "encoder_cache_dim2"), (3, "encoder_cache_dim3")):
                dims[i].Clear()
                dims[i].dim_param = name
    for g in branches.values():
        for vi in g.output:
            if vi.name.endswith(".encoder.key") and vi.type.tensor_type.HasField("shape"):
                vi.type.tensor_type.ClearField("shape")
    model.graph.input.append(
        helper.make_tensor_value_info(BIAS, TensorProto.FLOAT, ["batch_size", 1, 1, "encoder_sequence_length_out"])
    )
    # The output projection multiplies by the transposed token embedding,
    # which the export transposes inside each branch (ORT would fold that
    # into a second 54 MB copy per branch): multiply by the embedding itself
    # with Gemm(transB=1) instead, over the rows flattened to 2-D.
    outer = {i.name: i for i in model.graph.initializer}
    shape_2d = "panelflow_rows_by_hidden"
    model.graph.initializer.append(numpy_helper.from_array(np.array([-1, 0], np.int64), shape_2d))
    for g in branches.values():
        producer = {o: n for n in g.node for o in n.output}
        kept = []
        for n in g.node:
            if n.op_type == "Transpose" and not n.attribute and len(n.input) == 1 and n.input[0] in outer:
                continue
            t = producer.get(n.input[1]) if n.op_type == "MatMul" and len(n.input) == 2 else None
            if t is not None and t.op_type == "Transpose" and not t.attribute and t.input[0] in outer:
                weight = t.input[0]
                hidden = outer[weight].dims[1]
                x, out = n.input[0], n.output[0]
                p = n.name or out
                flat_shape = p + "_flat_shape"
                kept.append(helper.make_node("Constant", [], [flat_shape], name=flat_shape,
                                             value=numpy_helper.from_array(np.array([-1, hidden], np.int64))))
                kept.append(helper.make_node("Reshape", [x, flat_shape], [p + "_rows"], name=p + "_rows"))
                kept.append(helper.make_node("Gemm", [p + "_rows", weight], [p + "_gemm"], name=p + "_gemm", transB=1))
                kept.append(helper.make_node("Shape", [x], [p + "_xshape_all"], name=p + "_xshape_all"))
                for suffix, value in (("_zero", 0), ("_minus_one", -1)):
                    kept.append(helper.make_node("Constant", [], [p + suffix], name=p + suffix,
                                                 value=numpy_helper.from_array(np.array([value], np.int64))))
                kept.append(helper.make_node("Slice", [p + "_xshape_all", p + "_zero", p + "_minus_one"],
                                             [p + "_xshape"], name=p + "_xshape"))
                kept.append(helper.make_node("Constant", [], [p + "_vocab"], name=p + "_vocab",
                                             value=numpy_helper.from_array(np.array([outer[weight].dims[0]], np.int64))))
                kept.append(helper.make_node("Concat", [p + "_xshape", p + "_vocab"], [p + "_oshape"], name=p + "_oshape", axis=0))
                kept.append(helper.make_node("Reshape", [p + "_gemm", p + "_oshape"], [out], name=p + "_unflatten"))
                continue
            kept.append(n)
        del g.node[:]
        g.node.extend(kept)
    model.graph.initializer.remove(next(i for i in model.graph.initializer if i.name == shape_2d))
    model.graph.name = model.graph.name or "moonshine_decoder"
    onnx.checker.check_model(model)
    return layers


def session(model_or_path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    src = model_or_path if isinstance(model_or_path, str) else model_or_path.SerializeToString()
    return ort.InferenceSession(src, opts, providers=["CPUExecutionProvider"])


def check_decoder(original_path, rewritten_path, layers):
    """Greedy-decode a few steps of random 'encoder states' with both models,
    one padded batch row included; logits must agree."""
    rng = np.random.default_rng(7)
    old, new = session(original_path), session(rewritten_path)
    hidden = rng.standard_normal((2, 30, 416)).astype(np.float32)
    frames = [30, 21]  # row 1 is padded to 30 in the batched call
    names_old = [o.name for o in old.get_outputs()]
    names_new = [o.name for o in new.get_outputs()]

    def run(sess, names, feeds):
        return dict(zip(names, sess.run(None, feeds)))

    for row in range(2):
        t = frames[row]
        f_old = {"encoder_hidden_states": hidden[row : row + 1, :t]}
        for layer in range(layers):
            for kind in ("decoder", "encoder"):
                for kv in ("key", "value"):
                    f_old[f"past_key_values.{layer}.{kind}.{kv}"] = np.zeros((1, 8, 0, 52), np.float32)
        ids = np.array([[1]], np.int64)
        for step in range(3):
            f_old["input_ids"] = ids
            f_old["use_cache_branch"] = np.array([step > 0])
            r_old = run(old, names_old, f_old)
            if step == 0:
                # The batched call: both rows, row 1 padded with zeros.
                padded = np.zeros((2, 30, 416), np.float32)
                bias = np.zeros((2, 1, 1, 30), np.float32)
                for i, n in enumerate(frames):
                    padded[i, :n] = hidden[i, :n]
                    bias[i, 0, 0, n:] = MASKED
                f_new = {"encoder_hidden_states": padded, BIAS: bias}
                for layer in range(layers):
                    for kv in ("key", "value"):
                        f_new[f"past_key_values.{layer}.decoder.{kv}"] = np.zeros((2, 8, 0, 52), np.float32)
                    f_new[f"past_key_values.{layer}.encoder.key"] = np.zeros((2, 8, 52, 0), np.float32)
                    f_new[f"past_key_values.{layer}.encoder.value"] = np.zeros((2, 8, 0, 52), np.float32)
                batch_ids = np.ones((2, 1), np.int64)
                new_steps = []
                for s in range(3):
                    f_new["input_ids"] = batch_ids
                    f_new["use_cache_branch"] = np.array([s > 0])
                    r_new = run(new, names_new, f_new)
                    new_steps.append(r_new["logits"])
                    batch_ids = np.full((2, 1), 5 + s, np.int64)
                    for layer in range(layers):
                        for kv in ("key", "value"):
                            f_new[f"past_key_values.{layer}.decoder.{kv}"] = r_new[f"present.{layer}.decoder.{kv}"]
                            if s == 0:
                                f_new[f"past_key_values.{layer}.encoder.{kv}"] = r_new[f"present.{layer}.encoder.{kv}"]
            diff = np.abs(r_old["logits"][0] - new_steps[step][row]).max()
            if not diff < 1e-3:
                raise SystemExit(f"rewritten decoder differs from the original: row {row} step {step} max |diff| {diff}")
            for layer in range(layers):
                for kv in ("key", "value"):
                    f_old[f"past_key_values.{layer}.decoder.{kv}"] = r_old[f"present.{layer}.decoder.{kv}"]
                    if step == 0:
                        f_old[f"past_key_values.{layer}.encoder.{kv}"] = r_old[f"present.{layer}.encoder.{kv}"]
            ids = np.array([[5 + step]], np.int64)


def encoder_error(float_path, int8_path):
    rng = np.random.default_rng(3)
    audio = (0.1 * rng.standard_normal((1, 32000))).astype(np.float32)
    a = session(float_path).run(None, {"input_values": audio})[0]
    b = session(int8_path).run(None, {"input_values": audio})[0]
    return float(np.abs(a - b).mean() / max(np.abs(a).mean(), 1e-9))


#: The int8 encoder is kept only when it stays this close to the float one.
MAX_INT8_ERROR = 0.25


def quantize_encoder(plain_path, tmp_path):
    """The fastest encoder that stays close to the float one on this CPU:
    full-range int8, else reduced-range int8, else the float model."""
    for limit in (127, 63):
        model = onnx.load(plain_path)
        count = quantize_matmuls_dynamic(model, limit)
        onnx.save(model, tmp_path)
        rel = encoder_error(plain_path, tmp_path)
        if rel < MAX_INT8_ERROR:
            return {"int8_matmuls": count, "int8_weight_limit": limit, "int8_mean_relative_error": round(rel, 5)}
        print(f"int8 encoder (weights within +-{limit}) strays from the float one on this CPU: "
              f"mean relative error {rel:.3f}", file=sys.stderr)
    os.replace(plain_path, tmp_path)
    print("keeping the float encoder", file=sys.stderr)
    return {"int8_matmuls": 0}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    src_dir, dst_dir = sys.argv[1], sys.argv[2]
    os.makedirs(dst_dir, exist_ok=True)
    manifest = {"model": "moonshine-base-en", "source": "PyPI moonshine-cpp==0.1.4", "format": FORMAT, "files": {}}
    for name in ("encoder_model", "decoder_model_merged"):
        src = os.path.join(src_dir, name + ".ort")
        # Work files are private to this run; each result replaces the old
        # file in one rename, so a process loading the folder meanwhile sees
        # either file whole (the engine reads both formats).
        tag = f".{os.getpid()}.tmp"
        raw = os.path.join(dst_dir, name + ".raw.onnx" + tag)
        plain = os.path.join(dst_dir, name + ".plain.onnx" + tag)
        tmp = os.path.join(dst_dir, name + ".onnx" + tag)
        dst = os.path.join(dst_dir, name + ".onnx")
        export_plain_onnx(src, raw)
        model = onnx.load(raw)
        os.remove(raw)
        fold_constants(model.graph, {})
        name_subgraphs(model.graph, name)
        onnx.save(model, plain)
        entry = {"source_sha256": sha256(src)}
        if name == "encoder_model":
            entry.update(quantize_encoder(plain, tmp))
        else:
            layers = rewrite_decoder(model)
            onnx.save(model, tmp)
            check_decoder(plain, tmp, layers)
            entry["encoder_key_layout"] = "batch,heads,head_dim,frames (pre-scaled)"
            entry["inputs_added"] = [BIAS]
        if os.path.exists(plain):
            os.remove(plain)
        entry["sha256"] = sha256(tmp)
        os.replace(tmp, dst)
        manifest["files"][name + ".onnx"] = entry
    tmp = os.path.join(dst_dir, f"manifest.json.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
    os.replace(tmp, os.path.join(dst_dir, "manifest.json"))


if __name__ == "__main__":
    main()
