# Quick start:  make train   (set up, train the default pipeline)
#               make test    (set up, run the test suite)
VENV ?= .venv
PYTHON ?= python3
FASHION_MNIST = /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
# Extra flags for the trainer, e.g. make train ARGS="--pipeline toy_ring_mlp --steps 500"
ARGS ?=

.PHONY: soundfont notes text web npm browser setup data fashion-mnist emoji train test docs tutorials zoo clean

setup: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[test]"
	touch $@

# Fashion-MNIST IDX files from Debian (offline; the same files TFDS's fashion_mnist uses),
# the emoji images from the npm registry (npm from Debian when it is missing), and fluidsynth
# with the Fluid R3 SoundFont from Debian (real sampled instruments, for the audio data),
# Debian's fortunes and wamerican (English text and a word list),
# onnxruntime-web from npm (the web export's runtime) and Debian's headless Chromium with its
# driver (the web page's test runs in a real browser).
data: fashion-mnist emoji soundfont text web browser

# English text: Debian's fortunes (quotations) and wamerican (a word list).
text:
	@{ test -d /usr/share/games/fortunes && test -f /usr/share/dict/american-english; } || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq fortunes wamerican; }

web: setup npm
	$(VENV)/bin/python -m tfgan_app.data fetch web

npm:
	@command -v npm >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq npm; }

browser:
	@{ command -v chromium >/dev/null && command -v chromedriver >/dev/null; } || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver; }

soundfont:
	@{ command -v fluidsynth >/dev/null && test -f /usr/share/sounds/sf2/FluidR3_GM.sf2; } || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends fluidsynth fluid-soundfont-gm; }

# The instrument notes (112 General MIDI programs x MIDI 24-84, 1 s at 16 kHz) into the data cache.
notes: setup soundfont
	$(VENV)/bin/python -m tfgan_app.data fetch notes

fashion-mnist:
	@test -f $(FASHION_MNIST) || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq dataset-fashion-mnist; }

emoji: setup npm
	$(VENV)/bin/python -m tfgan_app.data fetch emoji

train: setup fashion-mnist web
	$(VENV)/bin/python -m tfgan_app.train $(ARGS)

# Two test processes, each module's tests (and its module-scoped fixtures) in one: much of
# a test's time is single-threaded Python (tracing, building Keras models), so two
# processes keep both cores busy; each gives TensorFlow its share of the cores
# (tests/conftest.py), not all of them. TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2
test: setup
	$(VENV)/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=15

# The documentation site (docs/, mkdocs.yml) into site/; --strict fails on a broken link or reference.
docs: setup
	$(VENV)/bin/mkdocs build --strict

# Run every tutorial (docs/tutorials/NN_*.py) at full budget, each in a fresh kernel, and
# write the executed notebooks beside them (docs/tutorials/*.ipynb, what `make docs` shows);
# about an hour on a 2-core CPU. The test suite runs them at a small budget.
tutorials: setup fashion-mnist
	$(VENV)/bin/python docs/tutorials/execute.py

# Retrain and remeasure every pipeline the zoo command measures (hours on a 2-core CPU), then
# rewrite benchmarks/zoo.md and the README's table from benchmarks/zoo.json.
zoo: setup data
	$(VENV)/bin/python benchmarks/zoo.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache site
