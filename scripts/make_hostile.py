#!/usr/bin/env python3
"""Generate the hostile-input matrix in tests/hostile/ (see tests/hostile/README.md).

    .venv/bin/python scripts/make_hostile.py

Deterministic: rerunning it rewrites byte-identical files. It writes

  tests/hostile/models/*.onnx       hostile ONNX models (+ models/manifest.json, the manifest
                                    they are loaded with: 32x32 gray NCHW, 10 classes)
  tests/hostile/images/*            truncated / corrupt / oversized PNG and JPEG files
  tests/hostile/manifests/*.json    malformed manifests
  tests/hostile/options/*.json      malformed ScoreOptions / LoadOptions
  tests/hostile/requests/*.json     queue / consensus / triage requests with hostile indices,
                                    class numbers, iteration counts and tolerances
  tests/hostile/tables/*            malformed tables and requests for the CLI
  tests/hostile/cases.json          every case: category, what is called, file, expected code
  tests/hostile/cases.rs            the same cases with their bytes compiled in (include_bytes),
                                    so tests/hostile.rs runs natively and in Chromium

  tests/hostile/dicom/*.dcm          DICOM Part 10 files cut, lying about lengths, sizes,
                                    attributes, transfer syntaxes and pixel data

Needs numpy, onnx and pillow (scripts/requirements.txt), and pydicom
(scripts/requirements-dicom.txt).
"""

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "hostile"
SAMPLES = ROOT / "tests" / "fixtures" / "digits" / "samples"
OPSET = 13
IR = 8
RNG = np.random.default_rng(20261201)

cases = []


def case(category, call, file, expect, what, **extra):
    c = {"category": category, "call": call, "file": file, "expect": expect, "what": what}
    c.update(extra)
    cases.append(c)


def write(rel, data):
    p = OUT / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    p.write_bytes(data)


# --------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------

X = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 32, 32])
# the weights are a 32x10 block tiled 32 times (so each model file stays small)
W = numpy_helper.from_array((RNG.standard_normal((32, 10)) * 0.05).astype(np.float32), "Wb")
WREPS = numpy_helper.from_array(np.array([32, 1], dtype=np.int64), "Wreps")
B = numpy_helper.from_array(np.zeros(10, np.float32), "B")


def const_i64(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def const_f32(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.float32), name)


def base_nodes(out="logits0"):
    """image [N,1,32,32] -> Flatten -> MatMul W + B -> `out` [N,10]."""
    return [
        helper.make_node("Tile", ["Wb", "Wreps"], ["W"]),
        helper.make_node("Flatten", ["image"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "W"], ["mm"]),
        helper.make_node("Add", ["mm", "B"], [out]),
    ]


# models that made tract panic while loading (a trap in wasm) are refused by our own pass over
# the protobuf (src/engine/onnx_check.rs) before tract sees them, so they run in wasm too


