"""A TEST DOUBLE of TF Serving (not TF Serving): its REST status/metadata/predict endpoints
and gRPC PredictionService.Predict, over exported SavedModels, on 127.0.0.1.

It reproduces the parts of TF Serving's behaviour the client relies on: URL layout, the
row ("instances") and columnar ("inputs") formats, bare values for single-output
signatures, {"error": ...} bodies with HTTP 400/404, and INVALID_ARGUMENT / NOT_FOUND gRPC
errors for wrong input names, shapes or dtypes. The real server is exercised by
test_real_tensorflow_model_server when its binary is on PATH.
"""

from __future__ import annotations

import json
import re
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgan_app.serving.signature import read_signature_def


class ModelRepository:
    """name -> the newest numeric version under base_path, loaded once."""

    def __init__(self, models: dict[str, Path]):
        self.models = {}
        for name, base_path in models.items():
            versions = sorted(int(p.name) for p in Path(base_path).iterdir() if p.name.isdigit())
            path = Path(base_path) / str(versions[-1])
            self.models[name] = (versions[-1], path, tf.saved_model.load(str(path)))

    def predict(self, name: str, signature_name: str, inputs: dict[str, np.ndarray]):
        if name not in self.models:
            raise LookupError(f"Servable not found for request: Latest({name})")
        _, path, loaded = self.models[name]
        if signature_name not in loaded.signatures:
            raise ValueError(f"Serving signature name: \"{signature_name}\" not found in signature def")
        spec = read_signature_def(path, signature_name)
        if set(inputs) != set(spec["inputs"]):
            raise ValueError(f"input names {sorted(inputs)} do not match {sorted(spec['inputs'])}")
        tensors = {}
        for key, want in spec["inputs"].items():
            value = inputs[key]
            if value.dtype != np.dtype(want["dtype"]):
                raise ValueError(f"Expects arg {key} to be {want['dtype']} but {value.dtype} is provided")
            if value.ndim != len(want["shape"]) or any(
                d != -1 and d != v for d, v in zip(want["shape"], value.shape)
            ):
                raise ValueError(f"input {key} has shape {list(value.shape)}; the signature wants {want['shape']}")
            tensors[key] = tf.constant(value)
        outputs = loaded.signatures[signature_name](**tensors)
        return {key: value.numpy() for key, value in outputs.items()}


class _RestHandler(BaseHTTPRequestHandler):
    repository: ModelRepository
    path_pattern = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?(/metadata|:predict)?$")

    def log_message(self, *args):  # keep test output clean
        pass

    def _reply(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _match(self):
        match = self.path_pattern.match(self.path)
        if not match or match.group(1) not in self.repository.models:
            name = match.group(1) if match else self.path
            self._reply(404, {"error": f"Servable not found for request: Latest({name})"})
            return None
        return match

    def do_GET(self):
        match = self._match()
        if match is None:
            return
        version, path, _ = self.repository.models[match.group(1)]
        if match.group(3) == "/metadata":
            self._reply(200, {"model_spec": {"name": match.group(1), "version": str(version)},
                              "metadata": {"signature_def": read_signature_def(path)}})
        else:
            self._reply(200, {"model_version_status": [{
                "version": str(version), "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }]})

    def do_POST(self):
        match = self._match()
        if match is None:
            return
        if match.group(3) != ":predict":
            self._reply(404, {"error": "only :predict is served"})
            return
        name = match.group(1)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        signature_name = body.get("signature_name", "serving_default")
        try:
            _, path, _ = self.repository.models[name]
            spec = read_signature_def(path, signature_name)
            dtypes = {key: np.dtype(value["dtype"]) for key, value in spec["inputs"].items()}
            if "instances" in body:
                rows = body["instances"]
                if not rows or not isinstance(rows[0], dict):  # single-input shorthand
                    rows = [{next(iter(dtypes)): row} for row in rows]
                inputs = {key: np.array([row[key] for row in rows]) for key in rows[0]}
            elif "inputs" in body:
                given = body["inputs"]
                inputs = {key: np.array(value) for key, value in
                          (given.items() if isinstance(given, dict) else [(next(iter(dtypes)), given)])}
            else:
                raise ValueError("Missing 'instances' or 'inputs' key")
            for key, value in inputs.items():
                if key in dtypes and value.dtype.kind not in "iuf":
                    raise ValueError(f"input {key}: cannot convert {value.dtype} JSON values to {dtypes[key]}")
                if key in dtypes:
                    inputs[key] = value.astype(dtypes[key])  # JSON numbers take the signature's dtype
            outputs = self.repository.predict(name, signature_name, inputs)
        except (ValueError, KeyError, TypeError) as error:
            self._reply(400, {"error": str(error)})
            return
        single = len(outputs) == 1
        if "instances" in body:
            if single:
                self._reply(200, {"predictions": next(iter(outputs.values())).tolist()})
            else:
                count = len(next(iter(outputs.values())))
                self._reply(200, {"predictions": [{k: v[i].tolist() for k, v in outputs.items()} for i in range(count)]})
        else:
            self._reply(200, {"outputs": next(iter(outputs.values())).tolist() if single
                              else {k: v.tolist() for k, v in outputs.items()}})


def start_rest(repository: ModelRepository):
    """(server, base_url); call server.shutdown() when done."""
    handler = type("Handler", (_RestHandler,), {"repository": repository})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def start_grpc(repository: ModelRepository):
    """(server, target); call server.stop(0) when done."""
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            inputs = {key: tf.make_ndarray(proto) for key, proto in request.inputs.items()}
            try:
                outputs = repository.predict(
                    request.model_spec.name, request.model_spec.signature_name or "serving_default", inputs
                )
            except LookupError as error:
                context.abort(grpc.StatusCode.NOT_FOUND, str(error))
            except ValueError as error:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
            response = predict_pb2.PredictResponse()
            response.model_spec.name = request.model_spec.name
            for key, value in outputs.items():
                response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"
