"""The ``auto`` encoder backend: which candidates a CPU gets, what a probe outcome decides, the cached verdict, and
the real probe on this machine's CPU with the packaged all-MiniLM-L6-v2."""
from __future__ import annotations

import json

import numpy as np
import pytest

from reasonir.hardware import bf16_supported, int8_dot_supported
from reasonir.models import auto
from reasonir.models.auto import TOLERANCE, Measurement, candidates, pick, probe, resolve_backend

# Flag sets of real CPU generations, as /proc/cpuinfo lists them (the flags that matter here)
HASWELL = frozenset({"sse4_2", "avx", "avx2", "fma", "f16c"})  # AVX2 only: most machines of this kind
SKYLAKE_SP = HASWELL | {"avx512f", "avx512bw", "avx512vl"}  # AVX-512 without VNNI or bf16
CASCADE_LAKE = SKYLAKE_SP | {"avx512_vnni"}
COOPER_LAKE = CASCADE_LAKE | {"avx512_bf16"}  # bf16 instructions, no AMX tiles
SAPPHIRE_RAPIDS = COOPER_LAKE | {"amx_tile", "amx_bf16", "amx_int8"}
GRAVITON3 = frozenset({"fp", "asimd", "asimddp", "bf16", "i8mm"})


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def never_probe(*_args):
    raise AssertionError("this CPU must not be probed")


def outcome(**speedups_and_agreement):
    """A probe that reports the given outcome without running anything (and counts its calls)."""
    calls = []

    def fake(model_name, backends, device):
        calls.append(tuple(backends))
        return [Measurement("torch", 10.0)] + [speedups_and_agreement[b] for b in backends]
    fake.calls = calls  # type: ignore[attr-defined]
    return fake


def m(backend, speedup, cosine=0.9999, tau=0.99, top1=1.0, error=None):
    return Measurement(backend, 10.0 * speedup, cosine, tau, top1, speedup, error=error)


@pytest.mark.parametrize("flags, onnx, ct2, expected", [
    (HASWELL, True, False, ()),
    (SKYLAKE_SP, True, False, ()),
    (CASCADE_LAKE, True, False, ("onnx-int8",)),
    (CASCADE_LAKE, False, False, ()),  # int8 needs onnxruntime or ctranslate2
    (COOPER_LAKE, True, False, ("torch-bf16", "onnx-int8")),
    (SAPPHIRE_RAPIDS, True, False, ("torch-bf16",)),  # onnx-int8 never came near bf16 on AMX: not probed there
    (SAPPHIRE_RAPIDS, False, False, ("torch-bf16",)),
    (GRAVITON3, True, False, ("torch-bf16", "onnx-int8")),
    # ctranslate2 installed: fp32 ct2 on every CPU, its int8 only with int8 dot products (as onnx-int8) and no bf16
    # units (there the probe read it 2.65x fp32 and it ran 0.89x at work)
    (HASWELL, True, True, ("ct2",)),
    (SKYLAKE_SP, False, True, ("ct2",)),
    (CASCADE_LAKE, False, True, ("ct2-int8", "ct2")),
    (SAPPHIRE_RAPIDS, True, True, ("torch-bf16", "ct2")),
])
def test_candidates_come_from_the_cpu_flags(flags, onnx, ct2, expected):
    assert candidates(flags, onnx_installed=onnx, ct2_installed=ct2, openvino_installed=False,
                      device="cpu") == expected


@pytest.mark.parametrize("flags, expected", [
    (HASWELL, ()),  # no bf16 or int8 units: OpenVINO would run fp32 like torch, and is not probed
    (SKYLAKE_SP, ()),
    (CASCADE_LAKE, ("openvino",)),
    (SAPPHIRE_RAPIDS, ("openvino", "torch-bf16")),
])
def test_openvino_is_a_candidate_where_the_cpu_has_bf16_or_int8_units(flags, expected):
    assert candidates(flags, onnx_installed=False, ct2_installed=False, openvino_installed=True,
                      device="cpu") == expected