def model(name, nodes, inits, inputs=None, outputs=None, what="", expect="ok", **extra):
    outputs = outputs or [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])]
    g = helper.make_graph(nodes, name, inputs or [X], outputs, initializer=[W, WREPS, B] + inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = IR
    data = m.SerializeToString()
    write(f"models/{name}.onnx", data)
    case("models", "load_and_score", f"models/{name}.onnx", expect, what, **extra)
    return data


def mean_index(prefix, scale, offset):
    """Nodes computing an int64 [N] index floor(mean(image) * scale + offset) per image."""
    return [
        helper.make_node("ReduceMean", ["image"], [f"{prefix}m"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Mul", [f"{prefix}m", f"{prefix}s"], [f"{prefix}ms"]),
        helper.make_node("Add", [f"{prefix}ms", f"{prefix}o"], [f"{prefix}mo"]),
        helper.make_node("Floor", [f"{prefix}mo"], [f"{prefix}f"]),
        helper.make_node("Cast", [f"{prefix}f"], [f"{prefix}i"], to=TensorProto.INT64),
    ], [const_f32(f"{prefix}s", scale), const_f32(f"{prefix}o", offset)]


def make_models():
    manifest = {
        "name": "hostile",
        "input": {"width": 32, "height": 32, "layout": "nchw", "channels": "gray",
                  "mean": [0.5], "std": [0.5], "resize": {"mode": "stretch"}},
        "output": {"kind": "logits", "classes": [str(i) for i in range(10)], "name": "logits"},
    }
    write("models/manifest.json", json.dumps(manifest, indent=1))

    # the control: a plain model that loads and scores
    good = model("good", base_nodes("logits"), [], what="the control: Flatten + MatMul, loads and scores")

    # Gather whose index depends on the image: floor(mean*10 + 5) indexes a 5-long table. The
    # digits samples (normalized mean -0.28..-0.50) give 0..2; v_color.png (+0.37) gives 8:
    # out of range, a panic inside tract at inference. The fixture package's worker pool uses it.
    n, i = mean_index("g", 10.0, 5.0)
    model("gather_oob", base_nodes() + n + [
        helper.make_node("Gather", ["table", "gi"], ["gv"], axis=0),
        helper.make_node("Unsqueeze", ["gv", "ax1"], ["gu"]),
        helper.make_node("Mul", ["gu", "tiny"], ["gz"]),
        helper.make_node("Add", ["logits0", "gz"], ["logits"]),
    ], i + [const_f32("table", [1, 2, 3, 4, 5]), const_i64("ax1", [1]), const_f32("tiny", [1e-30])],
        what="Gather with an index computed from the image: out of range (tract panics) for "
             "v_color.png only",
        expect="ok", fails_on={"v_color.png": "inference_panicked"})

    # integer division by floor(mean*10 + 5): zero for normalized means in (-0.5, -0.4]
    n, i = mean_index("d", 10.0, 5.0)
    model("div_zero", base_nodes() + n + [
        helper.make_node("Div", ["hundred", "di"], ["dq"]),
        helper.make_node("Cast", ["dq"], ["dqf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["dqf", "ax1"], ["du"]),
        helper.make_node("Mul", ["du", "tiny"], ["dz"]),
        helper.make_node("Add", ["logits0", "dz"], ["logits"]),
    ], i + [const_i64("hundred", 100), const_i64("ax1", [1]), const_f32("tiny", [1e-30])],
        what="int64 Div whose divisor is floor(mean*10 + 5): zero (tract's error) for images "
             "with a normalized mean in (-0.5, -0.4]",
        expect="ok", fails_on={"d11_label6.png": "inference", "d18_label3.png": "inference"})

    def plus(extra_nodes, out):
        """base logits + 0 * sum(out) so `out` is computed."""
        return base_nodes() + extra_nodes + [
            helper.make_node("ReduceSum", [out], ["rs"], keepdims=0),
            helper.make_node("Mul", ["rs", "zero"], ["rz"]),
            helper.make_node("Add", ["logits0", "rz"], ["logits"]),
        ]

    zero = const_f32("zero", [0.0])
    model("tile_huge", plus([helper.make_node("Tile", ["image", "reps"], ["t"])], "t"),
          [zero, const_i64("reps", [1, 1, 100000, 100000])],
          what="Tile of the image by 10^5 x 10^5: ~4e13 bytes per image", expect="invalid_model")
    model("expand_huge", plus([helper.make_node("Expand", ["image", "shp"], ["e"])], "e"),
          [zero, const_i64("shp", [1, 1000000, 32, 32])],
          what="Expand of the image to [N, 10^6, 32, 32]", expect="invalid_model")
    model("const_of_shape_huge",
          plus([helper.make_node("ConstantOfShape", ["cs"], ["c"],
                                 value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0]))], "c"),
          [zero, const_i64("cs", [10000000, 10000000])],
          what="ConstantOfShape [10^7, 10^7] (evaluated eagerly while analysing)",
          expect="invalid_model")
    model("pad_huge", plus([helper.make_node("Pad", ["image", "pads"], ["p"])], "p"),
          [zero, const_i64("pads", [0, 0, 0, 0, 0, 0, 1000000, 1000000])],
          what="Pad of 10^6 x 10^6 pixels", expect="invalid_model")
    model("resize_huge", plus([helper.make_node("Resize", ["image", "", "scales"], ["r"])], "r"),
          [zero, const_f32("scales", [1, 1, 10000, 10000])],
          what="Resize by 10^4 x 10^4", expect="invalid_model")
    model("gather_const_oob", plus([helper.make_node("Gather", ["table", "ix"], ["g"])], "g"),
          [zero, const_f32("table", [1, 2, 3]), const_i64("ix", [7])],
          what="Gather of constants with a constant out-of-range index (evaluated while "
               "analysing)", expect="invalid_model")

    xb = helper.make_tensor_value_info("image", TensorProto.FLOAT, [100000000, 1, 32, 32])
    model("batch_1e8", base_nodes("logits"), [], inputs=[xb],
          outputs=[helper.make_tensor_value_info("logits", TensorProto.FLOAT, [100000000, 10])],
          what="a fixed batch dimension of 10^8 (its input tensor alone is 400 GB)",
          expect="invalid_model")
    model("int64_output", base_nodes() + [
        helper.make_node("Cast", ["logits0"], ["logits"], to=TensorProto.INT64)], [],
        outputs=[helper.make_tensor_value_info("logits", TensorProto.INT64, ["N", 10])],
        what="class scores as int64", expect="shape_mismatch", message_has="int64",
        message_lacks="TDim")

    # nested If, 100 deep
    def nested_if(depth):
        if depth == 0:
            return helper.make_graph(
                [helper.make_node("Identity", ["logits0"], [f"y{depth}"])], f"leaf{depth}", [],
                [helper.make_tensor_value_info(f"y{depth}", TensorProto.FLOAT, ["N", 10])])
        sub = nested_if(depth - 1)
        leaf = helper.make_graph(
            [helper.make_node("Identity", ["logits0"], [f"e{depth}"])], f"else{depth}", [],
            [helper.make_tensor_value_info(f"e{depth}", TensorProto.FLOAT, ["N", 10])])
        return helper.make_graph(
            [helper.make_node("If", ["cond"], [f"y{depth}"], then_branch=sub, else_branch=leaf)],
            f"g{depth}", [],
            [helper.make_tensor_value_info(f"y{depth}", TensorProto.FLOAT, ["N", 10])])
    top = nested_if(30)
    model("nested_if_30", base_nodes() + [
        helper.make_node("If", ["cond"], ["logits"], then_branch=top,
                         else_branch=nested_if(0))],
        [numpy_helper.from_array(np.array(True), "cond")],
        what="If nested 30 deep", expect="invalid_model", message_max=600)

    huge = TensorProto(name="H", data_type=TensorProto.FLOAT, dims=[1000000, 1000000])
    model("initializer_declared_huge", plus([helper.make_node("Identity", ["H"], ["h"])], "h"),
          [zero, huge], what="an initializer declaring [10^6, 10^6] floats with no data",
          expect="invalid_model")
    short = TensorProto(name="S", data_type=TensorProto.FLOAT, dims=[1000], raw_data=b"\0" * 12)
    model("initializer_short_data", plus([helper.make_node("Identity", ["S"], ["s"])], "s"),
          [zero, short], what="an initializer of 1000 floats holding 3", expect="invalid_model")
    ext = TensorProto(name="E", data_type=TensorProto.FLOAT, dims=[10],
                      data_location=TensorProto.EXTERNAL)
    ext.external_data.add(key="location", value="../../../../etc/passwd")
    model("external_data", plus([helper.make_node("Identity", ["E"], ["ex"])], "ex"), [zero, ext],
          what="an initializer pointing at an external file", expect="invalid_model")
    neg = TensorProto(name="Ng", data_type=TensorProto.FLOAT, dims=[-5])
    model("negative_dim", plus([helper.make_node("Identity", ["Ng"], ["ng"])], "ng"), [zero, neg],
          what="an initializer with a negative dimension", expect="invalid_model")

    xi = helper.make_tensor_value_info("image", TensorProto.INT64, ["N", 1, 32, 32])
    model("int_input", [helper.make_node("Tile", ["Wb", "Wreps"], ["W"]),
                        helper.make_node("Cast", ["image"], ["imf"], to=TensorProto.FLOAT),
                        helper.make_node("Flatten", ["imf"], ["flat"], axis=1),
                        helper.make_node("MatMul", ["flat", "W"], ["mm"]),
                        helper.make_node("Add", ["mm", "B"], ["logits"])], [], inputs=[xi],
          what="an int64 image input", expect="shape_mismatch")
    x5 = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 1, 32, 32])
    model("rank5_input", base_nodes("logits"), [], inputs=[x5], what="a rank-5 input",
          expect="shape_mismatch")
    x2 = helper.make_tensor_value_info("other", TensorProto.FLOAT, ["N", 1, 32, 32])
    model("two_inputs", [helper.make_node("Tile", ["Wb", "Wreps"], ["W"]),
                         helper.make_node("Add", ["image", "other"], ["s2"]),
                         helper.make_node("Flatten", ["s2"], ["flat"], axis=1),
                         helper.make_node("MatMul", ["flat", "W"], ["mm"]),
                         helper.make_node("Add", ["mm", "B"], ["logits"])], [], inputs=[X, x2],
          what="two inputs and no input.name", expect="shape_mismatch")
    w7 = numpy_helper.from_array(np.zeros((1, 7), np.float32), "W7")
    model("seven_classes", [helper.make_node("Flatten", ["image"], ["flat"], axis=1),
                            helper.make_node("ReduceSum", ["flat", "ax1"], ["fs"]),
                            helper.make_node("MatMul", ["fs", "W7"], ["logits"])],
          [w7, const_i64("ax1", [1])],
          outputs=[helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 7])],
          what="7 class scores for 10 classes", expect="shape_mismatch")
    model("unknown_op", base_nodes() + [helper.make_node("FooBar", ["logits0"], ["logits"])], [],
          what="an operator nobody knows", expect="invalid_model")
    model("matmul_mismatch", [helper.make_node("Tile", ["Wb", "Wreps"], ["W"]),
                              helper.make_node("MatMul", ["image", "W"], ["logits"])], [],
          what="MatMul of [N,1,32,32] by [1024,10]", expect="invalid_model")
    model("reshape_bad", base_nodes() + [helper.make_node("Reshape", ["logits0", "rs_shape"],
                                                           ["logits"])],
          [const_i64("rs_shape", [7, 3])], what="Reshape of [N,10] to [7,3]",
          expect="invalid_model")
    for op, attrs, what in [
        ("Transpose", {"perm": [0, 5]}, "Transpose with an axis out of range"),
        ("Softmax", {"axis": 100}, "Softmax over axis 100 (tract accepts it: control)"),
        ("Flatten", {"axis": 10}, "Flatten at axis 10"),
        ("Squeeze", {}, "Squeeze of a non-1 axis"),
        ("Concat", {"axis": 9}, "Concat along axis 9"),
        ("Split", {"axis": 7}, "Split along axis 7"),
        ("ReduceMean", {"axes": [42]}, "ReduceMean over axis 42"),
        ("Gather", {"axis": 6}, "Gather along axis 6"),
        ("LRN", {"size": 0}, "LRN of size 0 (tract would panic on every image)"),
        ("DepthToSpace", {"blocksize": 0}, "DepthToSpace with block size 0"),
    ]:
        ins = ["logits0"] + (["ix0"] if op == "Gather" else []) + (["sq_axes"] if op == "Squeeze" else [])
        extra_inits = [const_i64("ix0", [0])] if op == "Gather" else []
        if op == "Squeeze":
            extra_inits = [const_i64("sq_axes", [1])]
        model(f"bad_{op.lower()}", base_nodes() + [helper.make_node(op, ins, ["logits"], **attrs)],
              extra_inits, what=what, expect="ok" if "control" in what else "invalid_model")
    # more attributes tract trusts (each one panicked its loader before the pass)
    for name, op, attrs, ins, inits, what in [
        ("bad_unsqueeze", "Unsqueeze", {}, ["logits0", "uq_axes"], [const_i64("uq_axes", [9])],
         "Unsqueeze at axis 9 of a rank-2 tensor"),
        ("bad_argmax", "ArgMax", {"axis": 7}, ["logits0"], [], "ArgMax along axis 7"),
        ("bad_transpose_repeat", "Transpose", {"perm": [1, 1]}, ["logits0"], [],
         "Transpose with perm [1, 1] (an axis twice)"),
        ("bad_reducesum_axes", "ReduceSum", {"keepdims": 1}, ["logits0", "rs_axes"],
         [const_i64("rs_axes", [-3])], "ReduceSum over axis -3 of a rank-2 tensor"),
        ("bad_concat_neg", "Concat", {"axis": -3}, ["logits0", "logits0"], [],
         "Concat along axis -3 of rank-2 tensors"),
    ]:
        model(name, base_nodes() + [helper.make_node(op, ins, ["logits"], **attrs)], inits,
              what=what, expect="invalid_model")
    model("gather_const_oob_negative",
          plus([helper.make_node("Gather", ["table", "ix"], ["g"])], "g"),
          [zero, const_f32("table", [1, 2, 3]), const_i64("ix", [-4])],
          what="Gather of constants at index -4 of 3", expect="invalid_model")
    model("range_huge",
          plus([helper.make_node("Range", ["r0", "r1", "r2"], ["ri"]),
                helper.make_node("Cast", ["ri"], ["r"], to=TensorProto.FLOAT)], "r"),
          [zero, const_i64("r0", 0), const_i64("r1", 10**12), const_i64("r2", 1)],
          what="Range of constants 0..10^12 (8 TB, computed while analysing)",
          expect="invalid_model")
    model("range_step_zero",
          plus([helper.make_node("Range", ["r0", "r1", "r2"], ["ri"]),
                helper.make_node("Cast", ["ri"], ["r"], to=TensorProto.FLOAT)], "r"),
          [zero, const_i64("r0", 0), const_i64("r1", 10), const_i64("r2", 0)],
          what="Range with step 0 (never ends)", expect="invalid_model")

    # Scan: its body runs once per entry of the scanned axis; tract has no Loop
    def scan_body(name, inner=None):
        s_in = helper.make_tensor_value_info(f"{name}_s", TensorProto.FLOAT, [10])
        x = helper.make_tensor_value_info(f"{name}_x", TensorProto.FLOAT, [10])
        out = helper.make_tensor_value_info(f"{name}_o", TensorProto.FLOAT, [10])
        nodes, inits = [], []
        src = f"{name}_s"
        if inner is not None:
            body, trips = inner
            data = numpy_helper.from_array(np.zeros((trips, 10), np.float32), f"{name}_in")
            inits.append(data)
            nodes.append(helper.make_node("Scan", [src, f"{name}_in"], [f"{name}_m"], body=body,
                                          num_scan_inputs=1))
            src = f"{name}_m"
        nodes.append(helper.make_node("Add", [src, f"{name}_x"], [f"{name}_o"]))
        return helper.make_graph(nodes, f"{name}_body", [s_in, x], [out], initializer=inits)

    def scan_model(name, trips, what, expect, inner=None, const_of_shape=False):
        init = const_f32("s0", [0.0] * 10)
        nodes = []
        inits = [init, zero]
        if const_of_shape:
            inits.append(const_i64("sshape", [trips, 10]))
            nodes.append(helper.make_node("ConstantOfShape", ["sshape"], ["sdata"],
                                          value=helper.make_tensor("v", TensorProto.FLOAT, [1],
                                                                   [0.5])))
        else:
            inits.append(numpy_helper.from_array(np.full((trips, 10), 0.5, np.float32), "sdata"))
        nodes.append(helper.make_node("Scan", ["s0", "sdata"], ["sfinal"],
                                      body=scan_body(f"{name}b", inner), num_scan_inputs=1))
        model(name, plus(nodes, "sfinal"), inits, what=what, expect=expect)

    scan_model("scan_control", 4, "a Scan of 4 steps summing constant rows (control)", "ok")
    scan_model("scan_long", 10**6, "a Scan of 10^6 steps over ConstantOfShape([10^6, 10])",
               "invalid_model", const_of_shape=True)
    scan_model("scan_nested", 400, "a Scan of 400 steps whose body scans 400 steps "
               "(160,000 runs of the inner body)", "invalid_model",
               inner=(scan_body("inner"), 400))
    scan_axis = helper.make_node("Scan", ["s0", "sdata"], ["sfinal"], body=scan_body("axb"),
                                 num_scan_inputs=1, scan_input_axes=[5])
    model("scan_bad_axis", plus([scan_axis], "sfinal"),
          [const_f32("s0", [0.0] * 10), zero,
           numpy_helper.from_array(np.zeros((4, 10), np.float32), "sdata")],
          what="a Scan along axis 5 of a rank-2 input", expect="invalid_model")

    wc = numpy_helper.from_array(np.zeros((4, 1, 3, 3), np.float32), "WC")
    model("conv_group_zero", [helper.make_node("Tile", ["Wb", "Wreps"], ["W"]),
                              helper.make_node("Conv", ["image", "WC"], ["cv"], group=0),
                              helper.make_node("Flatten", ["cv"], ["flat"], axis=1),
                              helper.make_node("MatMul", ["flat", "W"], ["logits"])], [wc],
          what="Conv with group 0", expect="invalid_model")
    model("conv_kernel_too_big",
          [helper.make_node("Tile", ["Wb", "Wreps"], ["W"]),
           helper.make_node("Conv", ["image", "WK"], ["cv"]),
           helper.make_node("Flatten", ["cv"], ["flat"], axis=1),
           helper.make_node("MatMul", ["flat", "W"], ["logits"])],
          [numpy_helper.from_array(np.zeros((1, 1, 40, 40), np.float16).astype(np.float32), "WK")],
          what="Conv whose 64x64 kernel is larger than the 32x32 image", expect="invalid_model")
    # tract tiles axis by axis: a repeat of 0 on the last axis leaves an empty output, but the
    # step before it is allocated whole
    model("tile_zero_last_const", [helper.make_node("Tile", ["Wb", "Wz"], ["W0"])] + base_nodes("logits"),
          [const_i64("Wz", [1560281120, 0])],
          what="Tile of a constant [32,10] by [1560281120, 0]: an empty output after a 2 TB step; "
               "found by the fuzzer", expect="invalid_model")
    model("tile_zero_last_image",
          base_nodes("mb") + [helper.make_node("Tile", ["image", "Iz"], ["I0"]),
                              helper.make_node("ReduceSum", ["I0"], ["I0s"], keepdims=0),
                              helper.make_node("Add", ["mb", "I0s"], ["logits"])],
          [const_i64("Iz", [1, 1, 1000000, 0])],
          what="Tile of the image [N,1,32,32] by [1, 1, 10^6, 0]: empty, after a 4 GB step per image",
          expect="invalid_model")
    model("output_undefined", base_nodes("logiTs"), [],
          what="the graph output 'logits' produced by no node (the Add writes 'logiTs'): tract "
               "looked it up and panicked; found by the fuzzer", expect="invalid_model",
          message_has="produced by no operator")

    # raw bytes
    for k, cut in enumerate([0, 1, 2, 16, 64, 128, len(good) // 3, len(good) // 2,
                             len(good) - 100, len(good) - 1]):
        write(f"models/truncated_{k:02d}.onnx", good[:cut])
        case("models", "load_and_score", f"models/truncated_{k:02d}.onnx", "invalid_model",
             f"the control model cut to {cut} of {len(good)} bytes")
    write("models/garbage.onnx", RNG.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    case("models", "load_and_score", "models/garbage.onnx", "invalid_model", "4096 random bytes")
    write("models/empty_model.onnx", onnx.ModelProto(ir_version=IR).SerializeToString())
    case("models", "load_and_score", "models/empty_model.onnx", "invalid_model",
         "a ModelProto without a graph")
    # a length-delimited field claiming 2 GB
    write("models/huge_length.onnx", b"\x3a\xff\xff\xff\xff\x07" + b"\0" * 32)
    case("models", "load_and_score", "models/huge_length.onnx", "invalid_model",
         "a protobuf field whose length says 2 GB in a 38-byte file")


# --------------------------------------------------------------------------------------------
# images
# --------------------------------------------------------------------------------------------


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_ihdr(w, h, depth=8, colour=0):
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0)
    idat = zlib.compress(b"\0\0")
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + \
        png_chunk(b"IEND", b"")


