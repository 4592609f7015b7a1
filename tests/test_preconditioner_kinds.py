"""The registry of learned-preconditioner kinds behind ``neuralsolvers.load_preconditioner``: the built-in
kinds, an unknown kind as one error, a new kind joining by registration, the ``matrix`` kind for any
sparse SPD matrix (no grid) and its input checks, and the grid kinds refusing a plain matrix."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import neuralsolvers
from neuralsolvers.checkpoints import (
    PRECONDITIONER_RECORD,
    preconditioner_from_checkpoint,
    read_checkpoint,
)
from neuralsolvers.errors import CheckpointError
from neuralsolvers.models import DCDMNet, NeuralMultigrid, model_spec, register_model
from neuralsolvers.solvers import DiffusionStencil, cg, dcdm_wrapping
from neuralsolvers.solvers.classical.jacobi import Jacobi
from neuralsolvers.solvers.learned import (
    BUILT_IN_KINDS,
    MATRIX_RECORD,
    PRECONDITIONER_KINDS,
    LearnedPreconditioner,
    MatrixPreconditionerNetwork,
    preconditioner_kind,
    register_preconditioner_kind,
)


@register_model("test_matrix_jacobi")
class JacobiNetwork(torch.nn.Module):
    """A stand-in for a learned preconditioner of matrices: Jacobi of any sparse SPD matrix."""

    def __init__(self, width: int = 2):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(width))
        self.seen: list[torch.Tensor] = []

    def preconditioner(self, A: torch.Tensor, *, differentiable: bool = False) -> Jacobi:
        self.seen.append(A)
        return Jacobi(A)


def save(model: torch.nn.Module, path, record: dict | None) -> str:
    """A checkpoint as ``neuralsolvers fit`` writes it: the model's spec, its weights, the record."""
    data = {
        "neuralsolvers_model": model_spec(model),
        "state_dict": {f"model.{key}": value for key, value in model.state_dict().items()},
    }
    if record is not None:
        data[PRECONDITIONER_RECORD] = dict(record)
    torch.save(data, path)
    return str(path)


def laplacian(n: int = 12) -> sp.csr_matrix:
    """The 5-point Laplacian of an n × n grid (SPD)."""
    T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n))
    return sp.kronsum(T, T, format="csr")


def test_the_registry_knows_the_built_in_kinds_and_imports_each_when_asked():
    assert {"field", "neural_multigrid", "matrix"} <= set(BUILT_IN_KINDS)
    for kind in ("field", "neural_multigrid", "matrix"):
        assert callable(preconditioner_kind(kind)) and kind in PRECONDITIONER_KINDS
    # loading the checkpoints module imports no kind; asking for one kind imports only that one
    code = """
        import json, sys
        import neuralsolvers.checkpoints
        before = sorted(m for m in sys.modules if m.endswith("_kind"))
        from neuralsolvers.solvers.learned.kinds import preconditioner_kind
        preconditioner_kind("matrix")
        after = sorted(m for m in sys.modules if m.endswith("_kind") or m.endswith("dcdm_solver"))
        print(json.dumps([before, after]))
    """
    process = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )
    assert process.returncode == 0, process.stderr[-2000:]
    before, after = json.loads(process.stdout.strip().splitlines()[-1])
    assert before == [] and after == ["neuralsolvers.solvers.learned.matrix_kind"]


def test_an_unknown_kind_is_one_checkpoint_error_naming_the_known_ones(tmp_path):
    path = save(JacobiNetwork(), tmp_path / "future.ckpt", {"kind": "learned_sparsifier"})
    with pytest.raises(
        CheckpointError,
        match=r"future.ckpt: unknown preconditioner kind 'learned_sparsifier'.*known kinds: field, matrix, neural_multigrid",
    ):
        neuralsolvers.load_preconditioner(path, laplacian())


