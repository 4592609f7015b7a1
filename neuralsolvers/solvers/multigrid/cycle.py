"""The options of a geometric V-cycle, in one place: ``CycleOptions``.

``GeometricMultigrid`` and the learned ``NeuralMultigridPreconditioner`` take them as
``options=CycleOptions(...)``, or field by field as keyword arguments (``GeometricMultigrid(A,
sweeps=1)``), which replace the fields of ``options``; the ``NeuralMultigrid`` model builds its
cycle's options from its plain constructor arguments (what its checkpoints record). The defaults
are those of the classical cycle the neural one starts from: damped Jacobi, 2 sweeps, no boundary
sweeps, down to 64 cells.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from neuralsolvers.solvers.multigrid.hierarchy import MAX_COARSE_DIRECT

__all__ = ["COARSENINGS", "COARSE_OPERATORS", "INTERPOLATIONS", "SMOOTHERS", "CycleOptions", "cycle_options"]

COARSENINGS = ("all", "any")
SMOOTHERS = ("jacobi", "redblack")
COARSE_OPERATORS = ("rediscretize", "galerkin")
INTERPOLATIONS = ("linear", "operator_dependent")
PRECISIONS = (None, "float32", "float64")
HIERARCHIES = {("rediscretize", "linear"), ("galerkin", "operator_dependent")}  # the pairs there are


@dataclass(frozen=True)
class CycleOptions:
    """How a symmetric V-cycle smooths and coarsens (checked when made).

    Attributes:
        smoother: ``"jacobi"`` (damped Jacobi) or ``"redblack"`` (Gauss–Seidel by colours: red-black
            on the 5/7-point stencils, 4 or 8 colours, by index parity per axis, on the 9/27-point
            Galerkin ones; forward before the coarse correction, backward after).
        sweeps: smoothing sweeps before and after the coarse correction on every level (≥ 1).
        omega: smoother weight; None: 2/3 for Jacobi, 1 for red-black Gauss–Seidel (``weight``). It
            must lie in (0, 1] for Jacobi and (0, 2) for Gauss–Seidel (SOR), where the cycle stays SPD.
        boundary_sweeps: extra damped-Jacobi sweeps in the band along obstacles and walls, before
            and after the smoothing sweeps (McAdams et al. use 3; default 0: none).
        boundary_width: the band's width in cells.
        boundary_levels: the boundary sweeps run on this many of the finest levels (None: all).
        coarsening: ``"all"`` (a coarse cell is an unknown only if all its children are) or ``"any"``
            (re-discretised hierarchies; a Galerkin hierarchy's coarse unknowns are the fine ones of even index).
        coarse_operator: ``"rediscretize"`` (the coarse stencil re-discretised from the children's
            mean coefficient; 5/7 points) or ``"galerkin"`` (``Pᵀ A P``, 9/27 points,
            `neuralsolvers.solvers.multigrid.galerkin`).
        interpolation: ``"linear"`` (cell-centred bi/trilinear, with ``"rediscretize"``) or
            ``"operator_dependent"`` (Black Box Multigrid's weights from the fine stencil, with ``"galerkin"``).
        coarsest: largest number of cells solved directly (dense Cholesky).
        max_levels: cap on the number of levels (None: coarsen down to ``coarsest`` cells).
        max_coarse_direct: the most cells the coarsest level may have (its dense Cholesky needs
            ``8 n²`` bytes; default ``MAX_COARSE_DIRECT``, 10 000): a larger one, left by
            ``max_levels`` or a coarsening that stops early, is refused when the cycle is built.
        precision: the dtype the hierarchy is built and the cycle runs in (None: the operator's);
            ``"float32"`` inside a float64 solve halves the memory traffic: residuals are cast on
            the way in, corrections on the way out (measured on 1024² scenes, contrast 1 to 10⁶:
            the same CG iterations, set-up and solve about 1.8× faster).
    """

    smoother: str = "jacobi"
    sweeps: int = 2
    omega: float | None = None
    boundary_sweeps: int = 0
    boundary_width: int = 3
    boundary_levels: int | None = None
    coarsening: str = "all"
    coarse_operator: str = "rediscretize"
    interpolation: str = "linear"
    coarsest: int = 64
    max_levels: int | None = None
    max_coarse_direct: int = MAX_COARSE_DIRECT
    precision: str | None = None

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.smoother not in SMOOTHERS:
            raise ValueError(f"smoother must be one of {SMOOTHERS}, got {self.smoother!r}")
        if self.coarsening not in COARSENINGS:
            raise ValueError(f"coarsening must be one of {COARSENINGS}, got {self.coarsening!r}")
        if (self.coarse_operator, self.interpolation) not in HIERARCHIES:
            raise ValueError(f"coarse_operator={self.coarse_operator!r} with interpolation={self.interpolation!r} is no hierarchy here: "
                             "use rediscretize with linear, or galerkin with operator_dependent")  # fmt: skip
        jacobi = self.smoother == "jacobi"
        spd = 0 < self.weight <= 1 if jacobi else 0 < self.weight < 2
        if not spd:
            raise ValueError(f"omega must lie in {'(0, 1]' if jacobi else '(0, 2)'} for the {self.smoother} smoother to keep the cycle SPD, got {self.omega}")
        if self.max_coarse_direct < 1:
            raise ValueError(f"need max_coarse_direct ≥ 1, got {self.max_coarse_direct}")
        if self.sweeps < 1 or self.boundary_sweeps < 0 or self.boundary_width < 1 or self.coarsest < 1:
            raise ValueError(f"need sweeps ≥ 1, boundary_sweeps ≥ 0, boundary_width ≥ 1, coarsest ≥ 1; got {self.sweeps}, "
                             f"{self.boundary_sweeps}, {self.boundary_width}, {self.coarsest}")  # fmt: skip

    @property
    def weight(self) -> float:
        """The smoother weight in use: ``omega``, or the smoother's default (2/3 Jacobi, 1 Gauss–Seidel)."""
        if self.omega is not None:
            return float(self.omega)
        return 2 / 3 if self.smoother == "jacobi" else 1.0


def cycle_options(options: CycleOptions | None, overrides: dict[str, object], owner: str) -> CycleOptions:
    """``options`` (default ``CycleOptions()``) with the fields named in ``overrides`` replaced.

    Raises:
        TypeError: an override that is no field of ``CycleOptions``, named with the fields there are
            (``owner`` is the class that was given it).
    """
    options = CycleOptions() if options is None else options
    if not isinstance(options, CycleOptions):
        raise TypeError(f"{owner}(options=...) takes a CycleOptions, got {type(options).__name__}")
    names = [field.name for field in fields(CycleOptions)]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise TypeError(f"{owner}() got unexpected keyword arguments: {', '.join(unknown)} (the cycle options are: {', '.join(names)})")
    return replace(options, **overrides) if overrides else options