def jpeg_bytes(img, **kw):
    b = io.BytesIO()
    img.save(b, format="JPEG", **kw)
    return b.getvalue()


def make_images():
    png = (SAMPLES / "d00_label3.png").read_bytes()
    digit = Image.open(SAMPLES / "d00_label3.png").convert("L")
    baseline = jpeg_bytes(digit, quality=90)
    progressive = jpeg_bytes(digit.resize((64, 64)), quality=90, progressive=True)
    colour = Image.open(SAMPLES / "v_color.png").convert("RGB")
    prog_rgb = jpeg_bytes(colour.resize((48, 48)), quality=85, progressive=True)
    write("images/good_baseline.jpg", baseline)
    write("images/good_progressive.jpg", progressive)
    write("images/good_progressive_rgb.jpg", prog_rgb)
    for f, what in [("good_baseline.jpg", "a complete baseline JPEG (control)"),
                    ("good_progressive.jpg", "a complete progressive JPEG (control)"),
                    ("good_progressive_rgb.jpg", "a complete progressive colour JPEG (control)")]:
        case("images", "score_batch", f"images/{f}", "ok", what)

    def truncations(name, data, step, what):
        cuts = sorted(set(list(range(0, len(data), step)) + [len(data) - 1, len(data) - 2]))
        for cut in cuts:
            rel = f"images/{name}_cut{cut:05d}.{'png' if name.startswith('png') else 'jpg'}"
            write(rel, data[:cut])
            case("images", "score_batch", rel, "image_decode",
                 f"{what} cut to {cut} of {len(data)} bytes")

    truncations("png", png, 8, "d00_label3.png")
    truncations("jpeg_baseline", baseline, 8, "a baseline JPEG")
    truncations("jpeg_progressive", progressive, 16, "a progressive JPEG")
    truncations("jpeg_progressive_rgb", prog_rgb, 24, "a progressive colour JPEG")

    def special(name, data, expect, what):
        write(f"images/{name}", data)
        case("images", "score_batch", f"images/{name}", expect, what)

    special("huge_header_100000.png", png_with_ihdr(100000, 100000), "image_too_large",
            "IHDR says 100000x100000")
    special("huge_header_16000.png", png_with_ihdr(16000, 16000), "image_too_large",
            "IHDR says 16000x16000 (within maxWidth/maxHeight; decoded + float copy > maxAlloc)")
    special("huge_header_16384x1.png", png_with_ihdr(16384, 1), "image_decode",
            "IHDR says 16384x1 with 1 pixel of data")
    special("zero_size.png", png_with_ihdr(0, 0), "image_decode", "IHDR says 0x0")
    special("bad_depth.png", png_with_ihdr(4, 4, depth=7), "image_decode", "bit depth 7")
    special("bad_colour_type.png", png_with_ihdr(4, 4, colour=5), "image_decode",
            "colour type 5")
    bad_crc = bytearray(png)
    bad_crc[40] ^= 0xFF
    special("flipped_byte_idat.png", bytes(bad_crc), "image_decode", "one byte of IDAT flipped")
    ihdr_first = png[:8] + png_chunk(b"tEXt", b"a\0b") + png[8:]
    special("text_before_ihdr.png", ihdr_first, "image_decode", "a tEXt chunk before IHDR")
    no_idat = png[:33] + png_chunk(b"IEND", b"")
    special("no_idat.png", no_idat, "image_decode", "IHDR then IEND")
    special("trailing_after_iend.png", png + b"garbage after the end", "ok",
            "bytes after IEND are ignored (control)")
    special("two_ihdr.png", png[:33] + png[8:], "image_decode", "IHDR twice")
    special("chunk_length_huge.png", png[:8] + b"\x7f\xff\xff\xff" + png[12:], "image_decode",
            "the IHDR length field says 2 GB")
    special("jpeg_trailing.jpg", baseline + b"\0" * 64, "ok",
            "bytes after EOI are ignored (control)")
    special("jpeg_no_eoi.jpg", baseline[:-2], "image_decode", "EOI marker removed")
    special("jpeg_two_soi.jpg", baseline[:2] + baseline, "image_decode", "SOI twice")
    special("jpeg_eoi_only.jpg", b"\xff\xd8\xff\xd9", "image_decode", "SOI then EOI")
    sof = baseline.find(b"\xff\xc0")
    big = bytearray(baseline)
    big[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)
    special("jpeg_sof_60000.jpg", bytes(big), "image_too_large", "SOF says 60000x60000")
    big[sof + 5:sof + 9] = struct.pack(">HH", 12000, 12000)
    special("jpeg_sof_12000.jpg", bytes(big), "image_too_large",
            "SOF says 12000x12000 (within maxWidth/maxHeight; the float copy > maxAlloc)")
    zero = bytearray(baseline)
    zero[sof + 5:sof + 9] = struct.pack(">HH", 0, 0)
    special("jpeg_sof_zero.jpg", bytes(zero), "image_decode", "SOF says 0x0")
    seglen = bytearray(baseline)
    seglen[4:6] = b"\xff\xff"
    special("jpeg_segment_too_long.jpg", bytes(seglen), "image_decode",
            "the first segment's length runs past the end")
    special("gif.gif", b"GIF89a" + b"\0" * 64, "image_decode", "a GIF header")
    special("bmp.bmp", b"BM" + b"\0" * 64, "image_decode", "a BMP header")
    special("webp.webp", b"RIFF\0\0\0\0WEBPVP8 " + b"\0" * 32, "image_decode", "a WebP header")
    special("tiff.tif", b"II*\0" + b"\0" * 64, "image_decode", "a TIFF header")
    special("text.png", b"this is not an image\n" * 10, "image_decode", "text")
    special("garbage.png", RNG.integers(0, 256, 2048, dtype=np.uint8).tobytes(), "image_decode",
            "2048 random bytes")
    special("png_signature_only.png", png[:8], "image_decode", "the PNG signature alone")
    # complete files whose scan data is corrupt: every marker in place, so only reading the
    # entropy-coded data through (src/engine/jpeg_scan.rs) tells; a decoder draws grey blocks
    def scan_span(data, nth=0):
        """(start, end) of the entropy-coded data of the nth scan."""
        i = -1
        for _ in range(nth + 1):
            i = data.index(b"\xff\xda", i + 1)
        start = i + 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
        j = start
        while not (data[j] == 0xFF and data[j + 1] not in (0x00,) and not 0xD0 <= data[j + 1] <= 0xD7):
            j += 1
        return start, j

    def cut_then_eoi(name, data, nth, fractions, what):
        start, end = scan_span(data, nth)
        for f in fractions:
            cut = start + int((end - start) * f)
            while data[cut - 1] == 0xFF:
                cut -= 1
            special(f"{name}_{int(f * 100):02d}.jpg", data[:cut] + b"\xff\xd9", "image_decode",
                    f"{what}: scan {nth + 1} cut at {int(f * 100)}% and the end-of-image marker "
                    "put right after it (a complete file)")

    cut_then_eoi("jpeg_scan_cut_eoi", baseline, 0, [0.1, 0.3, 0.5, 0.7, 0.9, 0.97],
                 "a baseline JPEG")
    cut_then_eoi("jpeg_prog_scan_cut_eoi", progressive, 0, [0.2, 0.5, 0.9], "a progressive JPEG")
    n_scans = prog_rgb.count(b"\xff\xda")
    cut_then_eoi("jpeg_prog_rgb_last_scan_cut_eoi", prog_rgb, n_scans - 1, [0.3, 0.8],
                 "a progressive colour JPEG (last scan)")
    start, end = scan_span(baseline)
    mid = (start + end) // 2
    special("jpeg_scan_ones_inserted.jpg", baseline[:mid] + b"\xff\x00" * 4 + baseline[mid:],
            "image_decode", "32 one-bits inserted mid-scan (no Huffman code is all ones)")
    special("jpeg_scan_ones_overwritten.jpg",
            baseline[:mid] + b"\xff\x00" * 4 + baseline[mid + 8:], "image_decode",
            "8 bytes mid-scan overwritten with one-bits")
    special("jpeg_scan_leftover.jpg", baseline[:end] + b"\x12\x34\x56\x78" + baseline[end:],
            "image_decode", "4 bytes of data after the last MCU")
    pstart, pend = scan_span(progressive, 1)
    pmid = (pstart + pend) // 2
    special("jpeg_prog_scan_ones.jpg",
            progressive[:pmid] + b"\xff\x00" * 4 + progressive[pmid + 8:], "image_decode",
            "a progressive JPEG: 8 bytes of scan 2 overwritten with one-bits")
    rst = jpeg_bytes(colour.resize((48, 48)), quality=90, restart_marker_rows=1)
    assert b"\xff\xdd" in rst, "no restart interval written"
    special("jpeg_restart_good.jpg", rst, "ok", "a JPEG with a restart marker every MCU row "
            "(control)")
    r0, r1 = rst.index(b"\xff\xd0"), rst.index(b"\xff\xd1")
    swapped = bytearray(rst)
    swapped[r0 + 1], swapped[r1 + 1] = 0xD1, 0xD0
    special("jpeg_restart_swapped.jpg", bytes(swapped), "image_decode",
            "restart markers RST0 and RST1 swapped")
    special("jpeg_restart_missing.jpg", rst[:r1] + rst[r1 + 2:], "image_decode",
            "one restart marker removed (two intervals run together)")
    special("jpeg_restart_interval_cut.jpg", rst[:r0 - 6] + rst[r0:], "image_decode",
            "the last 6 bytes of the first restart interval removed")

    # EXIF orientation 6 (rotate 90 clockwise) on a 40x20 JPEG: decoded as 20x40
    exif = Image.Exif()
    exif[0x0112] = 6
    wide = digit.resize((40, 20))
    special("exif_rotated.jpg", jpeg_bytes(wide, quality=90, exif=exif.tobytes()), "ok",
            "EXIF orientation 6 on a 40x20 JPEG (applied: scored as 20x40)")

    # raw RGBA buffers (the JS scoreRgba path): (width, height, bytes)
    for w, h, n, expect, what in [
        (32, 32, 32 * 32 * 4, "ok", "a correct 32x32 buffer (control)"),
        (32, 32, 32 * 32 * 4 - 1, "invalid_pixels", "one byte short"),
        (32, 32, 32 * 32 * 3, "invalid_pixels", "RGB instead of RGBA"),
        (0, 32, 0, "image_decode", "zero width"),
        (32, 0, 0, "image_decode", "zero height"),
        (100000, 1, 400000, "image_too_large", "wider than maxWidth"),
        (16384, 16384, 16, "image_too_large", "16384x16384 declared (float copy > maxAlloc)"),
        (4294967295, 4294967295, 16, "image_too_large", "u32::MAX x u32::MAX declared"),
        (16384, 1, 16384 * 4, "ok", "a 16384x1 strip (resized to 32x32)"),
    ]:
        case("images", "score_rgba", f"rgba:{w}x{h}:{n}", expect, what, width=w, height=h, len=n)