def test_a_gpu_device_has_no_cpu_candidates():
    assert candidates(SAPPHIRE_RAPIDS, onnx_installed=True, ct2_installed=False,
                      openvino_installed=False, device="cuda:0") == ()


@pytest.mark.parametrize("flags", [HASWELL, SKYLAKE_SP])
def test_an_avx2_only_cpu_gets_fp32_torch_without_a_probe(flags, tmp_path):
    choice = resolve_backend("auto", flags=flags, onnx_installed=True, ct2_installed=False, openvino_installed=False,
                             device="cpu", probe_with=never_probe,
                             cache_root=tmp_path, announce=False)
    assert (choice.backend, choice.cached, choice.measurements) == ("torch", False, ())
    assert "no bf16 or int8 dot-product units" in choice.reason
    assert not any(tmp_path.iterdir())  # nothing measured, nothing kept


def test_an_avx2_only_cpu_loads_the_real_encoder_in_fp32(monkeypatch):
    """Through the entry points every command uses: no probe, the fp32 model exactly as before auto existed."""
    import torch

    from reasonir.models import load_encoder
    from reasonir.retrieve.dense import DenseRetriever

    monkeypatch.setattr(auto, "cpu_flags", lambda: HASWELL)
    monkeypatch.setattr(auto, "_installed", lambda *modules: "ctranslate2" not in modules)  # a CPU without it
    monkeypatch.setattr(auto, "_measure", never_probe)
    model = load_encoder()
    assert type(model[0].auto_model).__name__ == "BertModel"
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert DenseRetriever(show_progress=False, use_cache=False).encoder_backend == "torch"


@pytest.mark.parametrize("speedup, expected", [(1.5, "ct2"), (1.1, "torch")])
def test_an_avx2_cpu_with_ctranslate2_probes_ct2_and_keeps_it_only_when_clearly_faster(speedup, expected, tmp_path):
    fake = outcome(ct2=m("ct2", speedup))
    choice = resolve_backend("auto", flags=HASWELL, onnx_installed=True, ct2_installed=True,
                             openvino_installed=False, device="cpu",
                             probe_with=fake, cache_root=tmp_path, announce=False)
    assert fake.calls == [("ct2",)] and choice.backend == expected  # no int8 candidate without int8 dot products


def test_an_avx2_cpu_without_ctranslate2_gets_fp32_and_is_told_how_to_add_it(tmp_path):
    choice = resolve_backend("auto", flags=HASWELL, onnx_installed=True, ct2_installed=False,
                             openvino_installed=False, device="cpu",
                             probe_with=never_probe, cache_root=tmp_path, announce=False)
    assert choice.backend == "torch" and "pip install 'reasonir[ct2]'" in choice.reason


@pytest.mark.parametrize("probed, expected", [
    ({"torch-bf16": m("torch-bf16", 3.0), "onnx-int8": m("onnx-int8", 1.3)}, "torch-bf16"),
    ({"torch-bf16": m("torch-bf16", 2.0), "onnx-int8": m("onnx-int8", 3.0)}, "onnx-int8"),
    # faster but not equal to fp32: kept out, whichever measure fails
    ({"torch-bf16": m("torch-bf16", 3.0, cosine=0.97), "onnx-int8": m("onnx-int8", 1.3, tau=0.85)}, "torch"),
    ({"torch-bf16": m("torch-bf16", 3.0, top1=0.95), "onnx-int8": m("onnx-int8", 1.1)}, "torch"),
    # equal but not clearly faster: fp32 stays
    ({"torch-bf16": m("torch-bf16", 1.15), "onnx-int8": m("onnx-int8", 0.9)}, "torch"),
    # a backend that cannot run the model is passed over
    ({"torch-bf16": m("torch-bf16", 2.5), "onnx-int8": m("onnx-int8", 0.0, error="InvalidArgument")}, "torch-bf16"),
])
def test_the_probe_outcome_decides(probed, expected, tmp_path):
    fake = outcome(**probed)
    choice = resolve_backend("auto", flags=COOPER_LAKE, onnx_installed=True, ct2_installed=False,
                             openvino_installed=False,
                             device="cpu", probe_with=fake,
                             cache_root=tmp_path, announce=False)
    assert choice.backend == expected and fake.calls == [("torch-bf16", "onnx-int8")]
    assert choice.reason.startswith("fp32 kept") == (expected == "torch")
    assert choice.describe().startswith(f"encoder backend auto: {expected}")


