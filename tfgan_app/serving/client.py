"""Clients for TF Serving's prediction APIs.

REST (port 8501 by default): ``GET /v1/models/NAME[/versions/V]`` for status and
``POST /v1/models/NAME[/versions/V]:predict`` with either request format of TF Serving's
REST API: row ("instances", one entry per example) or columnar ("inputs", one entry per
input tensor). gRPC (port 8500): ``tensorflow.serving.PredictionService/Predict`` with the
official ``tensorflow-serving-api`` protos.

Both return ``{output_name: numpy array}``; failures raise ``ServingError`` with the
server's own message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Mapping

import numpy as np


class ServingError(RuntimeError):
    """The server refused the request or could not be reached."""


def check_inputs(inputs: Mapping[str, np.ndarray], signature: Mapping[str, dict]) -> dict[str, np.ndarray]:
    """Validate inputs against a signature ``{name: {"dtype": "float32", "shape": [-1, 100]}}``
    (plus ``"classes"`` for a label, as ``contract.signature_of`` gives from an export's
    manifest) before sending, so a wrong width, dtype, class or batch fails here with the
    input named, the same way ``generate`` checks them for the local runtimes."""
    from tfgan_app.export.contract import ContractError
    from tfgan_app.export.contract import check_inputs as check

    try:
        return check(inputs, signature)
    except ContractError as error:
        raise ServingError(str(error)) from None


class RestClient:
    def __init__(self, base_url: str = "http://localhost:8501", timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _url(self, name: str, version: int | None, suffix: str = "") -> str:
        path = f"/v1/models/{name}" + (f"/versions/{version}" if version is not None else "")
        return self.base_url + path + suffix

    def _call(self, url: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            try:
                detail = json.loads(detail).get("error", detail)
            except json.JSONDecodeError:
                pass
            raise ServingError(f"{url}: HTTP {error.code}: {detail}") from None
        except urllib.error.URLError as error:
            raise ServingError(f"{url}: cannot reach the server: {error.reason}") from None

    def status(self, name: str, version: int | None = None) -> dict:
        """The model's version states (TF Serving's GetModelStatus)."""
        return self._call(self._url(name, version))

    def metadata(self, name: str, version: int | None = None) -> dict:
        return self._call(self._url(name, version, "/metadata"))

    def predict(
        self,
        name: str,
        inputs: Mapping[str, np.ndarray],
        request_format: str = "instances",
        signature_name: str = "serving_default",
        version: int | None = None,
        output_name: str = "images",
    ) -> dict[str, np.ndarray]:
        """One predict call. ``request_format`` is "instances" (row) or "inputs" (columnar).

        TF Serving answers a single-output signature with bare values, so ``output_name``
        names that output in the returned dict.
        """
        arrays = {key: np.asarray(value) for key, value in inputs.items()}
        if request_format == "instances":
            count = len(next(iter(arrays.values())))
            rows = [{key: value[index].tolist() for key, value in arrays.items()} for index in range(count)]
            body = {"signature_name": signature_name, "instances": rows}
        elif request_format == "inputs":
            body = {"signature_name": signature_name, "inputs": {k: v.tolist() for k, v in arrays.items()}}
        else:
            raise ValueError(f"request_format must be 'instances' or 'inputs', got {request_format!r}")
        reply = self._call(self._url(name, version, ":predict"), body)
        if "predictions" in reply:
            predictions = reply["predictions"]
            if predictions and isinstance(predictions[0], dict):
                return {key: np.array([row[key] for row in predictions], np.float32) for key in predictions[0]}
            return {output_name: np.array(predictions, np.float32)}
        outputs = reply["outputs"]
        if isinstance(outputs, dict):
            return {key: np.array(value, np.float32) for key, value in outputs.items()}
        return {output_name: np.array(outputs, np.float32)}


class GrpcClient:
    def __init__(self, target: str = "localhost:8500", timeout: float = 30.0):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self.channel = grpc.insecure_channel(target)
        self.stub = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.timeout = timeout

    def predict(
        self,
        name: str,
        inputs: Mapping[str, np.ndarray],
        signature_name: str = "serving_default",
        version: int | None = None,
    ) -> dict[str, np.ndarray]:
        import grpc
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        request.model_spec.name = name
        request.model_spec.signature_name = signature_name
        if version is not None:
            request.model_spec.version.value = version
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(np.asarray(value)))
        try:
            response = self.stub.Predict(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise ServingError(f"gRPC Predict on {name!r}: {error.code().name}: {error.details()}") from None
        return {key: tf.make_ndarray(tensor) for key, tensor in response.outputs.items()}

    def close(self) -> None:
        self.channel.close()