# --------------------------------------------------------------------------------------------
# manifests and options
# --------------------------------------------------------------------------------------------

BASE = json.loads((ROOT / "tests" / "fixtures" / "digits" / "manifest.json").read_text())
BASE.pop("sha256")
BASE["output"].pop("embedding")  # the hostile models have no embedding output


def make_manifests():
    n = 0

    def m(obj_or_text, what, expect="invalid_manifest"):
        nonlocal n
        text = obj_or_text if isinstance(obj_or_text, (str, bytes)) else json.dumps(obj_or_text)
        rel = f"manifests/m{n:03d}.json"
        n += 1
        write(rel, text)
        case("manifests", "manifest", rel, expect, what)

    def with_(path, value, what, expect="invalid_manifest", delete=False):
        o = json.loads(json.dumps(BASE))
        cur = o
        for p in path[:-1]:
            cur = cur[p]
        if delete:
            del cur[path[-1]]
        else:
            cur[path[-1]] = value
        m(o, what, expect)

    m(BASE, "the control manifest", "ok")
    with_(["input", "resize", "antialias"], True, "stretch with an unknown field (unit variant)")
    with_(["input", "resize"], {"mode": "shorterSideCrop", "shorterSide": 40, "x": 1},
          "shorterSideCrop with an unknown field")
    with_(["input", "resize"], {"mode": "zoom"}, "an unknown resize mode")
    with_(["input", "resize"], {}, "resize without a mode")
    with_(["input", "resize"], "stretch", "resize as a string")
    with_(["input", "resize"], {"mode": "shorterSideCrop", "shorterSide": -1},
          "a negative shorterSide")
    with_(["input", "resize"], {"mode": "shorterSideCrop", "shorterSide": 4294967296},
          "shorterSide above u32")
    with_(["input", "resize"], {"mode": "shorterSideCrop", "shorterSide": 100000},
          "shorterSide above 8192")
    for key in ["width", "height", "layout", "channels", "mean", "std", "resize"]:
        with_(["input", key], None, f"input.{key} removed", delete=True)
        with_(["input", key], {"nested": [1, 2]}, f"input.{key} as an object")
    for key in ["kind", "classes"]:
        with_(["output", key], None, f"output.{key} removed", delete=True)
    for path in [[], ["input"], ["output"]]:
        with_(path + ["unknownField"], 1, f"an unknown field at {'.'.join(path) or 'top level'}")
    for v, what in [(0, "width 0"), (8193, "width 8193"), (-32, "width -32"),
                    (1e300, "width 1e300"), (3.5, "width 3.5"), (4294967296, "width 2^32")]:
        with_(["input", "width"], v, what)
    with_(["input", "layout"], "nchwx", "an unknown layout")
    with_(["input", "channels"], "rgba", "channels rgba")
    with_(["input", "channels"], "rgb", "rgb with one mean and std")
    with_(["input", "mean"], [], "no mean")
    with_(["input", "std"], [0.0], "std 0")
    with_(["input", "std"], [-1.0], "std -1")
    with_(["input", "std"], ["0.5"], "std as a string")
    with_(["input", "mean"], [1e39], "mean beyond f32 (infinite)")
    with_(["output", "kind"], "softmax", "an unknown output kind")
    with_(["output", "classes"], ["a"], "one class")
    with_(["output", "classes"], [], "no classes")
    with_(["output", "classes"], ["a", "a"], "duplicate classes")
    with_(["output", "classes"], [str(i) for i in range(5000)], "5000 classes (limit 4096)")
    with_(["output", "classes"], [1, 2, 3], "classes as numbers")
    with_(["sha256"], "xyz", "a sha256 that is not hex")
    with_(["sha256"], "0" * 63, "a sha256 of 63 digits")
    with_(["tta"], [], "empty tta")
    with_(["tta"], [{"op": "hflip", "k": 1}], "hflip with a field")
    with_(["tta"], [{"op": "identity", "x": 1}], "identity with a field")
    with_(["tta"], [{"op": "shift", "dx": 1, "dy": 1, "fill": "black", "extra": 0}],
          "shift with an unknown field")
    with_(["tta"], [{"op": "shift", "dx": 100, "dy": 0}], "shift beyond the image")
    with_(["tta"], [{"op": "shift", "dx": 2147483648, "dy": 0}], "shift beyond i32")
    with_(["tta"], [{"op": "rot90", "k": 255}], "rot90 k 255")
    with_(["tta"], [{"op": "rot90", "k": 256}], "rot90 k 256 (beyond u8)")
    with_(["tta"], [{"op": "hflip"}] * 33, "33 transforms")
    with_(["members"], [], "no members")
    with_(["members"], [{"name": "a", "weight": 2}], "a member with an unknown field")
    with_(["members"], [{}] * 17, "17 members")
    m("", "an empty file")
    m("{", "an unclosed object")
    m("[]", "an array")
    m("null", "null")
    m('{"input":' * 200 + "1" + "}" * 200, "200 nested objects")
    m(json.dumps(BASE) + "x", "trailing characters")
    m(json.dumps(BASE).replace('"width": 32', '"width": 32, "width": 64'), "a duplicate key")
    m(b"\xef\xbb\xbf" + json.dumps(BASE).encode(), "a UTF-8 byte order mark")
    m(json.dumps(BASE).replace("digits-cnn", "\ud800") if False else
      json.dumps(BASE).replace('"digits-cnn"', '"\\ud800"'), "a lone surrogate in a string")


