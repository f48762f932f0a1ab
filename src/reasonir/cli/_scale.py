"""``--backend local|ray`` and its Ray options, shared by ``index`` and ``synthesize``."""
from __future__ import annotations

import argparse

BACKENDS = ("local", "ray")


def add_backend_args(p: argparse.ArgumentParser, what: str) -> None:
    g = p.add_argument_group("scale-out (--backend ray needs pip install 'reasonir[ray]'; see README, Scale-out)")
    g.add_argument("--backend", choices=BACKENDS, default="local",
                   help=f"local (default): this process; ray: {what} on Ray workers")
    g.add_argument("--workers", type=int, default=2, help="Ray workers (actors) (default 2)")
    g.add_argument("--ray-address", default=None,
                   help="Ray cluster to join, e.g. ray://head:10001 (default: $RAY_ADDRESS, else start a local Ray "
                        "on loopback with one CPU per worker, stopped at the end)")
