"""``reasonir`` command line: one module per subcommand, each a thin call into the Python API.

Every module in this package that defines ``register(subparsers)`` becomes a subcommand; ``register`` adds
its parser and sets ``func`` (``args -> exit code``). Modules import heavy libraries inside ``func`` so that
``reasonir --help`` stays fast.

Exit codes: 0 success, 1 unexpected failure, 2 bad input (a file, line or field named), 3 misconfiguration
(an unreachable LLM endpoint, a missing key, a missing optional dependency), 130 interrupted.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reasonir", description="Train, evaluate and serve retrievers that reason.")
    sub = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def exit_code_for(exc: BaseException) -> int:
    """Map an exception to the documented exit code: errors may carry their own ``exit_code``."""
    from reasonir.data.errors import DataError

    if isinstance(exc, (DataError, FileNotFoundError, FileExistsError)):
        return EXIT_BAD_INPUT
    return int(getattr(exc, "exit_code", EXIT_FAILURE))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the CLI turns every failure into one line and an exit code
        code = exit_code_for(exc)
        if code == EXIT_FAILURE:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