def test_a_new_kind_joins_by_registering_its_builder(tmp_path):
    calls = []

    def builder(network, A, *, record, checkpoint, device, grid, mask):
        calls.append((type(network).__name__, record["kind"], checkpoint))
        return Jacobi(A)

    path = save(JacobiNetwork(), tmp_path / "new.ckpt", {"kind": "test_new_kind"})
    register_preconditioner_kind("test_new_kind", builder)
    try:
        assert (
            register_preconditioner_kind("test_new_kind", builder) is builder
        )  # the same builder again: fine
        with pytest.raises(ValueError, match="already registered"):
            register_preconditioner_kind("test_new_kind", lambda *args, **kwargs: None)
        assert isinstance(neuralsolvers.load_preconditioner(path, laplacian()), Jacobi)
        assert calls == [("JacobiNetwork", "test_new_kind", path)]
    finally:
        del PRECONDITIONER_KINDS["test_new_kind"]


def test_the_matrix_kind_takes_any_sparse_spd_matrix_and_solves_with_cg(tmp_path):
    path = save(JacobiNetwork(), tmp_path / "jacobi.ckpt", MATRIX_RECORD)
    assert MATRIX_RECORD == {"kind": "matrix", "solver": "cg", "linear": True, "spd": True}
    assert isinstance(JacobiNetwork(), MatrixPreconditionerNetwork)
    A = laplacian()
    b = np.ones(A.shape[0])
    M = neuralsolvers.load_preconditioner(path, A)
    assert isinstance(M, Jacobi) and M.linear_spd and M.solver is cg and M.dtype == torch.float64
    result = M.solver(A, b, M=M, rtol=1e-8)
    assert result.converged and np.linalg.norm(A @ result.x - b) <= 1e-8 * np.linalg.norm(b)
    # torch sparse CSR and COO, dense, float32 SciPy and a stencil: the network gets a sparse CSR tensor in A's dtype
    learned = preconditioner_from_checkpoint(read_checkpoint(path), path)  # one read, many systems
    dense = torch.as_tensor(A.toarray())
    for matrix, dtype in [(dense.to_sparse_csr(), torch.float64), (dense.to_sparse_coo(), torch.float64), (dense.float(), torch.float32),
                          (A.astype(np.float32), torch.float32), (DiffusionStencil((12, 12)), torch.float64)]:  # fmt: skip
        M = learned(matrix)
        seen = learned.network.seen[-1]
        assert (
            seen.layout == torch.sparse_csr
            and seen.dtype == dtype == M.dtype
            and seen.shape == (144, 144)
        )
        assert torch.allclose(
            M.inverse_diagonal.double(), torch.full((144,), 0.25, dtype=torch.float64)
        )


def test_the_matrix_kind_refuses_a_matrix_that_is_not_square_symmetric_and_finite(tmp_path):
    path = save(JacobiNetwork(), tmp_path / "jacobi.ckpt", MATRIX_RECORD)
    A = laplacian(4).tolil()
    with pytest.raises(ValueError, match=r"A must be a square matrix, got shape \(16, 15\)"):
        neuralsolvers.load_preconditioner(path, A.tocsr()[:, :15])
    asymmetric = A.copy()
    asymmetric[0, 1] = -0.5
    with pytest.raises(
        ValueError, match=r"A is not symmetric: max \|a_ij − a_ji\| = 0.5 against max \|a_ij\| = 4"
    ):
        neuralsolvers.load_preconditioner(path, asymmetric.tocsr())
    slightly = A.copy()
    slightly[0, 1] = -1 + 1e-14  # round-off: symmetric enough
    assert isinstance(neuralsolvers.load_preconditioner(path, slightly.tocsr()), Jacobi)
    broken = A.copy()
    broken[3, 3] = np.nan
    with pytest.raises(ValueError, match="A has 1 non-finite entries"):
        neuralsolvers.load_preconditioner(path, broken.tocsr())
    with pytest.raises(ValueError, match="A has 1 non-finite entries"):
        neuralsolvers.load_preconditioner(path, torch.as_tensor(broken.toarray()))
    # a network without preconditioner(A) under the matrix record
    other = save(
        DCDMNet(dim=2, in_channels=2, channels=4, blocks=(1, 1, 1)),
        tmp_path / "dcdm.ckpt",
        MATRIX_RECORD,
    )
    with pytest.raises(CheckpointError, match="kind 'matrix' but DCDMNet has no preconditioner"):
        neuralsolvers.load_preconditioner(other, laplacian(4))


