"""Families are found by name: the package's own through ``registry.BUILT_IN``, a third
party's through the ``tfgan_app.families`` entry points. A plugin trains, exports and
generates like a built-in family; a plugin that does not import breaks only itself."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import tfgan_app.gans as package
from tfgan_app.gans.registry import BUILT_IN

REPO = Path(__file__).resolve().parent.parent

PLUGIN_MODULE = '''"""A third-party family: the template family under another name, with its own settings."""
import dataclasses

from tfgan_app.gans.registry import Family
from tfgan_app.gans.template import FAMILIES as TEMPLATE


@dataclasses.dataclass
class DemoSettings:
    hidden_units: int = 32
    hidden_layers: int = 1


FAMILIES = (dataclasses.replace(TEMPLATE[0], name="demo_plugin", summary="a plugin family", settings=DemoSettings),)
'''


def test_the_index_names_every_family_its_module_declares():
    declared = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        declared.update({family.name: module.__name__ for family in getattr(module, "FAMILIES", ())})
    assert declared == BUILT_IN


def install_plugins(root: Path) -> dict[str, str]:
    """Two distributions as pip leaves them (a module and its .dist-info), on PYTHONPATH."""
    (root / "tfgan_demo_plugin.py").write_text(PLUGIN_MODULE)
    (root / "tfgan_broken_plugin.py").write_text("raise ImportError('needs the package not_installed_here')\n")
    for name, entry in (("tfgan_demo_plugin", "demo_plugin = tfgan_demo_plugin"),
                        ("tfgan_broken_plugin", "broken_plugin = tfgan_broken_plugin")):
        info = root / f"{name}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[tfgan_app.families]\n{entry}\n")
    pipeline = (REPO / "pipelines" / "toy_ring_template.toml").read_text()
    (root / "demo.toml").write_text(
        pipeline.replace('family = "template"', 'family = "demo_plugin"').replace("[template]", "[demo_plugin]")
        .replace("hidden_units = 128", "hidden_units = 16")
    )
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{REPO}", "TF_CPP_MIN_LOG_LEVEL": "3"}


def tfgan(env: dict, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tfgan_app.cli", *args], capture_output=True, text=True, env=env, cwd=cwd)


def test_an_installed_plugin_family_trains_exports_and_generates(tmp_path):
    env = install_plugins(tmp_path)
    trained = tfgan(env, tmp_path, "train", "--pipeline", str(tmp_path / "demo.toml"), "--steps", "4",
                    "--out", str(tmp_path / "run"), "--set", "train.log_every=2")
    assert trained.returncode == 0, trained.stderr[-2000:]
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model"]["family"] == "demo_plugin" and config["demo_plugin"]["hidden_units"] == 16
    exported = tfgan(env, tmp_path, "export", "--run", str(tmp_path / "run"), "--out", str(tmp_path / "models"),
                     "--formats", "savedmodel")
    assert exported.returncode == 0, exported.stderr[-2000:]
    generated = tfgan(env, tmp_path, "generate", "--model", str(tmp_path / "models" / "demo"), "--num", "5",
                      "--out", str(tmp_path / "points.npy"))
    assert generated.returncode == 0, generated.stderr[-2000:]
    assert (tmp_path / "points.npy").is_file()


def test_a_plugin_that_does_not_import_breaks_only_itself(tmp_path):
    env = install_plugins(tmp_path)
    listing = subprocess.run(
        [sys.executable, "-c", "import warnings; from tfgan_app.gans.registry import families\n"
         "with warnings.catch_warnings(record=True) as caught:\n"
         "    warnings.simplefilter('always'); names = sorted(families())\n"
         "print(names); print([str(w.message) for w in caught])"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=True,
    ).stdout.splitlines()
    assert "demo_plugin" in listing[0] and "gan" in listing[0] and "broken_plugin" not in listing[0]
    assert "tfgan_broken_plugin does not import (ImportError: needs the package not_installed_here)" in listing[1]
    refused = tfgan(env, tmp_path, "train", "--pipeline", "toy_ring_template", "--steps", "2", "--out",
                    str(tmp_path / "broken"), "--set", "model.family=broken_plugin")
    assert refused.returncode == 2
    assert "model.family 'broken_plugin': its module tfgan_broken_plugin does not import" in refused.stderr
    assert "Traceback" not in refused.stderr
