# Attention, step by step. `make lab` to learn, `make test` to check everything.
# Needs Python >= 3.10 and make; everything else goes into .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
JUPYTER_ARGS ?=
# Jupyter refuses to run as root unless told; in a container you often are root.
ROOT_ARGS := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)
NOTEBOOKS ?= $(wildcard notebooks/[0-9][0-9]_*.ipynb)
STUDENT_DIR := student
# pytest options for the notebooks: always the current environment's kernel
NBVAL := --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider

.PHONY: lab test test-lib test-notebooks test-student test-gpu bench notebooks student slides site grade clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamps: reinstall only when pyproject.toml changes. Installs byte-compile what they install, and must:
# `make grade`'s kernels see .venv read-only in their sandbox, so without the compiled files every kernel
# compiles IPython, NumPy and the rest again as it starts.
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# uv (astral.sh/uv), put into .venv by pip, installs the course and its test and gpu extras (pip installs
# the bench extra, PyTorch from its own index, below): the same packages as pip
# picks, in about 11 s where pip takes 52 s for the test extra (2 cores, a fresh clone; most of `make
# test`'s time before its first test). uv reads no pip.conf: where it cannot reach the package index
# that pip can (a mirror set in pip.conf), pip installs instead. INSTALLER=pip: pip alone.
INSTALLER ?= uv
UV_INSTALL := $(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode
define INSTALL
$(if $(filter uv,$(INSTALLER)),($(PIP_INSTALL) uv && $(UV_INSTALL) $(1)) \
	    || (echo "make: uv could not install, pip installs instead" >&2 && $(PIP_INSTALL) $(1)),$(PIP_INSTALL) $(1))
endef

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(call INSTALL,-e .)
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(call INSTALL,-e ".[test]")
	@# Build Matplotlib's font cache now, so its one-time notice never lands in a notebook's output.
	$(BIN)/python -c "import matplotlib.pyplot"
	@touch $@ $(VENV)/.installed

$(VENV)/.installed-gpu: pyproject.toml | $(BIN)/python
	$(call INSTALL,-e ".[test,gpu]")
	$(BIN)/python -c "import matplotlib.pyplot"
	@touch $@ $(VENV)/.installed-test $(VENV)/.installed

# PyTorch, for `make bench` only. On Linux, PyPI's torch is the CUDA build (several GB with its
# nvidia-* libraries); a machine without an NVIDIA GPU gets the CPU build (about 190 MB) from
# PyTorch's own index instead, which pip prefers (2.x.y+cpu sorts above 2.x.y). Behind a mirror,
# set TORCH_INDEX (or PIP_EXTRA_INDEX_URL) to its copy of that index; TORCH_INDEX= uses PyPI's alone.
TORCH_INDEX ?= $(if $(wildcard /dev/nvidia0),,https://download.pytorch.org/whl/cpu)

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -e ".[bench]" $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	@touch $@ $(VENV)/.installed

# jupyter-config/ comes first on Jupyter's config path: its labconfig/page_config.json turns off
# @jupyterlab/mathjax3-extension, a JupyterLab 3 extension that jupyterlab_rise pulls in and that
# would replace JupyterLab 4's own MathJax (formulas would lose the MathML that screen readers read);
# its jupyter_server_config.py makes lab/settings/overrides.json5 the defaults of JupyterLab and of
# jupyterlab-rise's slideshow (slides the size of the screen, numbered; notebooks/rise.css sets the fonts).
lab: $(VENV)/.installed
	JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter-config$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
	$(BIN)/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 $(ROOT_ARGS) $(JUPYTER_ARGS)

# pytest-xdist: one worker per core and one more (conftest.py says why; TEST_JOBS=n to choose, 0 for none),
# each test file or notebook whole on one worker (--dist loadfile), the longest first (FIRST in conftest.py).
TEST_JOBS ?= auto
XDIST := $(if $(filter 0,$(TEST_JOBS)),-p no:xdist,-n $(TEST_JOBS) --dist loadfile --no-loadscope-reorder)

# Everything in one session, so that no core waits for another's last file: the library tests,
# every notebook under strict nbval, every student copy run (its outputs not compared), and the
# slowest tests named at the end. Python keeps its bytecode (__pycache__/, git-ignored) even where
# the environment says not to (PYTHONDONTWRITEBYTECODE, set in many containers): a run starts more
# than a hundred Python processes (workers, kernels, graders), and each would compile course_lib
# again (90 ms to import it instead of 30 ms), and each worker would rewrite every test module for
# pytest (collection 6 s of CPU instead of 3 s).
test: student
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest $(XDIST) --durations=10 --nbval --nbval-lax-under $(STUDENT_DIR) $(NBVAL) \
	    tests $(NOTEBOOKS) $(STUDENT_DIR)

test-lib: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(XDIST) tests

test-notebooks: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(XDIST) --nbval $(NBVAL) $(NOTEBOOKS)

test-student: student
	$(BIN)/python -m pytest $(XDIST) --nbval-lax $(NBVAL) $(STUDENT_DIR)

# Stops at once, with the reason, where CuPy cannot run on a GPU here.
define REQUIRE_GPU
import sys
from course_lib import backend
try:
    cupy = backend.use("cupy")
except backend.BackendUnavailableError as err:
    why = str(err).replace(backend.FALLBACK_HINT, "").strip()
    sys.exit(f"make test-gpu needs CuPy on a usable NVIDIA GPU; here: {why} (make test runs everything on NumPy.)")
print("GPU:", cupy.cuda.runtime.getDeviceProperties(0)["name"].decode())
endef
export REQUIRE_GPU

# The library tests and every notebook on the GPU (CuPy). A CuPy case may not be skipped
# (COURSE_REQUIRE_GPU); the notebooks run under --nbval-lax, as a GPU's floats differ from the
# stored outputs in their last digits.
test-gpu: $(VENV)/.installed-gpu
	$(BIN)/python -c "$$REQUIRE_GPU"
	COURSE_LIB_BACKEND=cupy COURSE_REQUIRE_GPU=1 $(BIN)/python -m pytest tests
	COURSE_LIB_BACKEND=cupy $(BIN)/python -m pytest --nbval-lax $(NBVAL) $(NOTEBOOKS)

# Tiled attention against PyTorch's and the readable one: a table of figures, and issue 11's targets
# (bench/attention_bench.py; BENCH_REPEAT=n runs per case). Asserts nothing.
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/attention_bench.py

# Each notebook in a fresh kernel, outputs stored; no timing metadata and one stream
# output per cell, so that re-executing an unchanged notebook changes nothing.
notebooks: $(VENV)/.installed-test
	$(BIN)/python -m course_lib.authoring.execute $(NOTEBOOKS)

student: $(VENV)/.installed-test
	rm -rf $(STUDENT_DIR)
	$(BIN)/python -m course_lib.authoring.student notebooks $(STUDENT_DIR)

# Static reveal.js decks (build/slides/) and the course site (build/site/) from the stored
# outputs; both self-contained, so they show with no network. The first build downloads
# reveal.js once from the npm registry into build/vendor/.
slides: $(VENV)/.installed
	$(BIN)/python -m course_lib.authoring.publish slides $(NOTEBOOKS)

site: $(VENV)/.installed
	$(BIN)/python -m course_lib.authoring.publish site $(NOTEBOOKS)

# Grade a class: every notebook under SUBMISSIONS (recursively) run in a bubblewrap sandbox of its own
# (where bwrap is installed; SANDBOX=0 to run without), each exercise judged by the grader; as each
# notebook finishes, OUT (default build/grade/files.csv, a row per file) and beside it grades.csv (a row
# per student), feedback/ and unmatched.txt; a rerun keeps what is done (REGRADE=1: all again; a timed-out
# notebook runs again where TIMEOUT is now larger). JOBS kernels at a time (default one per core); per
# notebook TIMEOUT seconds (120), MEMORY MiB (4096), CPU seconds (600), PROCESSES (256), FILE_SIZE MiB
# (256); ROSTER=class.csv; SHARD=i/N a fixed share.
# MERGE="shard tables" joins shards' OUT into OUT instead of grading.
grade: $(VENV)/.installed-test
	$(if $(or $(SUBMISSIONS),$(MERGE)),,$(error SUBMISSIONS is not set: make grade SUBMISSIONS=folder-of-handed-in-notebooks [OUT=files.csv JOBS=N TIMEOUT=seconds ...]))
	$(BIN)/python -m course_lib.authoring.grade $(if $(MERGE),--merge $(MERGE),"$(SUBMISSIONS)") $(if $(OUT),--out "$(OUT)") $(if $(JOBS),--jobs $(JOBS)) $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(if $(MEMORY),--memory $(MEMORY)) $(if $(CPU),--cpu $(CPU)) $(if $(PROCESSES),--processes $(PROCESSES)) $(if $(FILE_SIZE),--file-size $(FILE_SIZE)) $(if $(SHARD),--shard $(SHARD)) $(if $(ROSTER),--roster "$(ROSTER)") $(if $(filter 1,$(REGRADE)),--regrade) $(if $(filter 0,$(SANDBOX)),--no-sandbox)

clean:
	rm -rf $(VENV) $(STUDENT_DIR) build .pytest_cache .hypothesis