def make_options():
    n = 0

    def o(call, text, what, expect="invalid_options"):
        nonlocal n
        rel = f"options/o{n:03d}.json"
        n += 1
        write(rel, text)
        case("options", call, rel, expect, what)

    o("score_options", "{}", "empty ScoreOptions (control)", "ok")
    o("score_options", '{"topK":5,"embedding":true}', "valid ScoreOptions (control)", "ok")
    for text, what in [
        ('{"topk":5}', "a misspelt field"),
        ('{"topK":-1}', "a negative topK"),
        ('{"topK":1e999}', "topK infinite"),
        ('{"topK":"3"}', "topK as a string"),
        ('{"topK":18446744073709551616}', "topK beyond u64"),
        ('{"limits":{"maxWidth":1,"extra":2}}', "an unknown field in limits"),
        ('{"limits":{"maxAlloc":-1}}', "a negative maxAlloc"),
        ('{"limits":[]}', "limits as an array"),
        ('{"embedding":"yes"}', "embedding as a string"),
        ('{"includeSamples":1}', "includeSamples as a number"),
        ("[]", "an array"),
        ("", "empty text"),
        ('{"topK":3', "unclosed"),
        ('{"a":' * 200 + "1" + "}" * 200, "200 nested objects"),
    ]:
        o("score_options", text, what)
    o("load_options", "{}", "empty LoadOptions (control)", "ok")
    for text, what in [
        ('{"maxBatch":0}', "maxBatch 0"),
        ('{"maxBatch":1000000}', "maxBatch 10^6 (limit 4096)"),
        ('{"maxBatch":1e20}', "maxBatch 1e20"),
        ('{"maxBatch":-1}', "maxBatch -1"),
        ('{"maxModelBytes":"big"}', "maxModelBytes as a string"),
        ('{"maxTensorBytes":-5}', "a negative maxTensorBytes"),
        ('{"maxbatch":2}', "a misspelt field"),
        ('{"threads":4}', "an unknown field"),
    ]:
        o("load_options", text, what)
    o("load_options", '{"maxModelBytes":100}', "maxModelBytes below the model's size",
      "invalid_model")
    o("load_options", '{"maxTensorBytes":1000}', "maxTensorBytes below the model's tensors",
      "invalid_model")


def make_requests():
    """Requests to the queue / consensus / triage functions (JS API and CLI alike) whose
    indices, class numbers, iteration counts or tolerances would allocate or loop without
    end: each refused while it is read (src/engine/limits.rs `de`), the limit named."""
    n = 0

    def r(call, obj, what, expect="invalid_options", has=None):
        nonlocal n
        rel = f"requests/r{n:03d}.json"
        n += 1
        write(rel, obj if isinstance(obj, str) else json.dumps(obj))
        extra = {"message_has": has} if has else {}
        case("requests", call, rel, expect, what, **extra)

    def tiers(items, order=None, **export):
        counts = {"autoAccept": 0, "lightReview": 0, "expertReview": len(items),
                  "suspectedLabelError": 0, "outlier": 0, "failed": 0}
        t = {"items": items, "order": order if order is not None else [i["index"] for i in items],
             "counts": counts, "fitted": {"temperature": 1.0, "certifiedOn": 0}}
        return dict({"tiers": t, "options": {}}, **export)

    def item(index, predicted=0, **kw):
        return dict({"index": index, "tier": "expertReview", "predicted": predicted,
                     "confidence": 0.6, "priority": 0.4, "label": predicted, "reasons": []}, **kw)

    big, huge, u64max = 10**12, 10**18, 2**64 - 1
    r("tiers_csv", tiers([item(0), item(1, 1)]), "a two-item triage (control)", "ok")
    r("tiers_csv", tiers([item(0), item(100_000_000 - 1, 1)]),
      "an item index of 10^8 - 1 without ids: exported without a list of 10^8 ids (control)",
      "ok")
    r("tiers_csv", tiers([item(0), item(big)]), "an item index of 10^12", has="MAX_ITEMS")
    r("tiers_csv", tiers([item(u64max)]), "an item index of u64::MAX", has="MAX_ITEMS")
    r("tiers_csv", tiers([item(0)], order=[0, big]), "an order naming index 10^12",
      has="MAX_ITEMS")
    r("tiers_csv", tiers([item(0, predicted=big)]), "a predicted class of 10^12",
      has="MAX_CLASSES")
    r("tiers_csv", tiers([item(0, givenLabel=4_000_000_000)]), "a given label of 4e9",
      has="MAX_CLASSES")
    r("tiers_csv", tiers([item(0, conformalSet=[0, 4_000_000_000])]),
      "a conformal set naming class 4e9", has="MAX_CLASSES")
    r("pseudo_labels", tiers([item(0, predicted=1, label=u64max)]),
      "a pseudo-label of class u64::MAX", has="MAX_CLASSES")
    r("label_studio", tiers([item(big)]), "Label Studio tasks for index 10^12",
      has="MAX_ITEMS")

    ann = [{"item": "a", "annotator": "x", "label": 0}, {"item": "a", "annotator": "y", "label": 1},
           {"item": "b", "annotator": "x", "label": 1}]

    def ds(options=None, annotations=None, **extra):
        return dict({"annotations": annotations or ann, "options": options or {}}, **extra)

    r("dawid_skene", ds({"nIter": 5}), "Dawid-Skene, 5 iterations (control)", "ok")
    r("dawid_skene", ds({"nIter": 5, "stopEarly": False, "tol": 0}),
      "Dawid-Skene, always 5 iterations (control)", "ok")
    r("dawid_skene", ds({"nIter": huge}), "nIter 10^18", has="MAX_ITERATIONS")
    r("dawid_skene", ds({"nIter": huge, "tol": -1}), "nIter 10^18 with a negative tol",
      has="MAX_ITERATIONS")
    r("dawid_skene", ds({"nIter": 1_000_001}), "nIter 10^6 + 1", has="MAX_ITERATIONS")
    r("dawid_skene", ds({"tol": -1}), "a negative tol", has=">= 0, got -1")
    r("dawid_skene", ds({"tol": -1e-300}), "a tiny negative tol", has=">= 0")
    r("dawid_skene", '{"annotations":[{"item":"a","annotator":"x","label":0},'
      '{"item":"b","annotator":"x","label":1}],"options":{"tol":1e999}}',
      "an infinite tol (JSON 1e999)")
    r("dawid_skene", ds({"tol": None}), "tol null")
    r("dawid_skene", ds(annotations=[{"item": "a", "annotator": "x", "label": 0},
                                     {"item": "b", "annotator": "x", "label": 4_000_000_000}]),
      "an annotation of class 4e9 (K inferred as 4e9 + 1)", "invalid_input", has="MAX_CLASSES")
    r("majority", ds(annotations=[{"item": "a", "annotator": "x", "label": u64max},
                                  {"item": "b", "annotator": "x", "label": 0}]),
      "an annotation of class u64::MAX", "invalid_input", has="MAX_CLASSES")
    r("majority", ds(numClasses=big), "numClasses 10^12", has="MAX_CLASSES")
    r("majority", ds(numClasses=5000), "numClasses 5000", has="MAX_CLASSES")

    vp = [[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.4, 0.6]] * 5
    verified = {"predProbs": [p for row in vp for p in row], "n": 20,
                "labels": [0, 1, 0, 1] * 5}
    pool = {"predProbs": [0.6, 0.4, 0.1, 0.9], "n": 2}

    def tier(**kw):
        req = {"k": 2, "verified": dict(verified), "pool": dict(pool)}
        for key, v in kw.items():
            part, _, field = key.partition("__")
            if field:
                req[part][field] = v
            else:
                req[part] = v
        return req

    r("tier_items", tier(), "tiers for a 20 + 2 item request (control)", "ok")
    r("tier_items", tier(k=big), "k 10^12", has="MAX_CLASSES")
    r("tier_items", tier(pool__n=big), "a pool of 10^12 items", has="MAX_ITEMS")
    r("tier_items", tier(verified__labels=[0, 1, 0, 4_000_000_000] * 5), "a verified label of 4e9",
      has="MAX_CLASSES")
    r("tier_items", tier(pool__failed=[big]), "a failed index of 10^12", has="MAX_ITEMS")

    # multi-label requests: images x findings, positive findings per image
    mp = [0.9, 0.2, 0.1, 0.8, 0.7, 0.6, 0.3, 0.1, 0.8, 0.9, 0.2, 0.3, 0.6, 0.4, 0.1, 0.7]
    ml_labels = [[0], [1], [0, 1], [], [0, 1], [], [0], [1]]

    def ml(**kw):
        req = {"probs": list(mp), "n": 8, "k": 2, "labels": [list(x) for x in ml_labels]}
        req.update(kw)
        return req

    def ml_scores(**kw):
        req = ml(**kw)
        req["scores"] = req.pop("probs")
        req.setdefault("kind", "probabilities")
        return req

    def ml_labeled(**kw):
        req = ml(**kw)
        req["predProbs"] = req.pop("probs")
        return req

    r("ml_calibrate", ml_scores(), "multi-label calibration, 8 images x 2 findings (control)",
      "ok")
    r("ml_calibrate", ml_scores(n=big), "multi-label calibration of 10^12 images",
      has="MAX_ITEMS")
    r("ml_calibrate", ml_scores(k=big), "multi-label calibration of 10^12 findings",
      has="MAX_CLASSES")
    r("ml_calibrate", ml_scores(k=5000), "multi-label calibration of 5000 findings",
      has="MAX_CLASSES")
    r("ml_calibrate", ml_scores(labels=[[0]] * 7 + [[0, 4_000_000_000]]),
      "a positive finding of index 4e9", has="MAX_CLASSES")
    r("ml_calibrate", ml_scores(labels=[[0]] * 7 + [[u64max]]),
      "a positive finding of index u64::MAX", has="MAX_CLASSES")
    r("ml_calibrate", ml_scores(options={"bins": big}), "10^12 calibration bins",
      has="MAX_BINS")
    r("ml_calibration_report", ml(), "a multi-label calibration report (control)", "ok")
    r("ml_calibration_report", ml(bins=big), "a report of 10^12 bins", has="MAX_BINS")
    r("ml_calibration_report", ml(labels=[[2**40]] * 8), "findings of index 2^40",
      has="MAX_CLASSES")
    r("ml_conformal", ml(alpha=0.4), "multi-label conformal calibration (control; alpha / k = 0.2 per finding needs n >= 8)", "ok")
    r("ml_conformal", ml(alpha=0.2, n=big), "conformal over 10^12 images", has="MAX_ITEMS")
    r("ml_conformal", ml(alpha=0.2, labels=[[4_000_000_000]] * 8),
      "conformal with findings of index 4e9", has="MAX_CLASSES")
    r("ml_auto_accept", ml(alpha=0.3, delta=0.3), "multi-label auto-accept (control)", "ok")
    r("ml_auto_accept", ml(alpha=0.3, delta=0.3, options={"gridSize": 10**9}),
      "an auto-accept grid of 10^9 thresholds", has="MAX_BINS")
    r("ml_auto_accept", ml(alpha=0.3, delta=0.3, k=big), "auto-accept over 10^12 findings",
      has="MAX_CLASSES")
    r("ml_label_issues", ml_labeled(), "multi-label label issues (control)", "ok")
    r("ml_label_issues", ml_labeled(options={"numToRemovePerClass": [big, 1]}),
      "numToRemovePerClass 10^12", has="MAX_ITEMS")
    r("ml_label_issues", ml_labeled(options={"minExamplesPerClass": big}),
      "minExamplesPerClass 10^12", has="MAX_ITEMS")
    r("ml_label_issues", ml_labeled(labels=[[0, u64max]] * 8),
      "label issues with a finding of index u64::MAX", has="MAX_CLASSES")
    r("ml_label_issues", ml_labeled(n=2**64), "n of 2^64 (beyond u64)")
    reads = [{"item": "a", "annotator": "x", "findings": [0]},
             {"item": "a", "annotator": "y", "findings": [0, 1]},
             {"item": "b", "annotator": "x", "findings": []},
             {"item": "b", "annotator": "y", "findings": [1]}]
    r("ml_consensus", {"reads": reads}, "multi-label consensus of 4 reads (control)", "ok")
    r("ml_consensus", {"reads": reads, "numFindings": big}, "numFindings 10^12",
      has="MAX_CLASSES")
    r("ml_consensus", {"reads": reads, "options": {"top": big}}, "top 10^12",
      has="MAX_ITEMS")
    r("ml_consensus", {"reads": reads, "options": {"minOverlap": u64max}},
      "minOverlap u64::MAX", has="MAX_ITEMS")
    r("ml_simulate", {"reads": reads, "options": {"randomRepeats": big}},
      "10^12 random review orders", has="MAX_ITERATIONS")
    r("ml_simulate", {"reads": reads, "numFindings": 5000}, "numFindings 5000",
      has="MAX_CLASSES")


