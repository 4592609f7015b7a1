"""Checkpoints written before the package was regrouped by method family still load.

``tests/data/old_layout/`` holds two small checkpoints written by ``neuralsolvers fit`` at the commit
named in ``WRITTEN_AT_COMMIT`` (flat ``train/`` and ``solvers/`` modules): a neural multigrid (a
learned preconditioner, 2 steps on 64² scenes) and a hidden-term PINN on Lotka–Volterra (2 steps).
"""

from pathlib import Path

import pytest
import torch
import yaml

import neuralsolvers
from neuralsolvers.checkpoints import read_checkpoint
from neuralsolvers.cli import main
from neuralsolvers.solvers import DiffusionStencil, GeometricMultigrid, cg

OLD = Path(__file__).parent / "data" / "old_layout"
CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_the_checkpoints_name_the_old_layout():
    for name in ("neural_mg_2d.ckpt", "upinn_lotka_volterra.ckpt"):
        hyper = read_checkpoint(OLD / name)["hyper_parameters"]
        assert hyper["_class_path"].startswith("neuralsolvers.train.")  # the root names, kept importable


def test_an_old_neural_multigrid_checkpoint_gives_its_spd_preconditioner():
    torch.manual_seed(0)
    mask = torch.ones(32, 32, dtype=torch.bool)
    mask[10:16, 12:20] = False
    A = DiffusionStencil((32, 32), torch.ones(32, 32, dtype=torch.float64), mask)
    M = neuralsolvers.load_preconditioner(OLD / "neural_mg_2d.ckpt", A)
    assert M.linear_spd
    b = torch.randn(32 * 32, dtype=torch.float64) * mask.flatten()
    learned = cg(A, b, M=M, rtol=1e-8)
    classical = cg(A, b, M=GeometricMultigrid(A), rtol=1e-8)
    assert learned.converged and learned.iterations <= classical.iterations + 2
    assert float(torch.linalg.norm(b - A.matvec(learned.x)) / torch.linalg.norm(b)) < 1e-7


def test_an_old_pinn_checkpoint_loads_and_resumes(tmp_path, monkeypatch):
    net = neuralsolvers.load(OLD / "upinn_lotka_volterra.ckpt")
    assert type(net).__name__ == "HiddenTermNet"
    assert torch.isfinite(net(torch.linspace(0, 1, 5)[:, None])).all()

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert main(["generate", "--config", str(CONFIGS / "data/lotka_volterra.yaml")]) == 0
    resumed = ["fit", "--config", str(CONFIGS / "upinn_lotka_volterra.yaml"), "--trainer.max_steps=4", "--trainer.logger=false",
               "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false", "--checkpoint.dirpath=resumed",
               f"--ckpt_path={OLD / 'upinn_lotka_volterra.ckpt'}"]  # fmt: skip
    assert main(resumed) == 0
    assert read_checkpoint(tmp_path / "resumed/last.ckpt")["global_step"] == 4  # went on from step 2


@pytest.mark.parametrize("name", ["PINNModule", "PINNDataModule", "SceneDataModule"])
def test_the_old_class_paths_resolve(name):
    import neuralsolvers.train

    assert getattr(neuralsolvers.train, name).__name__ == name


def test_the_neural_multigrid_module_is_now_the_learned_preconditioner_module():
    import neuralsolvers.train

    with pytest.warns(DeprecationWarning, match="NeuralMultigridModule is now LearnedPreconditionerModule"):
        assert neuralsolvers.train.NeuralMultigridModule is neuralsolvers.train.LearnedPreconditionerModule
    assert "NeuralMultigridModule" not in neuralsolvers.train.__all__


def test_the_old_dcdm_module_name_is_an_alias_that_warns():
    import neuralsolvers.train
    from neuralsolvers.train.preconditioner import dcdm

    with pytest.warns(DeprecationWarning, match="use neuralsolvers.train.DCDMModule"):
        assert dcdm.PreconditionerModule is neuralsolvers.train.DCDMModule
    assert neuralsolvers.train.PreconditionerModule is neuralsolvers.train.DCDMModule
    assert "PreconditionerModule" not in neuralsolvers.train.__all__


def test_a_config_with_the_old_dcdm_module_name_parses(tmp_path, capsys):
    new = (CONFIGS / "dcdm_poisson2d.yaml").read_text()
    assert "class_path: neuralsolvers.train.DCDMModule" in new
    old = tmp_path / "dcdm_old_name.yaml"
    old.write_text(new.replace("neuralsolvers.train.DCDMModule", "neuralsolvers.train.PreconditionerModule"))
    assert main(["fit", "--config", str(old), "--print_config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["model"]["class_path"] == "neuralsolvers.train.PreconditionerModule"
    assert printed["model"]["init_args"]["val_maxiter"] == 200
