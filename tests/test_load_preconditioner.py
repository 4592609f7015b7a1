"""``neuralsolvers.load_preconditioner``: a trained checkpoint in one line, the same solves as the
manual wrapping, for a stencil and for a SciPy matrix with ``grid=``; mismatches are clear errors;
the README's "your own matrix" example runs."""

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint

import neuralsolvers
from neuralsolvers.checkpoints import PRECONDITIONER_RECORD, read_checkpoint
from neuralsolvers.data_gen import KrylovVectors, PoissonObstacles
from neuralsolvers.data_gen.poisson import load_systems
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.errors import CheckpointError
from neuralsolvers.models import DCDMNet
from neuralsolvers.solvers import DiffusionStencil, dcdm, dcdm_preconditioner, fcg
from neuralsolvers.train import DCDMModule, KrylovDataModule

GRID = (16, 16)
README = Path(__file__).parents[1] / "README.md"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A DCDM checkpoint written by a real short fit on 16² Krylov vectors (~6 s; DCDM then needs
    14–18 iterations on the held-out systems against 38–47 for CG), and the held-out systems."""
    root = tmp_path_factory.mktemp("load_preconditioner")
    generate_split(KrylovVectors(grid=GRID, scene="boxes", num_lanczos=40), root / "krylov", 64, seed=0, shard_size=64)
    generate_split(PoissonObstacles(grid=GRID, scene="boxes", solve=False), root / "systems", 2, seed=3)
    pl.seed_everything(0)
    data = KrylovDataModule(str(root / "krylov"), batch_size=16)
    module = DCDMModule(DCDMNet(dim=2, in_channels=2, channels=8, blocks=(1, 1, 1)),
                                  optimizer=lambda p: torch.optim.Adam(p, lr=3e-3))  # fmt: skip
    checkpoint = ModelCheckpoint(dirpath=root / "checkpoints", filename="best")
    pl.Trainer(max_steps=150, logger=False, callbacks=[checkpoint], enable_progress_bar=False, enable_model_summary=False,
               limit_val_batches=0, inference_mode=False).fit(module, datamodule=data)  # fmt: skip
    return Path(checkpoint.best_model_path or root / "checkpoints" / "best.ckpt"), load_systems(root / "systems", 2)


def test_checkpoint_records_the_wrapping(trained):
    path, _ = trained
    record = read_checkpoint(path)[PRECONDITIONER_RECORD]
    assert record["inputs"] == ["mask", "residual"] and record["solver"] == "dcdm" and not record["linear"]


def test_same_iterations_as_the_manual_wrapping(trained):
    path, systems = trained
    network = neuralsolvers.load(path)
    for system in systems:
        manual = dcdm(system.operator, system.b, M=dcdm_preconditioner(network, system.mask), rtol=1e-6)
        M = neuralsolvers.load_preconditioner(path, system.operator)
        assert M.solver is dcdm and not M.linear_spd
        loaded = M.solver(system.operator, system.b, M=M, rtol=1e-6)
        assert manual.converged and loaded.iterations == manual.iterations
        # a SciPy matrix of the same grid, with grid= and mask= given by the user
        matrix = system.operator.to_scipy()
        from_scipy = neuralsolvers.load_preconditioner(path, matrix, grid=GRID, mask=system.mask.numpy())
        assert dcdm(matrix, system.b.numpy(), M=from_scipy, rtol=1e-6).iterations == manual.iterations
        assert fcg(matrix, system.b.numpy(), M=from_scipy, rtol=1e-6).iterations == \
            fcg(system.operator, system.b, M=dcdm_preconditioner(network, system.mask), rtol=1e-6).iterations  # fmt: skip


def test_checkpoints_written_before_the_record_still_load(trained, tmp_path):
    path, systems = trained
    data = torch.load(path, weights_only=True)
    del data[PRECONDITIONER_RECORD]
    torch.save(data, tmp_path / "old.ckpt")
    system = systems[0]
    old = neuralsolvers.load_preconditioner(tmp_path / "old.ckpt", system.operator)
    new = neuralsolvers.load_preconditioner(path, system.operator)
    assert dcdm(system.operator, system.b, M=old).iterations == dcdm(system.operator, system.b, M=new).iterations


def test_mismatches_are_one_clear_error(trained, tmp_path):
    path, systems = trained
    matrix = systems[0].operator.to_scipy()
    with pytest.raises(ValueError, match="pass grid="):
        neuralsolvers.load_preconditioner(path, matrix)
    with pytest.raises(ValueError, match="grid 10×10 has 100 cells but A has 256 unknowns"):
        neuralsolvers.load_preconditioner(path, matrix, grid=(10, 10))
    with pytest.raises(ValueError, match="mask has shape"):
        neuralsolvers.load_preconditioner(path, matrix, grid=GRID, mask=np.ones((4, 4), bool))
    with pytest.raises(ValueError, match="network .* is 2D but the grid 4×8×8 is 3D"):
        neuralsolvers.load_preconditioner(path, DiffusionStencil((4, 8, 8)))
    M = neuralsolvers.load_preconditioner(path, systems[0].operator)
    with pytest.raises(ValueError, match=r"for 256 unknowns \(grid 16×16\) but A has 1024 unknowns"):
        dcdm(DiffusionStencil((32, 32)), torch.ones(1024, dtype=torch.float64), M=M)
    data = torch.load(path, weights_only=True)
    data["neuralsolvers_model"]["name"] = "deeponet"
    del data[PRECONDITIONER_RECORD]
    torch.save(data, tmp_path / "other.ckpt")
    with pytest.raises(CheckpointError, match="model .deeponet. is not a learned preconditioner"):
        neuralsolvers.load_preconditioner(tmp_path / "other.ckpt", matrix, grid=GRID)


def readme_block(heading: str) -> str:
    """The first Python code block after ``heading`` in the README or, failing that, in a page of docs/."""
    for page in [README, *sorted((README.parent / "docs").rglob("*.md"))]:
        text = page.read_text()
        if heading in text:
            return re.search(r"```python\n(.*?)```", text[text.index(heading):], re.S).group(1)
    raise ValueError(f"no {heading!r} in README.md or docs/")


def test_readme_your_own_matrix_runs(trained, tmp_path, monkeypatch, capsys):
    """The README's example, executed as written (the main job's checkpoint path holds the tiny one)."""
    path, _ = trained
    code = readme_block("## Your own matrix")
    checkpoint = re.search(r'"(checkpoints/[^"]+\.ckpt)"', code).group(1)
    (tmp_path / checkpoint).parent.mkdir(parents=True)
    shutil.copy(path, tmp_path / checkpoint)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert re.search(r"learned: \d+ iterations.*PyAMG: \d+ iterations", printed, re.S), printed