def test_the_verdict_is_kept_per_machine_and_read_back_with_a_note(tmp_path, capsys):
    fake = outcome(**{"torch-bf16": m("torch-bf16", 3.0), "onnx-int8": m("onnx-int8", 1.3)})
    first = resolve_backend("auto", flags=COOPER_LAKE, onnx_installed=True, ct2_installed=False,
                            openvino_installed=False,
                            device="cpu", probe_with=fake,
                            cache_root=tmp_path)
    assert not first.cached and first.verdict_file
    record = json.loads(open(first.verdict_file, encoding="utf-8").read())
    assert record["backend"] == "torch-bf16" and record["tolerance"]["min_cosine"] == TOLERANCE.min_cosine
    assert [m["backend"] for m in record["measurements"]] == ["torch", "torch-bf16", "onnx-int8"]

    again = resolve_backend("auto", flags=COOPER_LAKE, onnx_installed=True, ct2_installed=False,
                            openvino_installed=False,
                            device="cpu", probe_with=fake,
                            cache_root=tmp_path)
    assert again.cached and again.backend == "torch-bf16" and len(fake.calls) == 1
    assert "cached verdict" in again.describe() and again.verdict_file == first.verdict_file
    printed = [line for line in capsys.readouterr().err.splitlines() if line.startswith("encoder backend auto")]
    assert len(printed) == 1 and "torch-bf16" in printed[0]  # the choice is printed once per process and model

    # another CPU (another flag set) or other candidates: another verdict, probed anew
    resolve_backend("auto", flags=COOPER_LAKE | {"avx512_fp16"}, onnx_installed=True, ct2_installed=False,
                    openvino_installed=False,
                    device="cpu",
                    probe_with=fake, cache_root=tmp_path, announce=False)
    resolve_backend("auto", flags=COOPER_LAKE, onnx_installed=False, ct2_installed=False, openvino_installed=False,
                    device="cpu", probe_with=fake,
                    cache_root=tmp_path, announce=False)
    assert fake.calls[1:] == [("torch-bf16", "onnx-int8"), ("torch-bf16",)]


def test_copies_of_one_architecture_share_a_verdict(tmp_path):
    """A fine-tuned copy (other weights, other name, saved by another transformers version) takes the verdict its
    base was probed for; another shape is probed anew."""
    def folder(name: str, **config) -> str:
        path = tmp_path / name
        path.mkdir()
        (path / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 384,
                                                      "num_hidden_layers": 6, **config}))
        (path / "model.safetensors").write_bytes(name.encode())
        return str(path)

    fake = outcome(**{"torch-bf16": m("torch-bf16", 3.0)})
    args = dict(flags=SAPPHIRE_RAPIDS, onnx_installed=False, ct2_installed=False, openvino_installed=False,
                device="cpu", probe_with=fake, cache_root=tmp_path / "cache", announce=False)
    base = resolve_backend("auto", folder("base", _name_or_path="nreimers/MiniLM"), **args)
    copy = resolve_backend("auto", folder("fold-0", transformers_version="5.25.0", use_cache=False), **args)
    assert len(fake.calls) == 1 and copy.cached and copy.verdict_file == base.verdict_file
    assert "of the same architecture" in copy.describe(str(tmp_path / "fold-0"))
    resolve_backend("auto", folder("deeper", num_hidden_layers=12), **args)
    assert len(fake.calls) == 2