def test_the_grid_kinds_refuse_a_plain_matrix_in_one_line(tmp_path):
    A = laplacian(8)
    nmg = save(NeuralMultigrid(dim=2, hidden=4, depth=1, stencil=1), tmp_path / "nmg.ckpt", {"kind": "neural_multigrid", "solver": "cg",
                                                                                             "linear": True, "spd": True})  # fmt: skip
    with pytest.raises(
        ValueError,
        match=r"^the neural multigrid of .*nmg.ckpt needs the system as a DiffusionStencil .* got a csr_matrix$",
    ):
        neuralsolvers.load_preconditioner(nmg, A)
    assert neuralsolvers.load_preconditioner(nmg, DiffusionStencil((8, 8))).linear_spd
    # a neural multigrid checkpoint without the record (as written by hand) is still one
    bare = save(NeuralMultigrid(dim=2, hidden=4, depth=1, stencil=1), tmp_path / "bare.ckpt", None)
    stencil = DiffusionStencil((8, 8))
    assert cg(
        stencil,
        torch.ones(64, dtype=torch.float64),
        M=neuralsolvers.load_preconditioner(bare, stencil),
        rtol=1e-8,
    ).converged
    network = DCDMNet(dim=2, in_channels=2, channels=4, blocks=(1, 1, 1))
    field = save(network, tmp_path / "dcdm.ckpt", dcdm_wrapping(network).record())
    with pytest.raises(
        ValueError,
        match=r"^A is a csr_matrix of 64 unknowns: pass grid=\(rows, columns\[, layers\]\)",
    ):
        neuralsolvers.load_preconditioner(field, A)
    assert neuralsolvers.load_preconditioner(field, A, grid=(8, 8)).grid == (8, 8)
    # a field record may name its kind
    named = save(
        network, tmp_path / "named.ckpt", {"kind": "field", **dcdm_wrapping(network).record()}
    )
    assert neuralsolvers.load_preconditioner(named, A, grid=(8, 8)).meant_for == "dcdm"


def test_a_learned_preconditioner_of_a_bare_network_builds_like_the_checkpoint(tmp_path):
    network = DCDMNet(dim=2, in_channels=2, channels=4, blocks=(1, 1, 1)).eval()
    path = save(network, tmp_path / "dcdm.ckpt", dcdm_wrapping(network).record())
    stencil = DiffusionStencil((8, 8))
    r = torch.randn(64, 3, dtype=torch.float64)
    bare = LearnedPreconditioner(network, "field")(stencil)
    loaded = neuralsolvers.load_preconditioner(path, stencil)
    assert torch.allclose(bare(r), loaded(r))


def test_weights_of_another_version_of_the_network_are_one_clear_line(tmp_path):
    from neuralsolvers.models import LearnedAMG

    path = save(LearnedAMG(hidden=4, layers=1), tmp_path / "amg.ckpt", dict(MATRIX_RECORD))
    checkpoint = torch.load(path, weights_only=False)
    checkpoint["state_dict"]["model.message_layers.0.message_net.0.weight"] = torch.zeros(4, 9)  # an older layer's weight
    del checkpoint["state_dict"]["model.message_layers.0.update_net.0.weight"]
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointError, match=r"weights do not fit model 'learned_amg' \(written by an older version of it\? retrain it\)") as error:
        neuralsolvers.load_preconditioner(path, laplacian())
    assert "\n" not in str(error.value) and "message_net" in str(error.value)
