"""Lazy package roots on `lazy_loader` (the scientific-Python convention, SPEC 1).

A package lists its public names in its `__init__.pyi` stub (`from .module import name as name`),
which editors and type checkers read as they are; `lazy_loader.attach_stub` reads the same stub
and imports a module on the first access to one of its names, so importing a package costs nothing
until a name is used. On top of it, `lazy_package` caches each name it resolves in the package (later
look-ups skip `__getattr__`) and keeps two kinds of names outside the stub, which takes only the
package's own modules: `elsewhere` (a name of another package kept importable here, public) and
`hidden` (an old name kept for one release, not in `__all__`; its module warns, or `renamed` points
it at its new name here and `lazy_package` warns).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

import lazy_loader

__all__ = ["lazy_package"]


def lazy_package(
    package: str, file: str, *, elsewhere: dict[str, str] | None = None, hidden: dict[str, str] | None = None,
    renamed: dict[str, str] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:  # fmt: skip
    """`__getattr__`, `__dir__` and `__all__` of `package` (its `__init__.py` is `file`).

    Args:
        package: the package's name (`__name__`).
        file: its `__init__.py` (`__file__`); the names are read from the `__init__.pyi` beside it.
        elsewhere: name → module (absolute, or relative to `package`) of public names the stub cannot
            list because they live outside the package.
        hidden: name → module of old names, importable but not in `__all__` (the module warns).
        renamed: old name → new name in this package, for one release: resolved with a `DeprecationWarning`.
    """
    stubbed, _, stubbed_all = lazy_loader.attach_stub(package, file)
    outside = {**(elsewhere or {}), **(hidden or {})}
    renamed = renamed or {}

    def __getattr__(name: str) -> Any:
        if name in renamed:
            warnings.warn(f"{package}.{name} is now {renamed[name]}; the old name goes in the next release", DeprecationWarning, stacklevel=2)
            return __getattr__(renamed[name])
        value = getattr(importlib.import_module(outside[name], package), name) if name in outside else stubbed(name)
        if name not in (hidden or {}):  # an old name's module warns on every use: never cached
            importlib.import_module(package).__dict__[name] = value
        return value

    public = sorted({*stubbed_all, *(elsewhere or {})}, key=str.lower)

    def __dir__() -> list[str]:
        return sorted(set(importlib.import_module(package).__dict__) | set(public))

    return __getattr__, __dir__, public
