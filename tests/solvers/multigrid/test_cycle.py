"""One ``CycleOptions`` for the geometric cycles: checked when made, the same cycle whether given as
``options=`` or as keyword arguments (which replace fields of ``options``), and the neural cycle
refuses the options it learns instead."""

import dataclasses

import pytest
import torch

from neuralsolvers.models import NeuralMultigrid
from neuralsolvers.solvers import CycleOptions, GeometricMultigrid
from neuralsolvers.solvers.multigrid.neural import NeuralMultigridPreconditioner
from tests.solvers.multigrid.test_geometric_multigrid import NEUMANN_2D, scene


def dense(M, n):
    return M.apply(torch.eye(n, dtype=torch.float64))


def test_defaults_and_checks():
    options = CycleOptions()
    assert (options.smoother, options.sweeps, options.boundary_sweeps, options.coarsening, options.coarsest) == ("jacobi", 2, 0, "all", 64)
    assert options.weight == 2 / 3 and CycleOptions(smoother="redblack").weight == 1.0 and CycleOptions(omega=0.5).weight == 0.5
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.sweeps = 3
    for bad, match in [({"omega": 1.5}, "omega must lie in \\(0, 1\\]"), ({"smoother": "redblack", "omega": 2.0}, "omega must lie in \\(0, 2\\)"),
                       ({"smoother": "sor"}, "smoother"), ({"coarsening": "some"}, "coarsening"), ({"sweeps": 0}, "sweeps ≥ 1"),
                       ({"boundary_sweeps": -1}, "boundary_sweeps ≥ 0")]:  # fmt: skip
        with pytest.raises(ValueError, match=match):
            CycleOptions(**bad)


@pytest.mark.parametrize("fields", [{}, {"smoother": "redblack", "boundary_sweeps": 2}, {"sweeps": 1, "omega": 0.8, "max_levels": 2},
                                    {"boundary_sweeps": 1, "boundary_width": 2, "boundary_levels": 1, "coarsening": "any"}])  # fmt: skip
def test_options_and_keywords_build_the_same_cycle(fields):
    A = scene((18, 15), walls=NEUMANN_2D)
    by_keywords = GeometricMultigrid(A, coarsest=8, **fields)
    by_options = GeometricMultigrid(A, options=CycleOptions(coarsest=8, **fields))
    assert by_options.options == by_keywords.options == CycleOptions(coarsest=8, **fields)
    assert torch.equal(dense(by_options, A.shape[0]), dense(by_keywords, A.shape[0]))


def test_keywords_replace_fields_of_the_options():
    A = scene((16, 16))
    M = GeometricMultigrid(A, options=CycleOptions(smoother="redblack", sweeps=3), sweeps=1)
    assert (M.options.smoother, M.options.sweeps) == ("redblack", 1)
    with pytest.raises(TypeError, match="unexpected keyword arguments: sweep \\(the cycle options are: smoother, sweeps"):
        GeometricMultigrid(A, sweep=1)
    with pytest.raises(TypeError, match="takes a CycleOptions"):
        GeometricMultigrid(A, options={"sweeps": 1})


def test_the_neural_cycle_takes_the_options_it_does_not_learn():
    A = scene((14, 11), walls=NEUMANN_2D)
    net = NeuralMultigrid(dim=2, coarsest=8, sweeps=1).double()
    assert net.cycle == CycleOptions(sweeps=1, coarsest=8)
    by_model = net.preconditioner(A)
    direct = NeuralMultigridPreconditioner(A, net, net.layout, options=CycleOptions(coarsest=16), coarsest=8, sweeps=1)
    assert direct.options == net.cycle and torch.equal(dense(direct, A.shape[0]), dense(by_model, A.shape[0]))
    for learned in ({"smoother": "redblack"}, {"omega": 0.5}, {"boundary_sweeps": 3}):
        with pytest.raises(ValueError, match="learns its smoother"):
            NeuralMultigridPreconditioner(A, net, net.layout, **learned)
