"""Fuzzing the entry points with hypothesis: whatever the input, a reader raises its own typed error
and a solver returns a result or raises ValueError/TypeError naming the problem; nothing else escapes."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuralsolvers.checkpoints import read_checkpoint
from neuralsolvers.data_gen.store import ShardedDataset
from neuralsolvers.errors import CheckpointError, DatasetError
from neuralsolvers.solvers import SSOR, Jacobi, cg, fcg, sor

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(payload=st.binary(min_size=0, max_size=2048))
def test_any_bytes_as_a_shard_give_a_dataset_error(tmp_path_factory, payload):
    directory = tmp_path_factory.mktemp("shards")
    (directory / "shard-00000-of-00001.h5").write_bytes(payload)
    with pytest.raises(DatasetError):
        ShardedDataset(directory)


@FAST
@given(payload=st.binary(min_size=0, max_size=2048))
def test_any_bytes_as_a_checkpoint_give_a_checkpoint_error(tmp_path_factory, payload):
    path = tmp_path_factory.mktemp("ckpt") / "x.ckpt"
    path.write_bytes(payload)
    with pytest.raises(CheckpointError):
        read_checkpoint(path)


matrices = st.tuples(st.integers(1, 6), st.integers(1, 6)).flatmap(
    lambda shape: st.lists(st.one_of(st.floats(-1e3, 1e3), st.sampled_from([np.nan, np.inf, 0.0])), min_size=shape[0] * shape[1], max_size=shape[0] * shape[1]).map(
        lambda values: np.array(values, dtype=np.float64).reshape(shape)
    )
)


@FAST
@given(A=matrices, rows=st.integers(1, 7), columns=st.sampled_from([None, 1, 3]), dtype=st.sampled_from([torch.float64, torch.float32]),
       solver=st.sampled_from(["cg", "fcg", "sor", "ssor", "jacobi"]))  # fmt: skip
def test_solvers_return_a_result_or_a_clear_error(A, rows, columns, dtype, solver):
    b = torch.ones(rows if columns is None else (rows, columns), dtype=dtype)
    try:
        if solver == "cg":
            result = cg(A, b, maxiter=20)
        elif solver == "fcg":
            result = fcg(A, b, maxiter=20)
        elif solver == "sor":
            result = sor(A, b, omega=1.2, maxiter=20)
        elif solver == "ssor":
            result = cg(A, b, maxiter=20, M=SSOR(A, 1.2, dtype=dtype))
        else:
            result = cg(A, b, maxiter=20, M=Jacobi(A))
    except (ValueError, TypeError) as error:
        assert str(error)
        return
    # a returned result never claims convergence it does not have
    converged = torch.as_tensor(result.converged)
    if bool(converged.any()):
        residual = torch.linalg.vector_norm((b.double().reshape(rows, -1) - torch.as_tensor(A) @ result.x.double().reshape(rows, -1)), dim=0)
        assert bool((residual[converged.reshape(-1)] <= 1e-4 * torch.linalg.vector_norm(b.double().reshape(rows, -1), dim=0)[converged.reshape(-1)] + 1e-12).all())
