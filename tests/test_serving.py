"""Serving: the TF Serving client against a test double (REST + gRPC), models.config, and
the real tensorflow_model_server when its binary is on PATH."""

import shutil
import socket
import subprocess
import time

import numpy as np
import pytest

from tests import serving_double
from tfgan_app.training.restore import load_run_model
from tfgan_app.serving import (
    GrpcClient, RestClient, ServingError, check_inputs, discover_models, models_config_text,
    read_signature_def, write_models_config,
)


@pytest.fixture(scope="module")
def servers(exported):
    result, out = exported
    repository = serving_double.ModelRepository({"tiny_dcgan": out / "tiny_dcgan"})
    rest, base_url = serving_double.start_rest(repository)
    grpc_server, target = serving_double.start_grpc(repository)
    yield base_url, target
    rest.shutdown()
    grpc_server.stop(0)


@pytest.fixture(scope="module")
def reference(trained_run):
    generator = load_run_model(trained_run)[0].sampling_generator
    z = np.random.default_rng(0).standard_normal((3, 16)).astype(np.float32)
    return z, generator(z, training=False).numpy()


def test_rest_status(servers):
    status = RestClient(servers[0]).status("tiny_dcgan")
    assert status["model_version_status"][0]["state"] == "AVAILABLE"


@pytest.mark.parametrize("request_format", ["instances", "inputs"])
def test_rest_predict_round_trip(servers, reference, request_format):
    z, expected = reference
    outputs = RestClient(servers[0]).predict("tiny_dcgan", {"z": z}, request_format=request_format)
    assert outputs["images"].shape == (3, 28, 28, 1)
    assert np.abs(outputs["images"] - expected).max() <= 1e-4


def test_grpc_predict_round_trip(servers, reference):
    z, expected = reference
    client = GrpcClient(servers[1])
    try:
        outputs = client.predict("tiny_dcgan", {"z": z})
        pixels = client.predict("tiny_dcgan", {"z": z}, signature_name="uint8_pixels")["pixels"]
    finally:
        client.close()
    assert np.abs(outputs["images"] - expected).max() <= 1e-4
    assert pixels.dtype == np.uint8
    np.testing.assert_allclose(pixels, np.round((expected + 1) * 127.5), atol=1)


def test_wrong_width_and_dtype_get_clear_errors(servers):
    rest, grpc_client = RestClient(servers[0]), GrpcClient(servers[1])
    wide = np.zeros((2, 17), np.float32)
    with pytest.raises(ServingError, match=r"HTTP 400.*shape \[2, 17\]"):
        rest.predict("tiny_dcgan", {"z": wide})
    with pytest.raises(ServingError, match=r"INVALID_ARGUMENT.*shape \[2, 17\]"):
        grpc_client.predict("tiny_dcgan", {"z": wide})
    with pytest.raises(ServingError, match=r"INVALID_ARGUMENT.*float32 but int32"):
        grpc_client.predict("tiny_dcgan", {"z": np.zeros((2, 16), np.int32)})
    with pytest.raises(ServingError, match=r"HTTP 400.*cannot convert"):
        rest.predict("tiny_dcgan", {"z": np.array([["a"] * 16])})
    with pytest.raises(ServingError, match="HTTP 404.*Servable not found"):
        rest.predict("nope", {"z": np.zeros((1, 16), np.float32)})
    with pytest.raises(ServingError, match="NOT_FOUND"):
        grpc_client.predict("nope", {"z": np.zeros((1, 16), np.float32)})
    grpc_client.close()
    with pytest.raises(ServingError, match="cannot reach"):
        RestClient("http://127.0.0.1:9", timeout=2).status("tiny_dcgan")


def test_client_side_checks_against_the_signature(exported):
    signature = read_signature_def(exported[0].path)["inputs"]
    ok = check_inputs({"z": np.zeros((4, 16), np.float64)}, signature)
    assert ok["z"].dtype == np.float32
    with pytest.raises(ServingError, match=r"input 'z' has shape \[4, 15\].*\[-1, 16\]"):
        check_inputs({"z": np.zeros((4, 15), np.float32)}, signature)
    with pytest.raises(ServingError, match="dtype <U1"):
        check_inputs({"z": np.array([["x"] * 16])}, signature)
    with pytest.raises(ServingError, match="do not match"):
        check_inputs({"noise": np.zeros((1, 16))}, signature)


def test_models_config_lists_every_export(exported, tmp_path):
    _, out = exported
    models = discover_models(out)
    assert list(models) == ["tiny_dcgan"]
    path = write_models_config(tmp_path / "models.config", {**models, "second": out / "tiny_dcgan"})
    text = path.read_text()
    assert text.count("config {") == 2
    assert f"base_path: '{(out / 'tiny_dcgan').resolve()}'" in text
    assert "model_platform: 'tensorflow'" in text and "name: 'second'" in text
    with pytest.raises(ValueError, match="no numeric version"):
        models_config_text({"bad": tmp_path})


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(shutil.which("tensorflow_model_server") is None,
                    reason="tensorflow_model_server is not on PATH (it cannot be installed on these machines)")
def test_real_tensorflow_model_server(exported, reference):
    _, out = exported
    rest_port, grpc_port = _free_port(), _free_port()
    server = subprocess.Popen([
        "tensorflow_model_server", f"--port={grpc_port}", f"--rest_api_port={rest_port}",
        "--model_name=tiny_dcgan", f"--model_base_path={(out / 'tiny_dcgan').resolve()}",
    ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        rest = RestClient(f"http://127.0.0.1:{rest_port}")
        deadline = time.time() + 60
        while True:
            try:
                if rest.status("tiny_dcgan")["model_version_status"][0]["state"] == "AVAILABLE":
                    break
            except ServingError:
                pass
            assert time.time() < deadline, "the server did not load the model in 60 s"
            time.sleep(0.5)
        z, expected = reference
        for request_format in ("instances", "inputs"):
            got = rest.predict("tiny_dcgan", {"z": z}, request_format=request_format)["images"]
            assert np.abs(got - expected).max() <= 1e-4
        grpc_client = GrpcClient(f"127.0.0.1:{grpc_port}")
        assert np.abs(grpc_client.predict("tiny_dcgan", {"z": z})["images"] - expected).max() <= 1e-4
        grpc_client.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