# --------------------------------------------------------------------------------------------
# DICOM
# --------------------------------------------------------------------------------------------
DICOM_FX = ROOT / "tests" / "fixtures" / "dicom"
# what canary.dcm's patient fields hold: no error message may contain any of them
CANARY = ["CANARY", "7f3a91", "19010101"]
LONG_VR = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR",
           b"UT", b"UV"}


def dcm_elements(data, start, end=None, explicit=True):
    """Top-level elements of an explicit (or implicit) VR little endian data set from `start`:
    (offset, group, element, vr, header length, value length). Stops at undefined lengths."""
    out, p, end = [], start, len(data) if end is None else end
    while p + 8 <= end:
        g, e = struct.unpack_from("<HH", data, p)
        vr = data[p + 4:p + 6] if explicit and g != 0xFFFE else b"  "
        if explicit and vr in LONG_VR:
            (n,), h = struct.unpack_from("<I", data, p + 8), 12
        elif explicit and g != 0xFFFE:
            (n,), h = struct.unpack_from("<H", data, p + 6), 8
        else:
            (n,), h = struct.unpack_from("<I", data, p + 4), 8
        out.append((p, g, e, vr, h, n))
        if n == 0xFFFFFFFF:
            break
        p += h + n
    return out


def dcm_find(data, g, e, explicit=True):
    start = 132 if data[128:132] == b"DICM" else 0
    for el in dcm_elements(data, start, explicit=explicit):
        if (el[1], el[2]) == (g, e):
            return el
    raise KeyError(f"({g:04X},{e:04X})")


def dcm_set_length(data, g, e, n):
    """The element's length field set to `n` (its value bytes unchanged)."""
    p, _, _, vr, h, _ = dcm_find(data, g, e)
    b = bytearray(data)
    if h == 12:
        struct.pack_into("<I", b, p + 8, n)
    else:
        struct.pack_into("<H", b, p + 6, n)
    return bytes(b)


def dcm_drop(data, g, e):
    p, _, _, _, h, n = dcm_find(data, g, e)
    return data[:p] + data[p + h + n:]


