"""SciPy in, SciPy out: what every iterative solver does with its ``A``, ``b`` and ``x0`` first.

``A`` may be a SciPy sparse matrix or array, a ``scipy.sparse.linalg.LinearOperator``, a NumPy or
torch dense matrix, a torch sparse CSR tensor or one of our operators (``OperatorLike``); ``b`` and
``x0`` NumPy or torch (``ArrayLike``), ``(n,)`` or ``(n, k)``. ``prepare_system`` converts them once per solve (never per
iteration) to one dtype and device:

- dtype: NumPy's promotion of ``A``'s and ``b``'s (float32 ``b`` with a float64 ``A`` solves in
  float64; integers become float64), like SciPy's solvers;
- device: ``device`` if given (everything is moved there, so a SciPy system solves on a GPU with
  ``device="cuda"``); else that of a torch ``A`` or of our operator, else that of a torch ``b``,
  else the CPU. A torch ``b`` or ``x0`` on another device than ``A`` is one ``ValueError`` naming both;
  a device the machine lacks is one ``ConfigError`` (``normal_device``).
- finite data: NaN or Inf in ``b``, in ``x0`` or among ``A``'s stored entries is one ``ValueError``
  naming which, before any iteration (one pass over the stored values; a matrix-free ``A`` is checked
  by its first product, in ``SolveState``).

``PreparedSystem.output`` gives the solution back in ``b``'s kind: NumPy in, NumPy out; torch
in, torch out on the solve's device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from neuralsolvers.solvers.operators import Operator, all_finite, as_operator, normal_device
from neuralsolvers.solvers.types import ArrayLike, DeviceLike, OperatorLike

__all__ = [
    "SYMMETRY_TOLERANCE", "PreparedSystem", "check_preconditioner", "check_symmetric", "prepare_system", "require_finite",
    "solve_dtype",
]  # fmt: skip

# the largest relative asymmetry the symmetry probe of cg/fcg lets through, per dtype (see check_symmetric)
SYMMETRY_TOLERANCE = {torch.float32: 1e-3, torch.float64: 1e-6}


def _torch_dtype(dtype: torch.dtype | np.dtype) -> torch.dtype:
    """A NumPy or torch dtype as a torch dtype."""
    if isinstance(dtype, torch.dtype):
        return dtype
    return torch.from_numpy(np.zeros(0, dtype=np.dtype(dtype))).dtype


def _matrix_dtype(A: OperatorLike) -> torch.dtype:
    """The dtype ``A`` holds (float64 for a SciPy ``LinearOperator`` that does not say)."""
    if isinstance(A, torch.Tensor | Operator):
        return A.dtype
    dtype = getattr(A, "dtype", None)
    return torch.float64 if dtype is None else _torch_dtype(dtype)


def solve_dtype(*dtypes: torch.dtype | np.dtype) -> torch.dtype:
    """NumPy's promotion of the given dtypes, as the floating torch dtype a solve runs in.

    Raises:
        TypeError: for complex data (the solvers are real).
    """
    promoted = np.result_type(*(torch.empty(0, dtype=_torch_dtype(d)).numpy().dtype for d in dtypes))
    if promoted.kind == "c":
        raise TypeError(f"the solvers are real; got complex data ({promoted})")
    if promoted.kind != "f" or promoted.itemsize < 4:
        promoted = np.dtype(np.float64)
    return _torch_dtype(promoted)


def _matrix_device(A: OperatorLike) -> torch.device | None:
    """The device ``A`` lives on, or None for data that can go anywhere (SciPy, NumPy)."""
    if isinstance(A, torch.Tensor | Operator):
        return normal_device(A.device)
    if sp.issparse(A) or isinstance(A, np.ndarray | spla.LinearOperator):
        return None
    device = getattr(A, "device", None)
    return None if device is None else normal_device(device)


def _vector(name: str, v: ArrayLike, n: int, dtype: torch.dtype, device: torch.device, moved: bool, where: str) -> torch.Tensor:
    """``b`` or ``x0`` as a tensor of ``dtype`` on ``device``; a torch tensor elsewhere is an error
    unless the caller asked for the move (``moved``)."""
    if isinstance(v, torch.Tensor):
        if normal_device(v.device) != device and not moved:
            raise ValueError(f"{name} is on {v.device} but A is on {device} ({where}): move one of them, or pass device=")
        tensor = v.detach().to(device=device, dtype=dtype)
    else:
        array = np.asarray(v)
        if array.dtype == object:
            raise TypeError(f"{name} must be a NumPy array or a torch tensor, got {type(v).__name__}")
        tensor = torch.as_tensor(array, dtype=dtype, device=device)
    if tensor.dim() not in (1, 2) or tensor.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) or ({n}, k), got {tuple(tensor.shape)}")
    return tensor


@dataclass
class PreparedSystem:
    """A system ready for the iteration: ``A`` an operator and ``b``, ``x0`` tensors, all of one dtype on one device.

    Attributes:
        A: the operator. b: ``(n,)`` or ``(n, k)``. x0: shaped like ``b``, or None.
        numpy_output: whether ``b`` came as NumPy (then ``output`` returns NumPy).
    """

    A: Operator
    b: torch.Tensor
    x0: torch.Tensor | None
    numpy_output: bool

    @property
    def dtype(self) -> torch.dtype:
        return self.b.dtype

    @property
    def device(self) -> torch.device:
        return self.b.device

    def output(self, x: torch.Tensor) -> np.ndarray | torch.Tensor:
        """``x`` in the kind ``b`` came in."""
        return x.detach().cpu().numpy() if self.numpy_output else x


def prepare_system(A: OperatorLike, b: ArrayLike, x0: ArrayLike | None = None, device: DeviceLike | None = None) -> PreparedSystem:
    """``A``, ``b``, ``x0`` converted once to the solve's dtype and device (module docstring).

    Args:
        A: matrix or operator, ``(n, n)``.
        b: ``(n,)`` or ``(n, k)`` NumPy array or torch tensor.
        x0: initial guess shaped like ``b`` (NumPy or torch), or None.
        device: where to solve (default: where ``A`` or a torch ``b`` lives, else the CPU).
    """
    if isinstance(b, PreparedSystem):
        raise TypeError("b is already a PreparedSystem: pass A, b and x0 as given by the user")
    b_dtype = b.dtype if isinstance(b, torch.Tensor) else np.asarray(b).dtype
    dtype = solve_dtype(_matrix_dtype(A), b_dtype)
    home = _matrix_device(A)
    if device is not None:
        target, moved = normal_device(device), True
    elif home is not None:
        target, moved = home, False
    else:
        target, moved = (b.device if isinstance(b, torch.Tensor) else torch.device("cpu")), True
    target = normal_device(target)
    operator = as_operator(A, dtype=dtype, device=target).to(dtype=dtype, device=target)
    n = operator.shape[0]
    if operator.shape != (n, n):
        raise ValueError(f"A must be square, got shape {operator.shape}")
    where = "A's device decides where the solve runs"
    b_tensor = _vector("b", b, n, dtype, target, moved, where)
    x0_tensor = None if x0 is None else _vector("x0", x0, n, dtype, target, moved, where)
    if x0_tensor is not None and x0_tensor.shape != b_tensor.shape:
        x0_tensor = x0_tensor.reshape(b_tensor.shape)
    require_finite("b", b_tensor)
    if x0_tensor is not None:
        require_finite("x0", x0_tensor)
    if target.type != "meta" and operator.finite() is False:
        raise ValueError("A has NaN or Inf entries: a solve needs a finite matrix")
    return PreparedSystem(operator, b_tensor, x0_tensor, numpy_output=not isinstance(b, torch.Tensor))


def require_finite(name: str, values: torch.Tensor) -> None:
    """One ``ValueError`` naming ``name`` (``b``, ``x0``) where ``values`` holds NaN or Inf."""
    if values.device.type == "meta" or all_finite(values):
        return
    bad = int((~torch.isfinite(values)).sum())
    raise ValueError(f"{name} has NaN or Inf entries ({bad} of {values.numel()}): a solve needs finite data")


def check_symmetric(A: Operator, solver: str) -> None:
    """Refuse a clearly nonsymmetric ``A`` before ``solver`` (``cg``, ``fcg``) iterates: two products.

    With ``u``, ``v`` random ±1 vectors (a fixed seed, a generator of its own on ``A``'s device: the
    global random state is untouched), ``|uᵀAv − vᵀAu| / (‖Au‖ + ‖Av‖)``, which is
    ``sqrt(n)·|uᵀAv − vᵀAu| / (‖u‖‖Av‖ + ‖v‖‖Au‖)``, estimates ``‖A − Aᵀ‖_F / (2‖A‖_F)``: independent
    of the size, like round-off, which stays a few units of the dtype's precision (the sums are taken
    in float64). Above ``SYMMETRY_TOLERANCE`` (1e-6 in float64, 1e-3 in float32) ``A`` is refused with
    one ``ValueError`` that points to ``gmres``/``bicgstab``. A product that is not finite is refused
    too (``A gave NaN or Inf for a finite input``).
    """
    n = A.shape[0]
    if n < 2 or A.device.type == "meta":
        return
    generator = torch.Generator(device=A.device).manual_seed(20240531)
    probes = torch.randint(0, 2, (n, 2), generator=generator, dtype=A.dtype, device=A.device).mul_(2).sub_(1)
    try:
        products = A @ probes
    except (RuntimeError, ValueError, TypeError) as error:  # an operator that takes only its own batch of columns
        raise ValueError(f"the symmetry probe of {solver} could not apply A to two vectors ({type(error).__name__}: {error}); "
                         "pass check_symmetry=False to skip it") from error  # fmt: skip
    if not all_finite(products):
        raise ValueError("A gave NaN or Inf for a finite input (the symmetry probe of a random vector): check the operator")
    if A.device.type != "mps":  # sums in float64: their round-off, unlike the products', grows with n
        probes, products = probes.double(), products.double()
    gram = probes.T @ products  # [[uᵀAu, uᵀAv], [vᵀAu, vᵀAv]]
    scale = float(torch.linalg.vector_norm(products, dim=0).sum())
    if scale == 0:  # A = 0: symmetric (and singular: the iteration says so)
        return
    asymmetry = float((gram[0, 1] - gram[1, 0]).abs()) / scale
    tolerance = SYMMETRY_TOLERANCE.get(A.dtype, 1e-3)
    if asymmetry > tolerance:
        raise ValueError(f"A is not symmetric (relative asymmetry {asymmetry:.1e} > {tolerance:g} on two random vectors): "
                         f"{solver} needs a symmetric positive definite A; use gmres or bicgstab for a nonsymmetric one "
                         f"(check_symmetry=False skips this check)")  # fmt: skip


def _describe(obj: Any) -> str:
    """``n unknowns`` and the grid where the object has one."""
    grid = getattr(obj, "grid", None)
    size = f"{obj.shape[0]} unknowns"
    return size if grid is None else f"{size} (grid {'×'.join(map(str, grid))})"


def check_preconditioner(M: object, A: Operator, dtype: torch.dtype, device: torch.device, cast: bool = False) -> None:
    """Refuse, before the first iteration, a preconditioner whose size, grid, dtype or device differs
    from the system's, with one ``ValueError`` naming both sides. With ``cast`` another floating dtype
    is accepted: the caller applies ``M`` to its input cast to ``M``'s dtype and casts the output back
    (``solver_preconditioner`` does, for every solver)."""
    shape = getattr(M, "shape", None)
    if shape is not None and tuple(shape) != tuple(A.shape):
        raise ValueError(f"the preconditioner is for {_describe(M)} but A has {_describe(A)}")
    grid_M, grid_A = getattr(M, "grid", None), getattr(A, "grid", None)
    if grid_M is not None and grid_A is not None and tuple(grid_M) != tuple(grid_A):
        raise ValueError(f"the preconditioner is for the grid {'×'.join(map(str, grid_M))} but A is on {'×'.join(map(str, grid_A))}")
    M_dtype, M_device = getattr(M, "dtype", None), getattr(M, "device", None)
    if M_dtype is not None and M_dtype != dtype and not (cast and M_dtype.is_floating_point):
        raise ValueError(f"the preconditioner works in {M_dtype} but the solve runs in {dtype}: build it with dtype={dtype}")
    if M_device is not None and normal_device(M_device) != normal_device(device):
        raise ValueError(f"the preconditioner lives on {M_device} but the solve runs on {device}: build it there (with device={device}, or for a multigrid from the operator moved there: A.to(device={str(device)!r}))")
