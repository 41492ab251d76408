"""A wheel that works anywhere: built from the checkout, installed into a fresh virtual
environment outside it, it trains, exports and generates with its shipped pipelines and
pinned extractors (the dependencies come from this environment's site-packages, so nothing
is downloaded)."""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run(command, cwd, env, timeout=600):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-3000:])
    return result


@pytest.mark.slow
def test_the_wheel_trains_exports_and_generates_outside_the_checkout(tmp_path):
    pytest.importorskip("wheel")
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH",)}
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"),
         str(REPO)], tmp_path, env)
    [wheel] = (tmp_path / "dist").glob("tfgan_app-*.whl")
    fresh = tmp_path / "fresh"
    run([sys.executable, "-m", "venv", str(fresh)], tmp_path, env)
    python = fresh / "bin" / "python"
    run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], tmp_path, env)
    # The dependencies (TensorFlow, ONNX Runtime, ...) from this environment, but not its
    # tfgan_app: a path line in a .pth file adds the folder, not the editable install's finder.
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "pipelines").mkdir()  # a user's folder of that name does not shadow a shipped pipeline
    (work / "pipelines" / "toy_ring_mlp.toml").write_text("not = [valid toml\n")
    tfgan = str(fresh / "bin" / "tfgan")
    where = run([str(python), "-c", "import tfgan_app; print(tfgan_app.__file__)"], work, env).stdout
    assert str(fresh) in where and str(REPO) not in where
    run([tfgan, "train", "--pipeline", "toy_ring_mlp", "--steps", "5", "--set", "export.enabled=false",
         "--out", "run"], work, env)
    run([tfgan, "export", "--run", "run", "--out", "models"], work, env)
    run([tfgan, "generate", "--model", "models/toy_ring_mlp", "--num", "16", "--out", "points.csv"], work, env)
    assert len((work / "points.csv").read_text().splitlines()) == 16
    check = run([str(python), "-c", "from tfgan_app.metrics.features import classifier_folder, load_domain_classifier;"
                 "print(load_domain_classifier(classifier_folder('fashion_mnist'))[0].name)"], work, env).stdout
    assert "pinned_classifier[fashion_mnist]/v1" in check
