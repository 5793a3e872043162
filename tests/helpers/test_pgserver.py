"""The test PostgreSQL server's own failure modes: a clear reason, and a failure rather than a skip in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import _server_unavailable
from . import pgserver


def test_missing_binaries_are_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEONE_PG_BIN", str(tmp_path / "nowhere"))
    with pytest.raises(pgserver.ServerError, match="initdb, pg_ctl"):
        pgserver.start(tmp_path / "pg")
    assert pgserver.main(["start", str(tmp_path / "pg")]) == 1
    assert not (tmp_path / "pg").exists()  # a failed start leaves nothing behind
    assert pgserver.main(["bogus"]) == 2


@pytest.mark.parametrize(
    ("env", "outcome"),
    [
        ({"CI": "true"}, pytest.fail.Exception),
        ({"LIVEONE_REQUIRE_PG": "1"}, pytest.fail.Exception),
        ({}, pytest.skip.Exception),
    ],
)
def test_unavailable_server_fails_in_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], outcome: type[BaseException]
) -> None:
    for name in ("CI", "LIVEONE_REQUIRE_PG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(outcome, match="no server here"):
        _server_unavailable("no server here")
