"""The export's ONNX rewrite of stride-2 transposed convolutions (tfgan_app/export/onnx_rewrite.py):
exact, limited to what it proves, and what the exporter writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from tfgan_app.export import artifacts  # noqa: E402
from tfgan_app.export.onnx_rewrite import _channel_constant, rewrite_transposed_convolutions  # noqa: E402


def run(model, feeds: dict, every_output: bool = False):
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    outputs = session.run(None, feeds)
    return outputs if every_output else outputs[0]


def transposed_graph(channels_in=8, channels_out=16, side=16, scale_shape=None, fork=False, bias=True, **attributes):
    """x [N, C_in, side, side] -> ConvTranspose -> Mul(scale) -> Add(shift) -> Relu (-> also Sigmoid when fork)."""
    rng = np.random.default_rng(0)
    attributes = {"strides": [2, 2], "kernel_shape": [4, 4], "pads": [1, 1, 1, 1], **attributes}
    k = attributes["kernel_shape"][0]
    scale_shape = scale_shape or (channels_out, 1, 1)
    initializers = [
        numpy_helper.from_array(rng.standard_normal((channels_in, channels_out, k, k)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.standard_normal(channels_out).astype(np.float32), "b"),
        numpy_helper.from_array(rng.uniform(0.5, 2, scale_shape).astype(np.float32), "scale"),
        numpy_helper.from_array(rng.standard_normal((1, channels_out, 1, 1)).astype(np.float32), "shift"),
    ]
    nodes = [
        helper.make_node("ConvTranspose", ["x", "w", "b"] if bias else ["x", "w"], ["up"], name="up", **attributes),
        helper.make_node("Mul", ["scale", "up"], ["scaled"]),  # constant first: Mul commutes
        helper.make_node("Add", ["scaled", "shift"], ["shifted"]),
        helper.make_node("Relu", ["shifted"], ["y"]),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "c", "h", "w"])]
    if fork:
        nodes.append(helper.make_node("Sigmoid", ["scaled"], ["y2"]))
        outputs.append(helper.make_tensor_value_info("y2", TensorProto.FLOAT, ["n", "c", "h", "w"]))
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", channels_in, side, side])],
        outputs, initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_rewrite_is_exact_and_moves_the_channel_chain_into_the_phases():
    model = transposed_graph()
    x = np.random.default_rng(1).standard_normal((3, 8, 16, 16)).astype(np.float32)
    expected = run(model, {"x": x})
    assert rewrite_transposed_convolutions(model) == 1
    onnx.checker.check_model(model, full_check=True)
    ops = [node.op_type for node in model.graph.node]
    assert "ConvTranspose" not in ops and ops.count("Conv") == 4
    assert ops.count("Relu") == 4 and ops.count("Mul") == 4  # one per phase, before the interleave
    assert {t.name for t in model.graph.initializer}.isdisjoint({"w", "scale"})  # the old constants are gone
    got = run(model, {"x": x})
    assert got.shape == (3, 16, 32, 32)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)


def test_a_fork_or_a_scale_that_broadcasts_along_width_stays_after_the_rewrite():
    x = np.random.default_rng(2).standard_normal((2, 8, 8, 8)).astype(np.float32)
    # Shape (16,) on NCHW broadcasts along W (16 wide after upsampling), not the channels:
    # nothing after the convolution moves. With a fork after the Mul, the Mul moves (its
    # output is still produced once, interleaved) and the Add stays.
    for model, moved in ((transposed_graph(side=8, scale_shape=(16,)), ()), (transposed_graph(side=8, fork=True), ("Mul",))):
        expected = run(model, {"x": x}, every_output=True)
        assert rewrite_transposed_convolutions(model) == 1
        ops = [node.op_type for node in model.graph.node]
        assert ops.count("Conv") == 4
        assert {op: ops.count(op) for op in ("Mul", "Add", "Relu")} == {
            op: 4 if op in moved else 1 for op in ("Mul", "Add", "Relu")
        }
        for got, want in zip(run(model, {"x": x}, every_output=True), expected):
            np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("change", [
    {"strides": [1, 1], "pads": [1, 1, 2, 2]},
    {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
    {"pads": [2, 2, 2, 2]},
    {"group": 2},
    {"channels_out": 3},  # thin image layers are faster as ConvTranspose
])
def test_other_transposed_convolutions_are_left_alone(change):
    change = dict(change)
    kwargs = {"channels_out": change.pop("channels_out")} if "channels_out" in change else {}
    if "group" in change:
        kwargs["channels_in"] = 8
        model = transposed_graph(**kwargs, bias=False, **change)
        model.graph.initializer[0].CopyFrom(numpy_helper.from_array(
            np.ones((8, 8, 4, 4), np.float32), "w"))  # grouped: [C_in, C_out / group, k, k]
    else:
        model = transposed_graph(**kwargs, **change)
    before = model.SerializeToString()
    assert rewrite_transposed_convolutions(model) == 0
    assert model.SerializeToString() == before


def test_channel_constants_broadcast_only_along_channels():
    assert _channel_constant(np.float32(2.0), 4).shape == (1, 1, 1)
    assert _channel_constant(np.ones((1, 4, 1, 1)), 4).shape == (4, 1, 1)
    assert _channel_constant(np.ones((4, 1, 1)), 4).shape == (4, 1, 1)
    assert _channel_constant(np.ones(4), 4) is None
    assert _channel_constant(np.ones((1, 4, 2, 1)), 4) is None


def test_exported_dcgan_generator_runs_phase_convolutions_and_matches_keras(tmp_path: Path):
    from tfgan_app.networks.dcgan import dcgan_generator

    generator = dcgan_generator(16, (28, 28, 1), width=16)
    z = np.random.default_rng(3).standard_normal((5, 16)).astype(np.float32)
    expected = artifacts.run_keras(generator, {"z": z})
    assert artifacts.write_onnx(generator, tmp_path / "rewritten.onnx") == 1  # up_0; to_image has 1 channel
    assert artifacts.write_onnx(generator, tmp_path / "plain.onnx", rewrite=False) == 0
    ops = {name: [node.op_type for node in onnx.load(str(tmp_path / name)).graph.node]
           for name in ("rewritten.onnx", "plain.onnx")}
    assert ops["rewritten.onnx"].count("ConvTranspose") == 1 and ops["plain.onnx"].count("ConvTranspose") == 2
    for name in ops:
        got = artifacts.run_onnx(artifacts.onnx_session(tmp_path / name), {"z": z})
        np.testing.assert_allclose(got, expected, atol=1e-4)
