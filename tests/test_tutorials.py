"""The tutorials (docs/tutorials/NN_*.py) run top to bottom as notebooks at a small budget,
and the executed notebooks the docs show were run at full budget from the same sources."""

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TUTORIALS = REPO / "docs" / "tutorials"
QUICK_BUDGET = 0.02


def executor():
    spec = importlib.util.spec_from_file_location("tutorial_execute", TUTORIALS / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOURCES = executor().tutorial_sources()  # the order and naming rule execute.py runs them by


def figures(notebook) -> int:
    return sum("image/png" in output.get("data", {}) for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.outputs)


def test_there_are_tutorials_and_the_docs_list_each():
    assert len(SOURCES) >= 6
    navigation = (REPO / "mkdocs.yml").read_text()
    index = (TUTORIALS / "index.md").read_text()
    for source in SOURCES:
        assert f"tutorials/{source.stem}.ipynb" in navigation, source.name
        assert f"{source.stem}.ipynb" in index, source.name


@pytest.mark.parametrize("source", SOURCES, ids=[source.stem for source in SOURCES])
def test_the_rendered_notebook_is_a_full_run_of_its_source(source):
    jupytext = pytest.importorskip("jupytext")
    rendered = TUTORIALS / f"{source.stem}.ipynb"
    assert rendered.is_file(), f"{rendered.name} is missing: run `make tutorials`"
    notebook = json.loads(rendered.read_text())
    assert notebook["metadata"]["tfgan_app"]["budget"] == 1.0
    fresh = jupytext.read(source)
    assert ["".join(cell["source"]) for cell in notebook["cells"]] == [cell.source for cell in fresh.cells], (
        f"{rendered.name} is not {source.name} as it is: `make tutorials` (or `--text-only` after a prose edit)")
    cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert all(cell["execution_count"] for cell in cells)
    # The index states the minutes of this run.
    row = next(line for line in (TUTORIALS / "index.md").read_text().splitlines() if f"({source.stem}.ipynb)" in line)
    assert row.rstrip(" |").endswith(executor().minutes_text(notebook["metadata"]["tfgan_app"]["seconds"])), row
    assert not any(output["output_type"] == "error" for cell in cells for output in cell["outputs"])


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES, ids=[source.stem for source in SOURCES])
def test_the_tutorial_runs_top_to_bottom_at_a_small_budget(source, tmp_path):
    pytest.importorskip("nbclient")
    notebook = executor().execute(source, QUICK_BUDGET, tmp_path)
    assert all(cell.execution_count for cell in notebook.cells if cell.cell_type == "code")
    assert figures(notebook) >= 3  # each tutorial shows its results as figures
    # Each ends by drawing from an export with `generate`, which writes into its folder.
    assert list(tmp_path.glob("saved_models/*/1/export.json"))
