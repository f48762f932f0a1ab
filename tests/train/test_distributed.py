"""Data parallel training: two CPU processes (gloo) follow the same loss curve as one process with the same
global batch.

The two processes each take half of every global batch (accelerate hands consecutive batches of the same
no-duplicates sampler to the ranks) and, with ``gather_across_devices``, score their queries against all
documents of both halves, so the loss and the averaged gradients are the single-process ones up to float
summation order. Tolerance: 1e-4 relative per logged step.
"""
from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("ddp_worker.py")
_spec = importlib.util.spec_from_file_location("ddp_worker", WORKER)
_worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_worker)
worker_config = _worker.worker_config
GLOBAL_BATCH, STEPS = 8, 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=150, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


def test_two_processes_match_one_process(rows_file, tiny_bert, tmp_path, thread_env):
    from reasonir.train import fit

    common = ["--rows", str(rows_file), "--base", tiny_bert, "--steps", str(STEPS)]
    two = tmp_path / "two.json"
    _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
          "--master_port", str(_free_port()), str(WORKER), *common, "--batch-size", str(GLOBAL_BATCH // 2),
          "--out", str(tmp_path / "m2"), "--result", str(two)], thread_env)
    double = json.loads(two.read_text())
    assert double["world_size"] == 2
    # the reference: one process (this one) with the whole global batch, same settings as the worker
    single = fit(worker_config(str(rows_file), tiny_bert, tmp_path / "m1", GLOBAL_BATCH, STEPS), log=lambda _: None)
    a, b = [loss for _, loss in single.loss_history], [loss for _, loss in double["loss"]]
    assert len(a) == len(b) == STEPS
    assert b == pytest.approx(a, rel=1e-4)
    assert abs(a[-1] - a[0]) > 1e-3  # the parameters moved, so later steps test the averaged gradients too
