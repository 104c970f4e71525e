"""``dosemap serve``: how it starts uvicorn (the request log is off unless asked for)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from dosemap.cli import app


def _served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> dict[str, Any]:
    monkeypatch.setenv("DOSEMAP_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DOSEMAP_DATABASE_URL", raising=False)
    monkeypatch.setenv("DOSEMAP_WEB_SECURE_COOKIES", "0")  # serve would set it for the process
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: calls.append({"app": target, **kw}))
    result = CliRunner().invoke(app, ["serve", *args])
    assert result.exit_code == 0, result.output
    assert len(calls) == 1
    return calls[0]


def test_request_log_is_off_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    call = _served(tmp_path, monkeypatch, "--port", "8123", "--workers", "2")
    assert call["app"] == "dosemap.web.asgi:app"
    assert (call["port"], call["workers"], call["access_log"]) == (8123, 2, False)
    assert (tmp_path / "dosemap.sqlite3").exists()  # the schema was upgraded first


def test_request_log_on_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _served(tmp_path, monkeypatch, "--request-log")["access_log"] is True
