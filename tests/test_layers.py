"""The package's layers run one way (docs/layout.md): a module imports only from its own
layer or the ones below it. Every ``import`` counts, a function's and a type checker's too:
an import moved into a function still ties the two layers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tfgan_app"

# Lowest first. A module belongs to the first layer with a prefix that matches its dotted name.
# The package itself (its version; its Python API names, imported by name on first use) is
# the bottom.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("config schema", ("tfgan_app.config", "tfgan_app.outputs", "tfgan_app.quiet", "tfgan_app.checksums")),
    ("data, networks, losses, plots, input kinds",
     ("tfgan_app.data", "tfgan_app.networks", "tfgan_app.losses", "tfgan_app.plots", "tfgan_app.inputs")),
    ("metrics", ("tfgan_app.metrics",)),
    ("families", ("tfgan_app.gans",)),
    ("the run", ("tfgan_app.training",)),
    ("export and serving", ("tfgan_app.export", "tfgan_app.serving")),
    ("commands", ("tfgan_app.train", "tfgan_app.generate", "tfgan_app.evaluate", "tfgan_app.cli")),
]
# Commands that live beside the layer they drive; they sit on top like the others.
COMMAND_MODULES = {"tfgan_app.data.__main__", "tfgan_app.export.__main__", "tfgan_app.serving.__main__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int | None:
    if module == "tfgan_app":
        return 0
    if module in COMMAND_MODULES:
        return len(LAYERS) - 1
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return index
    return None


def is_module(dotted: str) -> bool:
    path = PACKAGE.parent / dotted.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every tfgan_app module ``path`` imports, wherever the import stands."""
    tree = ast.parse(path.read_text(), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # ``from tfgan_app.gans import build`` imports a module: count the module.
            found += [(node.lineno, f"{base}.{alias.name}" if is_module(f"{base}.{alias.name}") else base)
                      for alias in node.names]
    return [(line, name) for line, name in found if name == "tfgan_app" or name.startswith("tfgan_app.")]


def upward_imports() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "pipelines" in path.parts:
            continue
        module = module_name(path)
        own = layer_of(module)
        if own is None:
            problems.append(f"{module}: in no layer; add it to LAYERS in tests/test_layers.py and docs/layout.md")
            continue
        for line, target in imported_modules(path):
            theirs = layer_of(target)
            if theirs is None:
                problems.append(f"{path.relative_to(PACKAGE.parent)}:{line}: imports {target}, which is in no layer")
            elif theirs > own:
                problems.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line}: {module} ({LAYERS[own][0]}) imports {target} "
                    f"({LAYERS[theirs][0]}), a layer above it"
                )
    return problems


def test_no_module_imports_from_a_layer_above_its_own():
    assert upward_imports() == []


def test_the_contract_sees_an_upward_import(tmp_path, monkeypatch):
    """The check itself: a data module importing the trainer is reported."""
    fake = tmp_path / "tfgan_app"
    (fake / "data").mkdir(parents=True)
    (fake / "training").mkdir()
    (fake / "training" / "trainer.py").write_text("")
    (fake / "data" / "bad.py").write_text("def f():\n    from tfgan_app.training import trainer\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert upward_imports() == [
        "tfgan_app/data/bad.py:2: tfgan_app.data.bad (data, networks, losses, plots, input kinds) imports tfgan_app.training.trainer "
        "(the run), a layer above it"
    ]


def run_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=PACKAGE.parent).stdout.strip()


def test_the_config_schema_imports_no_tensorflow_and_no_family():
    loaded = run_python(
        "import sys, tfgan_app.config as c; c.Config(); "
        "print(sorted(m for m in sys.modules if m.startswith(('tensorflow', 'keras', 'tfgan_app.gans'))))"
    )
    assert loaded == "[]"


@pytest.mark.parametrize("family, module", [("gan", "tfgan_app.gans.gan"), ("cyclegan", "tfgan_app.gans.cyclegan")])
def test_a_family_is_found_by_name_without_importing_the_others(family, module):
    from tfgan_app.gans.registry import BUILT_IN

    loaded = set(eval(run_python(
        f"import sys; from tfgan_app.gans.registry import get_family; get_family({family!r}); "
        "print(sorted(m for m in sys.modules if m.startswith('tfgan_app.gans.')))"
    )))
    family_modules = set(BUILT_IN.values())
    assert module in loaded
    others = (loaded & family_modules) - {module, "tfgan_app.gans.gan"}  # a family may build on GAN
    assert not others, f"get_family({family!r}) imported {sorted(others)}"
