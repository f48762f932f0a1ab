"""Optional dependencies, imported where they are needed, with an error that says how to install them.

Example:
    >>> require("json", "models").__name__
    'json'
    >>> require("not_a_real_module", "models", purpose="this example")
    Traceback (most recent call last):
    ...
    reasonir.optional.MissingOptionalDependency: this example needs not_a_real_module: pip install 'reasonir[models]'
"""
from __future__ import annotations

import importlib
from types import ModuleType


class MissingOptionalDependency(ImportError):
    """An optional package is not installed (CLI exit code 3: a setup problem, not bad input)."""

    exit_code = 3


def require(module: str, extra: str, *, purpose: str | None = None, install: str | None = None) -> ModuleType:
    """Import ``module`` or raise naming the extra (or the ``install`` command) that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        how = install or f"pip install 'reasonir[{extra}]'"
        raise MissingOptionalDependency(f"{purpose or 'this'} needs {module.split('.')[0]}: {how}") from exc