def dcm_element(g, e, vr, value):
    if len(value) % 2:
        value += b"\0" if vr in (b"UI", b"OB") else b" "
    if vr in LONG_VR:
        return struct.pack("<HH2sHI", g, e, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", g, e, vr, len(value)) + value


def dcm_insert_before(data, g, e, blob):
    p = dcm_find(data, g, e)[0]
    return data[:p] + blob + data[p:]


def dcm_replace(data, g, e, blob):
    p, _, _, _, h, n = dcm_find(data, g, e)
    return data[:p] + blob + data[p + h + n:]


def dcm_set_raw(data, g, e, vr, value):
    """Element (g, e) set to the raw `value` bytes (replaced, or inserted in tag order), so a
    value pydicom would refuse to write can be written."""
    start = 132 if data[128:132] == b"DICM" else 0
    new = dcm_element(g, e, vr, value)
    for p, gg, ee, _, h, n in dcm_elements(data, start):
        if (gg, ee) == (g, e):
            return data[:p] + new + data[p + h + n:]
        if (gg, ee) > (g, e):
            return data[:p] + new + data[p:]
    return data + new


# attributes whose hostile values are written as raw bytes (VR, tag)
RAW_ATTRS = {"NumberOfFrames": (b"IS", 0x0028, 0x0008), "WindowCenter": (b"DS", 0x0028, 0x1050),
             "WindowWidth": (b"DS", 0x0028, 0x1051), "RescaleSlope": (b"DS", 0x0028, 0x1053),
             "RescaleIntercept": (b"DS", 0x0028, 0x1052)}


def dcm_with(name, **attrs):
    """`name` read by pydicom, attributes set (None deletes), written back as it was read;
    string values of the attributes in RAW_ATTRS are written as their bytes."""
    import pydicom
    ds = pydicom.dcmread(DICOM_FX / name)
    raw = {}
    for k, v in attrs.items():
        if k in RAW_ATTRS and isinstance(v, str):
            raw[k] = v
        elif v is None:
            if k in ds:
                delattr(ds, k)
        else:
            setattr(ds, k, v)
    b = io.BytesIO()
    ds.save_as(b, enforce_file_format=False)
    out = b.getvalue()
    for k, v in raw.items():
        vr, g, e = RAW_ATTRS[k]
        out = dcm_set_raw(out, g, e, vr, v.encode())
    return out


def dcm_meta_ts(data, uid):
    """The file meta's Transfer Syntax UID replaced by `uid` (bytes), the group length kept
    right."""
    el = dcm_elements(data, 132)
    ts = next(x for x in el if (x[1], x[2]) == (0x0002, 0x0010))
    new = dcm_element(0x0002, 0x0010, b"UI", uid)
    old_len = ts[4] + ts[5]
    out = bytearray(data[:ts[0]] + new + data[ts[0] + old_len:])
    gl = next(x for x in el if (x[1], x[2]) == (0x0002, 0x0000))
    (glv,) = struct.unpack_from("<I", out, gl[0] + 8)
    struct.pack_into("<I", out, gl[0] + 8, glv + len(new) - old_len)
    return bytes(out)


def deflated(data):
    """A Part 10 file whose data set (explicit VR little endian bytes) is deflated."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = c.compress(data[dcm_data_start(data):]) + c.flush()
    head = dcm_meta_ts(data, b"1.2.840.10008.1.2.1.99")
    return head[:dcm_data_start(head)] + body


def dcm_data_start(data):
    el = dcm_elements(data, 132)
    last = [x for x in el if x[1] == 0x0002][-1]
    return last[0] + last[4] + last[5]


# (7FE1,1000) UN of undefined length, an item of undefined length, and in it (7FE1,1001) OB
# declaring 0x50000000 bytes in explicit VR; 16,975 zero bytes follow, which is the length the
# same header declares when read as implicit VR
UN_UNDEFINED_OB = (struct.pack("<HH2sHI", 0x7FE1, 0x1000, b"UN", 0, 0xFFFFFFFF)
                   + struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
                   + struct.pack("<HH2sHI", 0x7FE1, 0x1001, b"OB", 0, 0x50000000)
                   + bytes(16975))
# implicit VR: (0008,1110) of 24 bytes, an item of 16, and in it (0008,0050) declaring
# 0x50000000 bytes with 8 present
IMPLICIT_SQ_INNER_1GB = (struct.pack("<HHI", 0x0008, 0x1110, 24)
                         + struct.pack("<HHI", 0xFFFE, 0xE000, 16)
                         + struct.pack("<HHI", 0x0008, 0x0050, 0x50000000) + b"12345678")


def make_dicom():
    """DICOM Part 10 files cut, lying about their lengths and sizes, with wrong attributes,
    transfer syntaxes and pixel data, made from the committed pydicom test files
    (tests/fixtures/dicom/PROVENANCE.md). Most start from canary.dcm (MR_small with canary
    patient fields): no error text may contain them. Each is scored in a batch between a good
    PNG and a good DICOM file, with the limits below (so a deflated bomb stays small)."""
    import warnings
    warnings.filterwarnings("ignore", module="pydicom")  # the values are meant to be invalid
    n = 0
    limits = {"maxWidth": 4096, "maxHeight": 4096, "maxAlloc": 16 * 1024 * 1024}

    def d(label, data, expect, what, **extra):
        nonlocal n
        rel = f"dicom/d{n:03d}_{label}.dcm"
        n += 1
        write(rel, data)
        case("dicom", "score_dicom", rel, expect, what, message_lacks_any=CANARY,
             limits=limits, **extra)

    fx = lambda f: (DICOM_FX / f).read_bytes()  # noqa: E731
    canary = fx("canary.dcm")
    px = dcm_find(canary, 0x7FE0, 0x0010)
    px_at = px[0] + px[4]  # first pixel byte

    # controls: what must still score
    d("canary", canary, "ok", "canary.dcm itself (control)")
    for f, what in [("CT_small.dcm", "a 128x128 CT, explicit VR LE"),
                    ("MR_small_implicit.dcm", "implicit VR LE"),
                    ("MR_small_bigendian.dcm", "explicit VR big endian"),
                    ("MR_small_RLE.dcm", "RLE Lossless"),
                    ("SC_rgb_jpeg_dcmtk.dcm", "JPEG baseline, YBR_FULL colour"),
                    ("image_dfl.dcm", "deflated explicit VR LE"),
                    ("SC_rgb_rle_16bit_2frame.dcm", "RLE, 2 frames, 16-bit RGB")]:
        d(f[:-4].lower(), fx(f), "ok", f"{what} (control)")
    d("trailing_zeros", canary + b"\0\0\0", "ok",
      "three zero bytes after the data set, shorter than a header (control)")
    d("no_preamble", canary[128:], "ok", "no 128-byte preamble: starts with DICM (control)")
    d("group_length_wrong", (lambda b: b[:140] + struct.pack("<I", 0xFFFFFF) + b[144:])(canary),
      "ok", "File Meta Information Group Length says 16 MB: not used, the elements are walked "
      "(control)")

    # truncations: in the preamble, the file meta, the header elements, the pixel data
    cuts = [0, 64, 128, 131, 132, 139, 150, 200, 300, 450, 600, 800, 1000, 1200, 1400,
            px[0] + 4, px[0] + 11, px_at + 1, px_at + 4000, px_at + 8191]
    pn = dcm_find(canary, 0x0010, 0x0010)
    cuts.append(pn[0] + pn[4] + 6)  # inside the canary PatientName itself
    for cut in sorted(set(cuts)):
        d(f"cut{cut:05d}", canary[:cut], "image_decode",
          f"canary.dcm cut to {cut} of {len(canary)} bytes")
    for f, fractions in [("MR_small_RLE.dcm", [0.5, 0.9, 0.999]),
                         ("SC_rgb_jpeg_dcmtk.dcm", [0.6, 0.95]),
                         ("image_dfl.dcm", [0.3, 0.9]),
                         ("MR_small_implicit.dcm", [0.5]),
                         ("MR_small_bigendian.dcm", [0.5])]:
        b = fx(f)
        for fr in fractions:
            cut = int(len(b) * fr)
            d(f"{f[:-4].lower()}_cut{cut:05d}", b[:cut], "image_decode",
              f"{f} cut to {cut} of {len(b)} bytes")

    # declared lengths beyond the end of the file
    d("pn_len_overrun", dcm_set_length(canary, 0x0010, 0x0010, 0xFFF0), "image_decode",
      "PatientName (the canary) declares 65520 bytes")
    d("pixel_len_overrun", dcm_set_length(canary, 0x7FE0, 0x0010, 0x7FFFFFF0), "image_decode",
      "Pixel Data declares 2 GB")
    d("pixel_len_undefined_native", dcm_set_length(canary, 0x7FE0, 0x0010, 0xFFFFFFFF),
      "image_decode", "native Pixel Data with an undefined length: pixels read as items")
    d("pixel_len_short", dcm_set_length(canary, 0x7FE0, 0x0010, 8190)[:px_at + 8190],
      "image_decode", "Pixel Data of 8190 bytes for a 64x64 16-bit frame (8192)")
    ts_at = next(x for x in dcm_elements(canary, 132) if x[2] == 0x0010)[0]
    d("meta_ts_len_overrun", canary[:ts_at + 6] + struct.pack("<H", 0xFFF0) + canary[ts_at + 8:],
      "image_decode", "the file meta's Transfer Syntax UID declares 65520 bytes")
    b = bytearray(canary)
    b[pn[0] + 4:pn[0] + 6] = b"Pz"
    d("unknown_vr", bytes(b), "image_decode",
      "PatientName with the unknown VR 'Pz': read as UN (a 4-byte length of 1.1 GB, from the "
      "canary's bytes), as dicom-rs reads it; found by the fuzzer")
    rle = fx("MR_small_RLE.dcm")
    rpx = dcm_find(rle, 0x7FE0, 0x0010)
    frag = rpx[0] + rpx[4] + 8 + struct.unpack_from("<I", rle, rpx[0] + rpx[4] + 4)[0]
    b = bytearray(rle)
    struct.pack_into("<I", b, frag + 4, 0x7FFFFFF0)
    d("rle_fragment_overrun", bytes(b), "image_decode", "an RLE fragment declaring 2 GB")
    b = bytearray(rle)
    struct.pack_into("<I", b, frag + 4, 0xFFFFFFFF)
    d("rle_fragment_undefined", bytes(b), "image_decode",
      "an RLE fragment of undefined length")
    d("rle_no_delimiter", rle[:-8], "image_decode",
      "RLE pixel data without its sequence delimiter")
    seq = dcm_element(0x0028, 0x3010, b"SQ", b"")[:-4] + struct.pack("<I", 0x10000000)
    d("sequence_overrun", dcm_insert_before(canary, 0x7FE0, 0x0010, seq), "image_decode",
      "a VOI LUT Sequence declaring 256 MB")
    item = struct.pack("<HHI", 0xFFFE, 0xE000, 0x10000000)
    seq = struct.pack("<HH2sHI", 0x0028, 0x3010, b"SQ", 0, 0xFFFFFFFF) + item
    d("item_overrun", dcm_insert_before(canary, 0x7FE0, 0x0010, seq), "image_decode",
      "a sequence item declaring 256 MB")

    # sizes beyond the limits (4096 x 4096, 64 MB)
    for label, attrs, expect, what in [
        ("rows_65535", dict(Rows=65535, Columns=65535), "image_too_large",
         "Rows x Columns 65535 x 65535"),
        ("cols_5000", dict(Columns=5000), "image_too_large", "Columns 5000 (limit 4096)"),
        ("alloc_4096sq", dict(Rows=4096, Columns=4096), "image_too_large",
         "4096 x 4096: the 8-byte samples exceed maxAlloc"),
        ("alloc_rgb", dict(Rows=3000, Columns=3000, SamplesPerPixel=3,
                           PhotometricInterpretation="RGB"), "image_too_large",
         "3000 x 3000 x 3 samples"),
        ("rows_cols_spp", dict(Rows=2048, Columns=2048, SamplesPerPixel=3, NumberOfFrames="65536",
                               PhotometricInterpretation="RGB"), "image_too_large",
         "2048 x 2048 x 3 samples x 65536 frames: one frame exceeds maxAlloc"),
        ("frames_x_size", dict(Rows=512, Columns=512, NumberOfFrames="65536"), "image_decode",
         "512 x 512 x 65536 frames (34 GB) declared, 8 KB of pixel data"),
        ("frames_1e9", dict(NumberOfFrames="1000000000"), "image_decode",
         "NumberOfFrames 10^9 (limit 65536)"),
        ("frames_65536", dict(NumberOfFrames="65536"), "image_decode",
         "NumberOfFrames 65536 with one frame of data"),
        ("frames_2_one_present", dict(NumberOfFrames="2"), "image_decode",
         "NumberOfFrames 2, the data of one frame"),
        ("frames_0", dict(NumberOfFrames="0"), "image_decode", "NumberOfFrames 0"),
        ("frames_negative", dict(NumberOfFrames="-1"), "image_decode", "NumberOfFrames -1"),
        ("frames_text", dict(NumberOfFrames="many"), "image_decode", "NumberOfFrames 'many'"),
        ("rows_0", dict(Rows=0), "image_decode", "Rows 0"),
        ("cols_0", dict(Columns=0), "image_decode", "Columns 0"),
        ("rows_1", dict(Rows=1), "image_decode",
         "Rows 1: one row of data expected, 64 present (pixel data too long)"),
        ("spp_0", dict(SamplesPerPixel=0), "image_decode", "SamplesPerPixel 0"),
        ("spp_2", dict(SamplesPerPixel=2), "image_decode", "SamplesPerPixel 2"),
        ("spp_3_mono", dict(SamplesPerPixel=3), "image_decode",
         "SamplesPerPixel 3 with MONOCHROME2"),
        ("spp_65535", dict(SamplesPerPixel=65535), "image_decode", "SamplesPerPixel 65535"),
        ("bits_12", dict(BitsAllocated=12), "image_decode", "BitsAllocated 12"),
        ("bits_0", dict(BitsAllocated=0), "image_decode", "BitsAllocated 0"),
        ("bits_64", dict(BitsAllocated=64), "image_decode", "BitsAllocated 64"),
        ("bits_8_of_16", dict(BitsAllocated=8, BitsStored=8, HighBit=7), "image_decode",
         "BitsAllocated 8 for 16-bit data (pixel data twice too long)"),
        ("bits_32", dict(BitsAllocated=32, BitsStored=32, HighBit=31), "image_decode",
         "BitsAllocated 32 for 16-bit data (half the bytes needed)"),
        ("bits_stored_0", dict(BitsStored=0), "image_decode", "BitsStored 0"),
        ("bits_stored_17", dict(BitsStored=17), "image_decode",
         "BitsStored 17 > BitsAllocated 16"),
        ("photometric_cmyk", dict(PhotometricInterpretation="CMYK"), "image_decode",
         "PhotometricInterpretation CMYK"),
        ("photometric_empty", dict(PhotometricInterpretation=""), "image_decode",
         "PhotometricInterpretation empty"),
        ("photometric_missing", dict(PhotometricInterpretation=None), "image_decode",
         "no PhotometricInterpretation"),
        ("rows_missing", dict(Rows=None), "image_decode", "no Rows"),
        ("bits_missing", dict(BitsAllocated=None), "image_decode", "no BitsAllocated"),
        ("window_mismatch", dict(WindowCenter=[600, 100], WindowWidth=[1600]), "image_decode",
         "two window centers, one width"),
        ("window_text", dict(WindowCenter="abc"), "image_decode", "WindowCenter 'abc'"),
        ("window_width_0", dict(WindowWidth=0), "image_decode",
         "the file's WindowWidth 0 (LINEAR needs >= 1)"),
        ("rescale_nan", dict(RescaleSlope="NaN", RescaleIntercept="0"), "image_decode",
         "RescaleSlope NaN (NaN pixels)"),
        ("rescale_inf", dict(RescaleSlope="1", RescaleIntercept="1e999"), "image_decode",
         "RescaleIntercept 1e999 (infinite pixels)"),
        ("voi_function_unknown", dict(VOILUTFunction="CANARY^7f3a91"), "image_decode",
         "a VOI LUT Function holding the canary: refused without quoting it"),
    ]:
        d(label, dcm_with("canary.dcm", **attrs), expect, what)
    d("palette_no_lut", dcm_with("canary.dcm", PhotometricInterpretation="PALETTE COLOR"),
      "image_decode", "PALETTE COLOR without its LUTs")

    # pixel data missing, empty, of the wrong kind
    d("pixel_missing", dcm_drop(canary, 0x7FE0, 0x0010), "image_decode", "no Pixel Data")
    d("pixel_empty", dcm_replace(canary, 0x7FE0, 0x0010, dcm_element(0x7FE0, 0x0010, b"OW", b"")),
      "image_decode", "Pixel Data of 0 bytes")
    empty_seq = (struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, 0xFFFFFFFF)
                 + struct.pack("<HHI", 0xFFFE, 0xE000, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
    d("encapsulated_in_native", dcm_replace(canary, 0x7FE0, 0x0010, empty_seq), "image_decode",
      "encapsulated Pixel Data in explicit VR LE")
    rle_head = rle[:rpx[0]]
    d("rle_no_fragments", rle_head + empty_seq, "image_decode",
      "RLE with an offset table and no fragment")
    zero = (struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, 0xFFFFFFFF)
            + struct.pack("<HHI", 0xFFFE, 0xE000, 0) + struct.pack("<HHI", 0xFFFE, 0xE000, 0)
            + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
    d("rle_zero_fragment", rle_head + zero, "image_decode", "RLE with one empty fragment")
    native_in_rle = dcm_meta_ts(canary, b"1.2.840.10008.1.2.5")
    rle_frames = dcm_with("MR_small_RLE.dcm", NumberOfFrames="1000")
    d("rle_frames_1000", rle_frames, "image_decode",
      "RLE declaring 1000 frames, one fragment (RLE has one fragment per frame)")
    d("native_in_rle", native_in_rle, "ok",
      "native Pixel Data under the RLE transfer syntax: read as native, by its defined length "
      "(control)")
    # absurd fragment and element counts, deflated so the committed file stays small
    many = (struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, 0xFFFFFFFF)
            + struct.pack("<HHI", 0xFFFE, 0xE000, 0) * (1 << 20 | 1)
            + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
    dcm_ts = dcm_meta_ts(canary, b"1.2.840.10008.1.2.1")
    d("fragments_1m_deflated", deflated(dcm_replace(dcm_ts, 0x7FE0, 0x0010, many)),
      "image_too_large", "2^20 + 1 empty pixel data fragments, deflated: refused by the "
      "element count (limit 2^20) before anything is read")
    tiny = dcm_element(0x0009, 0x0010, b"LO", b"")
    big = dcm_insert_before(canary, 0x7FE0, 0x0010, tiny * (1 << 20))
    d("elements_1m_deflated", deflated(big), "image_too_large",
      "2^20 private elements before the pixel data (limit 2^20), deflated")
    bomb = dcm_replace(canary, 0x7FE0, 0x0010,
                       dcm_element(0x7FE0, 0x0010, b"OW", bytes(20 * 1024 * 1024)))
    d("deflate_bomb", deflated(bomb), "image_too_large",
      "a data set of 20 MB deflated to 20 KB (maxAlloc 16 MB)")
    d("deflate_garbage", dcm_meta_ts(canary, b"1.2.840.10008.1.2.1.99"), "image_decode",
      "deflated transfer syntax, the data set not deflated")

    # transfer syntaxes
    for label, uid, expect, what in [
        ("ts_unknown", b"1.2.3.4.5", "unsupported_transfer_syntax", "an unknown UID"),
        ("ts_empty", b"", "unsupported_transfer_syntax", "an empty Transfer Syntax UID"),
        ("ts_jpeg_ls", b"1.2.840.10008.1.2.4.80", "unsupported_transfer_syntax",
         "JPEG-LS (no decoder)"),
        ("ts_jpeg_native", b"1.2.840.10008.1.2.4.50", "ok",
         "JPEG baseline declared over native pixel data: read as native (control)"),
        ("ts_implicit_lies", b"1.2.840.10008.1.2", "image_decode",
         "implicit VR LE declared, the data set explicit"),
        ("ts_long", b"1." + b"2" * 300, "unsupported_transfer_syntax", "a 302-character UID"),
        ("ts_binary", b"\xff\xfe\x00\x01", "unsupported_transfer_syntax",
         "a UID of binary bytes"),
    ]:
        d(label, dcm_meta_ts(canary, uid), expect, what)
    d("ts_missing", dcm_drop(canary, 0x0002, 0x0010), "image_decode",
      "no Transfer Syntax UID in the file meta")
    jl = fx("JPEGLSNearLossless_08.dcm")
    d("jpeg_ls_file", jl, "unsupported_transfer_syntax", "a real JPEG-LS file")

    # the canary in places where a careless error would quote it
    d("pn_in_photometric", dcm_with("canary.dcm", PhotometricInterpretation="CANARY^7f3a91"),
      "image_decode", "PhotometricInterpretation holding the canary")
    d("pn_in_frames", dcm_with("canary.dcm", NumberOfFrames="7f3a91"), "image_decode",
      "NumberOfFrames holding part of the canary")
    d("pn_charset_bad", dcm_with("canary.dcm", SpecificCharacterSet="ISO 2022 IR 999"), "ok",
      "an unknown SpecificCharacterSet: the patient name is not read (control)")
    d("pn_in_ts", dcm_meta_ts(canary, b"CANARY^7f3a91"), "unsupported_transfer_syntax",
      "a Transfer Syntax UID holding the canary: the error may name a UID, not this one")

    # lengths the length pass must see as dicom-rs sees them, or dicom-rs allocates by them
    d("un_undefined_explicit_inside", canary + UN_UNDEFINED_OB, "image_decode",
      "after the pixel data, an undefined-length UN whose item holds an explicit OB declaring "
      "1.25 GB: dicom-rs reads the item in the data set's explicit VR, so that is the length "
      "it would allocate (read as implicit VR the same bytes declare 16,975 and fit)",
      message_has="declares")
    implicit = fx("MR_small_implicit.dcm")
    d("implicit_dictionary_sequence", implicit + IMPLICIT_SQ_INNER_1GB, "image_decode",
      "implicit VR: after the pixel data, (0008,1110) Referenced Study Sequence, 24 bytes that "
      "fit, whose item's (0008,0050) declares 1.25 GB: dicom-rs knows the tag is a sequence "
      "from its dictionary and reads into it", message_has="declares")


def make_rust_include():
    lines = [
        "// Generated by scripts/make_hostile.py: every case of tests/hostile/cases.json with",
        "// its bytes compiled in, so tests/hostile.rs runs natively and in Chromium.",
        "// (category, call, file, expected code, bytes)",
        "pub const CASES: &[(&str, &str, &str, &str, &[u8])] = &[",
    ]
    for c in cases:
        if c["call"] == "score_rgba":
            data = "&[]"
        else:
            data = f'include_bytes!("{c["file"]}")'
        lines.append(f'    ("{c["category"]}", "{c["call"]}", "{c["file"]}", "{c["expect"]}", {data}),')
    lines.append("];")
    (OUT / "cases.rs").write_text("\n".join(lines) + "\n")


def main():
    for sub in ["models", "images", "manifests", "options", "requests", "dicom"]:
        d = OUT / sub
        if d.exists():
            for f in d.iterdir():
                f.unlink()
    make_models()
    make_images()
    make_manifests()
    make_options()
    make_requests()
    make_dicom()
    (OUT / "cases.json").write_text(json.dumps({"generator": "scripts/make_hostile.py",
                                                "cases": cases}, indent=1) + "\n")
    make_rust_include()
    counts = {}
    for c in cases:
        counts[c["category"]] = counts.get(c["category"], 0) + 1
    print(json.dumps(counts), sum(counts.values()))


if __name__ == "__main__":
    main()