def test_an_unreadable_or_foreign_verdict_is_measured_again(tmp_path):
    fake = outcome(**{"torch-bf16": m("torch-bf16", 3.0)})
    args = dict(flags=SAPPHIRE_RAPIDS, onnx_installed=False, ct2_installed=False, openvino_installed=False,
                device="cpu", probe_with=fake, cache_root=tmp_path,
                announce=False)
    path = resolve_backend("auto", **args).verdict_file
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('{"backend": "onnx-int8", "reason": "not a candidate here"}')
    assert resolve_backend("auto", **args).backend == "torch-bf16" and len(fake.calls) == 2
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("{half a file")
    assert not resolve_backend("auto", **args).cached and len(fake.calls) == 3


def test_an_explicit_backend_wins_and_is_not_probed(tmp_path):
    choice = resolve_backend("onnx", flags=SAPPHIRE_RAPIDS, probe_with=never_probe, cache_root=tmp_path)
    assert (choice.requested, choice.backend, choice.reason) == ("onnx", "onnx", "asked for")


def test_pick_prefers_the_fastest_of_the_passing():
    fp32 = Measurement("torch", 10.0)
    assert pick([fp32, m("torch-bf16", 2.0), m("onnx-int8", 2.5)])[0] == "onnx-int8"
    backend, reason = pick([fp32, m("torch-bf16", 2.0), m("onnx-int8", 2.5, cosine=0.97)])
    assert backend == "torch-bf16" and "onnx-int8 2.50x but lowest cosine" in reason


@pytest.mark.skipif(not bf16_supported(), reason="this CPU has no bf16 units: auto never probes here")
def test_the_real_probe_finds_bf16_equal_to_fp32_and_faster_on_this_cpu():
    """The tolerance's calibration, checked on the machine running the tests: MiniLM in bf16 stays within it."""
    found = probe(None, ["torch-bf16"], "cpu")
    fp32, bf16 = found
    assert (fp32.backend, bf16.backend) == ("torch", "torch-bf16") and bf16.error is None
    assert TOLERANCE.violation(bf16) is None, bf16
    assert bf16.speedup > 1.0, bf16  # bf16 units: faster than fp32 (the margin a switch needs is a benchmark's)


@pytest.mark.skipif(not int8_dot_supported(), reason="no int8 dot-product units: int8 is no candidate here")
def test_the_probe_measures_int8_against_fp32_on_the_same_texts():
    pytest.importorskip("onnxruntime")
    fp32, int8 = probe(None, ["onnx-int8"], "cpu")
    assert int8.error is None and 0.9 < int8.min_cosine < 1.0 and -1.0 <= int8.mean_tau <= 1.0
    assert TOLERANCE.violation(int8) is None, int8  # the VNNI preset: equal to fp32 on SciFact, within tolerance
    assert int8.texts_per_s > 0 and fp32.texts_per_s > 0


def test_the_real_probe_measures_ct2_against_fp32_on_this_cpu():
    """CTranslate2 in fp32 runs the same arithmetic as torch: equal within tolerance on any CPU it runs on."""
    pytest.importorskip("ctranslate2", reason="pip install 'reasonir[ct2]'")
    fp32, ct2 = probe(None, ["ct2"], "cpu")
    assert ct2.error is None and ct2.min_cosine > 0.9999 and ct2.top1 == 1.0, ct2
    assert TOLERANCE.violation(ct2) is None and fp32.texts_per_s > 0
    # the same arithmetic on one thread: within a few times fp32 (its worker thread counted: not 100x)
    assert 0.3 < ct2.speedup < 4, ct2


def test_kendall_tau_and_agreement_measures():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((6, 8)).astype(np.float32)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    same = auto.compare(ref, ref.copy(), queries=3)
    assert same == {"min_cosine": pytest.approx(1.0), "mean_tau": 1.0, "top1": 1.0}
    flipped = np.concatenate([ref[:3], -ref[3:]])  # passages negated: every score negated, every ranking reversed
    got = auto.compare(ref, flipped, queries=3)
    assert got["mean_tau"] == -1.0 and got["min_cosine"] == pytest.approx(-1.0) and got["top1"] == 0.0
