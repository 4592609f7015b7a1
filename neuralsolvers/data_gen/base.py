"""The generator interface: parameters + seed in, arrays out, and a self-check of what was made."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from neuralsolvers.errors import DatasetError

__all__ = ["Generator", "generator_classes", "rebuild_generator"]


class Generator(ABC):
    """A problem-instance generator.

    Subclasses store their constructor arguments as attributes of the same names (scikit-learn
    style: constructors only store parameters), so `get_params` records exactly what made a
    dataset. ``generate`` must be deterministic given the ``rng`` and vectorized over samples.
    """

    name: ClassVar[str]

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments by name (JSON-serializable), stored in every shard's metadata."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    @abstractmethod
    def generate(self, num_samples: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Per-sample arrays, each with leading dimension ``num_samples``.

        Keys starting with ``_`` are handed to `check` but not stored.
        """

    def shared(self) -> dict[str, np.ndarray]:
        """Arrays common to all samples (sensor locations, query grids)."""
        return {}

    def check(self, arrays: dict[str, np.ndarray]) -> float:
        """Verify generated data (e.g. the discrete residual of each solve); return the worst error.

        Raises ``DatasetError`` when the error is above the generator's tolerance.
        """
        return 0.0

    def _bounded(self, errors: np.ndarray, what: str, tolerance: float) -> float:
        """The largest of ``errors``; ``DatasetError`` naming ``what`` when it exceeds ``tolerance`` (or is NaN)."""
        worst = float(np.max(errors, initial=0.0))
        if not worst <= tolerance:
            raise DatasetError(f"{self.name} self-check failed: {what} {worst:.2e} > {tolerance:.0e}")
        return worst

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"{type(self).__name__}({args})"


def generator_classes() -> list[type[Generator]]:
    """Every defined generator class with a ``name`` (subclasses of subclasses included)."""
    import neuralsolvers.data_gen as package

    for name in package.__all__:  # the package imports its modules lazily: define every built-in one
        getattr(package, name)

    def below(cls: type) -> list[type]:
        found = []
        for sub in cls.__subclasses__():
            if hasattr(sub, "name"):
                found.append(sub)
            found += below(sub)
        return found

    return below(Generator)


def rebuild_generator(name: str, parameters: dict[str, Any]) -> Generator:
    """The generator ``name`` with the ``parameters`` a dataset's metadata recorded."""
    for cls in generator_classes():
        if cls.name == name:
            return cls(**parameters)
    raise DatasetError(f"no generator named {name!r}")
