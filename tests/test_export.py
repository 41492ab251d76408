"""Export stage: TF Serving layout, verified SavedModel and ONNX, manifest, bad input."""

import json
from pathlib import Path

import numpy as np
import pytest

from tfgan_app import generate as generate_cli
from tfgan_app.export import ExportError, artifacts, export_run
from tfgan_app.export import __main__ as export_cli
from tfgan_app.export.exporter import parity_inputs
from tfgan_app.training.restore import load_run_model
from tfgan_app.serving import read_signature_def


def test_export_writes_tf_serving_layout_with_manifest(exported, trained_run):
    result, out = exported
    assert result.name == "tiny_dcgan" and result.version == 1
    assert result.path == out / "tiny_dcgan" / "1"
    names = {p.name for p in result.path.iterdir()}
    assert {"saved_model.pb", "variables", "model.onnx", "export.json"} <= names
    assert sorted(p.name for p in (out / "tiny_dcgan").iterdir()) == ["1"]  # nothing else TF Serving would scan
    assert not (out / ".staging").exists()
    manifest = json.loads((result.path / "export.json").read_text())
    assert manifest["step"] == 6 and manifest["latent_dim"] == 16
    assert manifest["output_shape"] == [28, 28, 1] and manifest["class_names"][0] == "T-shirt/top"
    assert manifest["source_run"] == str(trained_run.resolve())
    differences = manifest["parity"]["max_abs_difference"]
    assert set(differences) == {"savedmodel_fresh_process", "onnx"}
    assert all(value <= 1e-4 for group in differences.values() for value in group.values())
    assert {"tensorflow", "keras", "tf2onnx"} <= set(manifest["versions"])
    assert oct(result.path.stat().st_mode & 0o755) == oct(0o755)


def test_savedmodel_signature_is_what_tf_serving_reads(exported):
    result, _ = exported
    signature = read_signature_def(result.path)
    assert signature == {
        "method_name": "tensorflow/serving/predict",
        "inputs": {"z": {"dtype": "float32", "shape": [-1, 16]}},
        "outputs": {"images": {"dtype": "float32", "shape": [-1, 28, 28, 1]}},
    }
    pixels = read_signature_def(result.path, "uint8_pixels")
    assert pixels["outputs"] == {"pixels": {"dtype": "uint8", "shape": [-1, 28, 28, 1]}}


def test_onnx_model_matches_keras_with_dynamic_batch(exported, trained_run):
    import onnx

    result, _ = exported
    model = onnx.load(str(result.path / "model.onnx"))
    assert model.opset_import[0].version >= 17
    assert [i.name for i in model.graph.input] == ["z"] and [o.name for o in model.graph.output] == ["images"]
    assert not model.graph.input[0].type.tensor_type.shape.dim[0].HasField("dim_value")  # dynamic
    generator = load_run_model(trained_run)[0].sampling_generator
    session = artifacts.onnx_session(result.path / "model.onnx")
    cases = list(parity_inputs(result.manifest["inputs"]).values())
    for inputs in cases + [{"z": np.random.default_rng(5).standard_normal((33, 16)).astype(np.float32)}]:
        expected = generator(inputs["z"], training=False).numpy()
        got = artifacts.run_onnx(session, inputs)
        assert got.shape == expected.shape and np.abs(got - expected).max() <= 1e-4
        assert got.min() >= -1.0 and got.max() <= 1.0


def test_next_export_takes_next_version_and_never_overwrites(trained_run, tmp_path):
    [first] = export_run(trained_run, tmp_path, formats=("savedmodel",))
    [second] = export_run(trained_run, tmp_path, formats=("savedmodel",))
    assert (first.version, second.version) == (1, 2)
    before = (tmp_path / "tiny_dcgan" / "1" / "saved_model.pb").read_bytes()
    with pytest.raises(ExportError, match="already exists"):
        export_run(trained_run, tmp_path, version=1, formats=("savedmodel",))
    assert (tmp_path / "tiny_dcgan" / "1" / "saved_model.pb").read_bytes() == before
    assert export_cli.main(["--run", str(trained_run), "--out", str(tmp_path), "--version", "2",
                            "--formats", "savedmodel"]) == 2


