"""Multi-worker training: two worker processes on loopback (CPU) with
MultiWorkerMirroredStrategy, against a single process on the same global batch."""

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

REPO = Path(__file__).resolve().parent.parent
SETTINGS = [
    "--pipeline", "toy_ring_mlp", "--set", "model.hidden_units=16", "--set", "model.hidden_layers=1",
    "--set", "train.batch_size=16", "--set", "train.checkpoint_every=3", "--set", "train.log_every=3",
    "--set", "sampling.every=3", "--set", "sampling.toy_points=100", "--set", "export.enabled=false",
    # Minibatch stddev is a statistic of each replica's batch, so it would differ from one
    # process on the global batch by design; the EMA and the decay are kept.
    "--set", "model.minibatch_stddev=false",
    # SGD: an update proportional to the gradient, so a wrongly scaled loss would show.
    "--set", "optimizer.generator.name=sgd", "--set", "optimizer.discriminator.name=sgd",
    "--set", "optimizer.generator.learning_rate=0.1", "--set", "optimizer.discriminator.learning_rate=0.1",
]


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_workers(run_dir, extra, settings=SETTINGS):
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(2)]}
    processes = []
    for index in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "",
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "tfgan_app.train", *settings, "--strategy", "multiworker",
             "--out", str(run_dir), *extra],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ))
    outputs = []
    for process in processes:
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output[-3000:]
        outputs.append(output)
    return [re.search(r"weights fingerprint: (\w+)", output).group(1) for output in outputs], outputs


def variables(run_dir):
    path = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    return {name: tf.train.load_variable(path, name) for name, _ in tf.train.list_variables(path)
            if name.endswith("VARIABLE_VALUE") and "save_counter" not in name}


def test_two_workers_agree_match_one_process_and_resume(tmp_path):
    fingerprints, outputs = run_workers(tmp_path / "multi", ["--steps", "6"])
    assert fingerprints[0] == fingerprints[1]  # both workers hold identical weights
    info = json.loads((tmp_path / "multi" / "run.json").read_text())
    assert info["workers"] == 2 and info["replicas"] == 2 and info["per_replica_batch"] == 8
    assert "the chief writes the run directory" in outputs[1]
    # Only the chief wrote the run directory; nothing of the worker's is left behind.
    assert sorted(p.name for p in (tmp_path / "multi").iterdir()) == [
        ".lock", ".tfgan_app_run", "checkpoints", "config.json", "metrics.jsonl", "run.json", "samples", "tensorboard"]
    single = subprocess.run(
        [sys.executable, "-m", "tfgan_app.train", *SETTINGS, "--out", str(tmp_path / "single"), "--steps", "6"],
        cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, capture_output=True, text=True, timeout=600,
    )
    assert single.returncode == 0, single.stderr[-3000:]
    multi, one = variables(tmp_path / "multi"), variables(tmp_path / "single")
    assert multi.keys() == one.keys() and len(multi) > 10
    for name in multi:
        np.testing.assert_allclose(multi[name], one[name], atol=1e-5, err_msg=name)
    # Restarted workers continue from the chief's checkpoint, still in step.
    fingerprints, outputs = run_workers(tmp_path / "multi", ["--resume", "--steps", "9"], settings=[])
    assert fingerprints[0] == fingerprints[1]
    run = json.loads((tmp_path / "multi" / "run.json").read_text())
    assert run["start_step"] == 6 and run["step"] == 9
