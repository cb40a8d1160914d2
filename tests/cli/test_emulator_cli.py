"""``byok emulator``: its bad input and a missing emulator are clear errors (exit 2), and the
Lambda layer never imports the emulator (the session itself runs in tests/docs)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from byok.cli import main


def test_the_layer_does_not_import_the_emulator() -> None:
    code = (
        "import sys, byok.cli, byok.cli.emulator; "
        "assert not [m for m in sys.modules if m.startswith(('byok_emulator', 'moto'))]"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_without_the_emulator_installed_it_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "byok_emulator.local", None)  # import fails
    # and the package's attribute too: once another test imported byok_emulator.local, `from
    # byok_emulator import local` finds the attribute without asking sys.modules
    import byok_emulator

    monkeypatch.delattr(byok_emulator, "local", raising=False)
    for argv in (["emulator", "start", "--port", "0"], ["emulator", "customer", "disable-key",
                                                        "--purpose", "s3"]):  # fmt: skip
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("byok: error: emulator: byok_emulator and its dev dependencies")
        assert "make venv" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        (None, "AWS_ENDPOINT_URL: not set"),
        ("https://kms.eu-west-1.amazonaws.com", "AWS_ENDPOINT_URL: expected the emulator on"),
        ("http://10.0.0.5:4566", "AWS_ENDPOINT_URL: expected the emulator on"),
    ],
)
def test_customer_commands_only_talk_to_a_local_emulator(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    endpoint: str | None,
    message: str,
) -> None:
    if endpoint is None:
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    assert main(["emulator", "customer", "enable-key", "--purpose", "aurora"]) == 2
    assert capsys.readouterr().err.startswith(f"byok: error: {message}")


def test_a_stopped_emulator_is_an_error_not_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert main(["emulator", "customer", "disable-key", "--purpose", "s3"]) == 1
    err = capsys.readouterr().err
    assert "is `byok emulator start` running?" in err and "Traceback" not in err


def test_bad_port_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "start", "--port", "70000"]) == 2
    assert capsys.readouterr().err.startswith("byok: error: port: expected 0..65535")