def test_export_to_a_relative_out_folder(trained_run, tmp_path, monkeypatch):
    """The README's `make train` exports to the relative saved_models/ of the checkout."""
    monkeypatch.chdir(tmp_path)
    [result] = export_run(trained_run, Path("saved_models"), formats=("savedmodel",))
    assert (tmp_path / "saved_models" / "tiny_dcgan" / "1" / "saved_model.pb").is_file()
    assert result.manifest["parity"]["max_abs_difference"]["savedmodel_fresh_process"]["batch_7"] <= 1e-4


def test_parity_failure_fails_the_export_and_leaves_nothing(trained_run, tmp_path, capsys):
    with pytest.raises(ExportError, match=r"(ONNX model|reloaded SavedModel) differs.*batch_1.*exceeds the tolerance 1e-12"):
        export_run(trained_run, tmp_path, tolerance=1e-12)
    assert not (tmp_path / "tiny_dcgan").exists() or not any((tmp_path / "tiny_dcgan").iterdir())
    assert not (tmp_path / ".staging").exists()


def test_crash_mid_export_leaves_no_half_written_version(trained_run, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(artifacts, "write_onnx", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        export_run(trained_run, tmp_path)
    assert not (tmp_path / "tiny_dcgan" / "1").exists() and not (tmp_path / ".staging").exists()


def test_bad_runs_and_formats_are_refused(tmp_path, trained_run, capsys):
    with pytest.raises(ExportError, match="not a run directory"):
        export_run(tmp_path / "missing", tmp_path)
    (tmp_path / "empty").mkdir()
    for name in ("config.json", "run.json"):
        (tmp_path / "empty" / name).write_text((trained_run / name).read_text())
    with pytest.raises(ExportError, match="no checkpoint"):
        export_run(tmp_path / "empty", tmp_path)
    with pytest.raises(ExportError, match="unknown export formats"):
        export_run(trained_run, tmp_path, formats=("tflite",))
    assert export_cli.main(["--run", str(tmp_path / "missing")]) == 2
    assert "not a run directory" in capsys.readouterr().err


@pytest.mark.parametrize("runtime", ["tf", "onnx"])
def test_generate_from_export_alone(exported, tmp_path, runtime, capsys):
    result, out = exported
    target = tmp_path / f"grid_{runtime}.png"
    code = generate_cli.main(["--model", str(out / "tiny_dcgan"), "--runtime", runtime,
                              "--num", "9", "--seed", "3", "--out", str(target)])
    assert code == 0
    assert "9 samples from tiny_dcgan v1" in capsys.readouterr().out
    from PIL import Image

    assert Image.open(target).size == (3 * 30 + 2, 3 * 30 + 2)  # 3x3 grid of 28px + padding


def test_both_runtimes_generate_the_same_samples(exported):
    result, _ = exported
    tf_samples = generate_cli.generate(result.path, "tf", 5, seed=7)[0]
    onnx_samples = generate_cli.generate(result.path, "onnx", 5, seed=7)[0]
    assert np.abs(tf_samples - onnx_samples).max() <= 1e-4


def test_generate_errors(exported, tmp_path, capsys):
    _, out = exported
    model = str(out / "tiny_dcgan")
    assert generate_cli.main(["--model", model, "--label", "2", "--out", str(tmp_path / "x.png")]) == 2
    assert "takes no --label (inputs ['z'])" in capsys.readouterr().err
    assert generate_cli.main(["--model", model, "--version", "9", "--out", str(tmp_path / "x.png")]) == 2
    assert "no version 9" in capsys.readouterr().err
    assert generate_cli.main(["--model", str(tmp_path), "--out", str(tmp_path / "x.png")]) == 2

