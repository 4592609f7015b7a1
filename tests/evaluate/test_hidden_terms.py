"""Hidden-term discovery: the observations generator, the UPINN residual, and the discovery scored
against the truth with a term network fitted to the true interaction term."""

import json

import numpy as np
import torch

from neuralsolvers.data_gen import FisherKPPObservations, LotkaVolterraObservations
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.evaluate import HiddenTermDiscovery
from neuralsolvers.models import HiddenTermNet, model_spec
from neuralsolvers.physics.pinn_hidden import LotkaVolterraHidden, ReactionDiffusionHidden
from neuralsolvers.physics.pinn_problems import CollocationSampler


def test_observations_are_the_solution_plus_the_stated_noise(tmp_path):
    generator = LotkaVolterraObservations(noise=0.05, num_measurements=301)
    generate_split(generator, tmp_path / "lv", 1, seed=0)
    data = ShardedDataset(tmp_path / "lv", generator="lotka_volterra_observations")
    clean, measured = (data.load([k])[k][0] for k in ("u", "measured"))
    assert clean.shape == measured.shape == (301, 2)  # measurements on the reference grid here
    noise = (measured - clean).std(0) / clean.std(0)
    np.testing.assert_allclose(noise, 0.05, rtol=0.15)
    assert generator.hidden_coefficients() == {"u1": {"u1*u2": -0.9}, "u2": {"u1*u2": 0.8}}


def test_fisher_kpp_observations_converge_and_sit_on_interior_nodes(tmp_path):
    generator = FisherKPPObservations(num_x=101, num_t=21, num_measurements=50, noise=0.0)
    generate_split(generator, tmp_path / "kpp", 1, seed=0)
    data = ShardedDataset(tmp_path / "kpp")
    u, measured = data.load(["u"])["u"][0], data.load(["measured"])["measured"][0]
    where = data.load(["measurement_points"])["measurement_points"][0]
    assert u.shape == (21, 101) and measured.shape == (50,) and where.shape == (50, 2)
    assert float(u[:, [0, -1]].max()) == 0.0 and 0.5 < float(u[-1].max()) < 1.0  # grows towards 1, zero at the ends
    columns = np.rint(where[:, 0] * 100).astype(int)
    rows = np.rint(where[:, 1] / 2.0 * 20).astype(int)
    np.testing.assert_allclose(measured, u[rows, columns])  # noise 0: the solution at those nodes
    assert columns.min() > 0 and columns.max() < 100
    # second order in space: halving h cuts the change on refinement ~4×
    coarse = np.abs(generator.solve(51) - generator.solve(101)[:, ::2]).max()
    fine = np.abs(generator.solve(101) - generator.solve(201)[:, ::2]).max()
    assert 3.0 < coarse / fine < 5.0


class ExactReaction(torch.nn.Module):
    """u = e^{−Dπ²t} a sin(πx) solves u_t = D u_xx, i.e. the problem with the term F = 0."""

    def forward(self, x):
        return (0.5 * torch.exp(-0.01 * torch.pi**2 * x[:, 1]) * torch.sin(torch.pi * x[:, 0]))[:, None]

    def term(self, u):
        return torch.zeros_like(u)


def test_reaction_diffusion_residual_and_conditions_of_an_exact_solution():
    problem = ReactionDiffusionHidden(diffusivity=0.01, amplitude=0.5)
    losses = problem.losses(ExactReaction(), CollocationSampler("sobol"), 64, torch.zeros((), dtype=torch.float64))
    assert set(losses) == {"residual", "initial", "boundary"} and max(float(v) for v in losses.values()) < 1e-20


class Manufactured(torch.nn.Module):
    """u = (eᵗ, e⁻ᵗ) with the term F(u) = ((1 − α) u₁, (δ − 1) u₂) that makes it solve the problem."""

    def forward(self, t):
        return torch.cat([torch.exp(t), torch.exp(-t)], dim=1)

    def term(self, u):
        return torch.stack([(1 - 1.3) * u[:, 0], (1.8 - 1) * u[:, 1]], dim=1)


def test_residual_of_a_manufactured_solution_vanishes():
    problem = LotkaVolterraHidden()
    t = torch.rand(50, 1, dtype=torch.float64, requires_grad=True)
    assert problem.residual(Manufactured(), t).shape == (50, 2)
    assert float(problem.residual(Manufactured(), t).abs().max()) < 1e-12


def test_discovery_recovers_the_interaction_terms(tmp_path):
    generate_split(LotkaVolterraObservations(num_points=101), tmp_path / "lv", 1, seed=0)
    data = ShardedDataset(tmp_path / "lv")
    times, reference = torch.from_numpy(data.shared["points"]), torch.from_numpy(data.load(["u"])["u"][0])
    torch.manual_seed(0)
    net = HiddenTermNet(hidden=32, layers=2, center=[1.5], scale=[0.87]).double()
    states = reference + 0.05 * torch.randn(2000, *reference.shape[1:], dtype=torch.float64)[: len(reference)]
    true = torch.stack([-0.9 * states[:, 0] * states[:, 1], 0.8 * states[:, 0] * states[:, 1]], dim=1)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(1500):  # supervised stand-in for UPINN training: fit u(t) and F(u)
        optimizer.zero_grad()
        ((net(times) - reference).square().mean() + (net.term(states) - true).square().mean()).backward()
        optimizer.step()
    checkpoint = tmp_path / "upinn.ckpt"
    torch.save({"neuralsolvers_model": model_spec(net), "state_dict": {f"model.{k}": v for k, v in net.state_dict().items()}}, checkpoint)
    report = HiddenTermDiscovery(str(checkpoint), str(tmp_path / "lv"), degree=2, threshold=0.1).run(tmp_path / "out", use_wandb=False)
    first, second = report.rows
    assert first["component"] == "u1'" and first["true"] == "-0.9*u1*u2"
    # measured: the fitted term is within ~1% of the truth, the coefficients within ~2%
    assert first["max_rel_coefficient_error"] < 0.05 and second["max_rel_coefficient_error"] < 0.05
    assert first["spurious_terms"] == second["spurious_terms"] == 0
    record = json.loads((tmp_path / "out/results.json").read_text())
    assert record["config"]["degree"] == 2 and record["headline"] == []  # nothing classical to time against
    assert (tmp_path / "out/hidden_terms.png").is_file()
