# The README's two commands: `make demo` (set up, then the main job) and `make test` (set up, then tests).
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
NS := $(BIN)/neuralsolvers

.PHONY: install demo demo-fem demo-dcdm demo-deeponet test test-quick lint docs gpu-check

# A venv inside the repo. A torch already in the venv (e.g. your own CUDA build) is kept;
# otherwise $(TORCH) is installed first so the range in pyproject.toml pulls nothing more.
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install "$(TORCH)"
	$(BIN)/pip install -e '.[dev,docs]'
	touch $@

install: $(BIN)/.installed

# Main job: the neural multigrid (a learned, SPD multigrid preconditioner) trained at 64², then the
# verdict against CG, Jacobi, IC(0), AMG (torch; PyAMG SA and RS), geometric multigrid and a sparse direct
# solve on held-out scenes at 64² and 256², W&B-tracked
# (offline unless you are logged in).
# Each demo is one `evaluate`: its config's `requires` generate the data and train the model first
# when they are missing, so a second run re-evaluates the trained model and never retrains it
# (`neuralsolvers fit --config ... --overwrite` retrains into the same checkpoint directory).
demo: install
	$(NS) evaluate --config configs/eval/neural_mg_demo.yaml
	$(NS) evaluate --config configs/eval/neural_mg_contrast.yaml

# The learned AMG on unstructured finite elements: data, training (~4 min on 2 cores), the verdict
# against Jacobi, IC(0), PyAMG SA and RS, our torch AMG, its own classical start and SuperLU.
demo-fem: install
	$(NS) evaluate --config configs/eval/learned_amg_fe2d.yaml

# The DCDM job: DCDM's network from data generation to the verdict against CG, Jacobi, IC(0), AMG and
# geometric multigrid on held-out systems.
demo-dcdm: install
	$(NS) evaluate --config configs/eval/dcdm_poisson2d.yaml

# Operator learning: DeepONet learns the antiderivative operator, evaluated in and out of distribution.
demo-deeponet: install
	$(NS) evaluate --config configs/eval/deeponet_antiderivative.yaml

# Everything CI runs: the import contracts, the quick suite (prints the 15 slowest tests), then the
# long runs (DDP, resume, end-to-end subprocesses). `make test-quick` is the quick suite alone.
test: install
	$(BIN)/lint-imports
	$(BIN)/python -m pytest --durations=15
	$(BIN)/python -m pytest -m long --durations=5

test-quick: install
	$(BIN)/python -m pytest --durations=15

# The manual (docs/, mkdocs-material + mkdocstrings), built offline with warnings as errors into site/.
docs: install
	$(BIN)/mkdocs build --strict --site-dir site

lint: install
	$(BIN)/ruff check .

# GPU check (a lent H100/H200): the gpu tests and the CUDA rows of every benchmark, ~10 minutes,
# JSON and Markdown into $(OUT). Without CUDA it says so and exits 0.
OUT ?= results/gpu-check
gpu-check: install
	bash benchmarks/gpu_check.sh $(OUT)
