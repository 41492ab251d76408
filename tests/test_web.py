"""The web export: the page runs the ONNX generator in a real headless Chromium (Debian's
chromium and chromium-driver, driven by Selenium; ``make data`` installs them) and draws what
the SavedModel computes for the same inputs; the class picker changes the samples; the
browser logs no error; a damaged model gives a message on the page; ``tfgan serve --web``
serves the folder on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import tiny_config
from tfgan_app.export.web import runtime_folder

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
needs_browser = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="no chromium and chromedriver on PATH (make data installs Debian's chromium and chromium-driver)",
)
needs_runtime = pytest.mark.skipif(
    not (runtime_folder() / ".complete").is_file() and shutil.which("npm") is None,
    reason="onnxruntime-web is not in the data cache and npm is not installed (make data fetches it)",
)


@pytest.fixture(scope="module")
def conditional_export(tmp_path_factory):
    """A tiny conditional GAN trained a few steps on the bar images, exported with its page."""
    from tests.helpers import write_idx_dataset
    from tfgan_app.export import export_run
    from tfgan_app.training.trainer import train

    root = tmp_path_factory.mktemp("web")
    config = tiny_config(data={"idx_dir": str(write_idx_dataset(root / "idx", count=64)), "data_dir": str(root / "tfds")},
                         model={"family": "cgan"}, train={"batch_size": 8, "steps": 2})
    train(config, root / "run", progress_stream=open("/dev/null", "w"))
    [result] = export_run(root / "run", root / "models", "tiny_cgan")
    return result


@pytest.fixture
def page_url(conditional_export):
    from tfgan_app.serving.web import page_server

    servers = []

    def serve(folder: Path) -> str:
        server = page_server(folder, 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("no chromium and chromedriver on PATH (make data installs them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=420,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def wait_for_page(driver, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = driver.execute_script("return window.tfgan ? {ready: window.tfgan.ready, error: window.tfgan.error} : null")
        if state and (state["ready"] or state["error"]):
            return state
        time.sleep(0.2)
    raise AssertionError("the page neither generated nor reported an error")


def generate_on_page(driver, seed: int, label: int) -> tuple[dict, np.ndarray]:
    """Set the seed and the class, press Generate; (the inputs the page used, the grid's pixels)."""
    driver.execute_script(
        "document.getElementById('seed').value = arguments[0];"
        "document.getElementById('input-label').value = arguments[1];"
        "window.tfgan.last = null; document.getElementById('generate').click();", seed, label,
    )
    deadline = time.monotonic() + 60
    while driver.execute_script("return window.tfgan.last") is None:
        assert time.monotonic() < deadline, "Generate drew nothing"
        time.sleep(0.1)
    last = driver.execute_script("return window.tfgan.last")
    width, height, pixels = driver.execute_script(
        "const c = document.getElementById('grid'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);"
        "return [c.width, c.height, Array.from(d.data)];"
    )
    return last, np.asarray(pixels, np.uint8).reshape(height, width, 4)


def tiles(grid: np.ndarray, layout: dict, count: int) -> np.ndarray:
    """The images of a page's grid in [-1, 1] (red channel: the images are gray)."""
    step_h, step_w = layout["height"] + layout["padding"], layout["width"] + layout["padding"]
    images = []
    for index in range(count):
        top = layout["padding"] + (index // layout["columns"]) * step_h
        left = layout["padding"] + (index % layout["columns"]) * step_w
        images.append(grid[top : top + layout["height"], left : left + layout["width"], 0])
    return np.stack(images).astype(np.float32) / 127.5 - 1.0


@needs_browser
@needs_runtime
def test_the_page_draws_what_the_savedmodel_computes_and_the_class_picker_changes_it(conditional_export, page_url, browser):
    from tfgan_app.export.artifacts import load_savedmodel_signature, run_savedmodel

    version_dir = conditional_export.path
    manifest = json.loads((version_dir / "export.json").read_text())
    assert "web/" in manifest["files"] and manifest["web"]["runtime"] == "onnxruntime-web@1.30.0"
    assert {"index.html", "app.js", "model.onnx", "model.json", "ort.wasm.min.js", "ort-wasm-simd-threaded.wasm"} <= \
        set(manifest["web"]["files"])
    browser.get(page_url(version_dir / "web"))
    assert wait_for_page(browser) == {"ready": True, "error": ""}
    signature = load_savedmodel_signature(version_dir)
    drawn = {}
    for label in (0, 3):
        last, grid = generate_on_page(browser, seed=7, label=label)
        inputs = {name: np.asarray(value["data"], np.float32 if name == "z" else np.int32).reshape(value["dims"])
                  for name, value in last["inputs"].items()}
        assert (inputs["label"] == label).all() and last["ms"] > 0
        expected = run_savedmodel(signature, inputs)
        drawn[label] = tiles(grid, last["grid"], len(expected))
        # The page draws 8-bit pixels: one level is 1/127.5 = 0.0078 of the [-1, 1] range.
        assert np.abs(drawn[label] - expected[..., 0]).max() <= 1e-2
    assert np.abs(drawn[0] - drawn[3]).mean() > 1e-3  # another class, other samples from the same noise
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors


@needs_browser
@needs_runtime
def test_a_damaged_or_missing_model_is_reported_on_the_page(conditional_export, page_url, browser, tmp_path):
    for damage in ("truncated", "missing"):
        folder = tmp_path / damage
        shutil.copytree(conditional_export.path / "web", folder)
        if damage == "missing":
            (folder / "model.onnx").unlink()
        else:
            (folder / "model.onnx").write_bytes((folder / "model.onnx").read_bytes()[:500])
        browser.get(page_url(folder))
        state = wait_for_page(browser)
        assert not state["ready"] and "model.onnx could not be loaded" in state["error"]
        assert browser.find_element("id", "error").is_displayed()


def test_the_web_format_needs_onnx_and_serve_refuses_an_export_without_a_page(conditional_export, tmp_path, capsys):
    from tfgan_app.export import export_run
    from tfgan_app.export.exporter import ExportError
    from tfgan_app.serving.__main__ import main as serve_main

    run = Path(json.loads((conditional_export.path / "export.json").read_text())["source_run"])
    with pytest.raises(ExportError, match="the web format is a page that runs the ONNX model"):
        export_run(run, tmp_path / "models", formats=("savedmodel", "web"))
    export_run(run, tmp_path / "models", "plain", formats=("savedmodel",))
    assert serve_main(["--web", str(tmp_path / "models" / "plain")]) == 2
    assert "has no web page" in capsys.readouterr().err


@needs_runtime
def test_serve_prints_the_url_serves_the_page_with_wasm_typed_and_stops_on_ctrl_c(conditional_export):
    # Started with SIGINT ignored, as a non-interactive shell starts a background job: Ctrl-C
    # (here the signal itself) still stops it.
    process = subprocess.Popen(
        [sys.executable, "-m", "tfgan_app.serving", "--web", str(conditional_export.path.parent), "--port", "0"],
        stdout=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        line = process.stdout.readline()
        assert "tiny_cgan v1: http://127.0.0.1:" in line
        url = line.split()[2]
        assert b"ort.wasm.min.js" in urllib.request.urlopen(url, timeout=10).read()
        with urllib.request.urlopen(url + "ort-wasm-simd-threaded.wasm", timeout=10) as reply:
            assert reply.headers["Content-Type"] == "application/wasm"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0  # a bound, not a wait: alone it stops within a second
    assert "stopped" in process.stdout.read()


@needs_browser
@needs_runtime
def test_a_sound_generator_gets_play_buttons_named_by_pitch(page_url, browser, tmp_path):
    from tests.helpers import write_tone_folder
    from tfgan_app.export import export_run
    from tfgan_app.training.trainer import train

    config = tiny_config(data={"name": "audio_folder", "folder": str(write_tone_folder(tmp_path / "clips")),
                               "audio_samples": 1024},
                         model={"family": "wavegan", "latent_dim": 8}, train={"batch_size": 4, "steps": 1},
                         wavegan={"width": 2})
    train(config, tmp_path / "run", progress_stream=open("/dev/null", "w"))
    [result] = export_run(tmp_path / "run", tmp_path / "models", "tiny_wavegan")
    browser.get(page_url(result.path / "web"))
    assert wait_for_page(browser) == {"ready": True, "error": ""}
    buttons = [button.text for button in browser.find_elements("css selector", ".sound button")]
    assert len(buttons) == 8 and buttons[0] == "Play 1 (high)" and buttons[-1] == "Play 8 (low)"
    assert browser.execute_script("return window.tfgan.last.output.dims") == [8, 1024]


@needs_browser
@needs_runtime
def test_a_video_generator_draws_a_contact_sheet_of_its_clips(page_url, browser, tmp_path):
    from tfgan_app.export import export_run
    from tfgan_app.gans.registry import load_config
    from tfgan_app.training.trainer import train

    config = load_config("moving_fashion_mnist_mocogan", [
        "data.video_frames=8", "data.video_size=16", "data.video_item=8", "data.limit=8", "train.batch_size=4",
        "train.steps=1", "model.latent_dim=6", "mocogan.width=4", "train.steps_per_execution=1"])
    train(config, tmp_path / "run", progress_stream=open("/dev/null", "w"))
    [result] = export_run(tmp_path / "run", tmp_path / "models", "tiny_mocogan")
    browser.get(page_url(result.path / "web"))
    assert wait_for_page(browser) == {"ready": True, "error": ""}
    assert browser.execute_script("return window.tfgan.last.output.dims") == [16, 8, 16, 16, 1]
    width, height = browser.execute_script("const c = document.getElementById('grid'); return [c.width, c.height];")
    assert (width, height) == (8 * 18 + 2, 16 * 18 + 2)  # one clip per row, its 8 frames across
