"""LPN training: the proximal matching loss and γ schedule, non-negative weights after real optimizer
steps, a short toy training that moves the prox toward the soft threshold, image batches with fresh
noise, clear configuration errors."""

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from neuralsolvers.data_gen import ImagePatches, LaplaceToy
from neuralsolvers.data_gen.imaging import laplace_map_prox
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.errors import ConfigError
from neuralsolvers.models import LPN
from neuralsolvers.train import ProximalDataModule, ProximalModule
from neuralsolvers.train.proximal.losses import proximal_matching_loss
from neuralsolvers.train.proximal.module import MatchingSchedule, psnr


def test_loss_and_schedule():
    x = torch.zeros(3, 4)
    y = torch.tensor([[0.0, 0, 0, 0], [3.0, 4, 0, 0], [30.0, 0, 0, 0]])  # distances 0, 5, 30
    expected = (0 + (1 - np.exp(-1.0)) + 1.0) / 3  # γ = 5: exp(−1) at distance 5, ~1 at 30
    assert float(proximal_matching_loss(y, x, gamma=5.0)) == pytest.approx(expected, abs=1e-6)
    schedule = MatchingSchedule(pretrain_steps=100, gammas=[0.4, 0.2, 0.1])
    assert schedule.at(0, 400) == ("l1", None) and schedule.at(99, 400) == ("l1", None)
    assert schedule.at(100, 400) == ("prox_matching", 0.4) and schedule.at(200, 400) == ("prox_matching", 0.2)
    assert schedule.at(399, 400) == ("prox_matching", 0.1) and schedule.at(10_000, 400) == ("prox_matching", 0.1)
    assert float(psnr(torch.full((2, 3), 0.1), torch.zeros(2, 3))) == pytest.approx(20.0)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    generate_split(LaplaceToy(), root / "train", 20_000, seed=0)
    return root


def _max_error(model: LPN) -> float:
    y = torch.linspace(-3, 3, 301)[:, None]
    with torch.no_grad():
        learned = model(y)[:, 0].numpy()
    return float(np.abs(learned - laplace_map_prox(y[:, 0].numpy())).max())


def test_short_toy_training_moves_toward_the_soft_threshold(toy):
    torch.manual_seed(0)
    model = LPN(kind="dense", in_features=1, hidden=32, layers=2, beta=10.0)
    module = ProximalModule(model, optimizer=lambda p: torch.optim.Adam(p, lr=1e-3), loss="prox_matching",
                            pretrain_steps=150, gammas=[0.5, 0.25])  # fmt: skip
    data = ProximalDataModule(str(toy / "train"), batch_size=1000)
    before = _max_error(model)
    trainer = pl.Trainer(max_steps=400, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, inference_mode=False, num_sanity_val_steps=0, limit_val_batches=1)  # fmt: skip
    trainer.fit(module, datamodule=data)
    after = _max_error(model)
    # measured: untrained ~2.9 (f ≈ 0 everywhere: the convex weights start at e^−10); after 400
    # steps (~15 s) ~0.3
    assert after < 0.6 and after < 0.3 * before
    assert all(bool((w >= 0).all()) for w in model.constrained())
    assert trainer.callback_metrics["val/gamma"] == pytest.approx(0.25)


def test_images_with_fresh_noise(tmp_path):
    generate_split(ImagePatches(patch_size=16, sources=["synthetic"], operator="denoise", noise_sigma=0.1), tmp_path / "img", 24, seed=0)
    data = ProximalDataModule(str(tmp_path / "img"), batch_size=8, noise_sigma=0.05)
    model = LPN(kind="conv", in_features=1, hidden=8, image_size=16, beta=100.0)
    module = ProximalModule(model, loss="l2")
    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, inference_mode=False, num_sanity_val_steps=0)  # fmt: skip
    trainer.fit(module, datamodule=data)
    train = data.splits["train"]
    measured, clean = (torch.stack(column) for column in zip(*(train[i] for i in range(len(train))), strict=True))
    assert measured.shape == clean.shape == (22, 1, 16, 16)
    assert float((measured - clean).std()) == pytest.approx(0.05, rel=0.1)  # not the stored σ = 0.1
    assert "val/psnr" in trainer.callback_metrics
    unchanged, _ = data.on_after_batch_transfer((measured[:4], clean[:4]), 0)
    assert torch.equal(unchanged, measured[:4])  # outside training the stored measurement is used
    trainer.training = True  # as during fit: every batch gets new noise of the dataset's σ
    fresh, same = data.on_after_batch_transfer((measured[:4], clean[:4]), 0)
    assert not torch.equal(fresh, measured[:4]) and torch.equal(same, clean[:4])
    assert float((fresh - clean[:4]).std()) == pytest.approx(0.05, rel=0.15)


def test_configuration_errors(toy, tmp_path):
    with pytest.raises(ConfigError, match="model.loss"):
        ProximalModule(LPN(), loss="l0")
    with pytest.raises(ConfigError, match="decreasing"):
        ProximalModule(LPN(), gammas=[0.1, 0.5])
    with pytest.raises(ConfigError, match="noise_sigma needs image_patches"):
        ProximalDataModule(str(toy / "train"), noise_sigma=0.1).setup("fit")
