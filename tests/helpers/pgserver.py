"""A throw-away PostgreSQL server for the store's tests, on 127.0.0.1 in a temporary directory.

``scripts/test`` runs ``python -m tests.helpers.pgserver start DIR`` before pytest (it prints the server's URL,
which it exports as ``LIVEONE_TEST_PG_URL``) and ``python -m tests.helpers.pgserver stop DIR`` afterwards. When
pytest runs without that variable, the ``pg_admin_url`` fixture starts a server of its own the same way.

The server runs as the ``postgres`` user when we are root (``initdb`` refuses root), listens only on
127.0.0.1 on a free port, keeps its socket in its own directory, and trades durability for speed
(``fsync=off``): it lives for one test run. Password authentication (scram) is on, so the tests' URLs
carry a real password and can check that it never reaches a log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import contextlib
import os
from pathlib import Path
import pwd
import secrets
import shutil
import subprocess
import sys

USER = "liveone"
PASSWORD = "pg-test-secret"
DATABASE = "postgres"
_SERVICE_USER = "postgres"


class ServerError(RuntimeError):
    """The server could not be started."""


def find_bin_dir() -> Path:
    """Return the directory holding ``initdb`` and ``pg_ctl``, or raise :class:`ServerError`."""
    if override := os.environ.get("LIVEONE_PG_BIN"):
        candidates = [Path(override)]
    else:
        found = shutil.which("pg_ctl")
        candidates = [Path(found).parent] if found else []
        candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise ServerError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin; "
        "install them (Debian: apt-get install postgresql-15) or set LIVEONE_PG_BIN"
    )


def _version_key(path: Path) -> int:
    name = path.parent.name
    return int(name) if name.isdigit() else 0


def _random_port() -> int:
    # No socket is opened here (the tests' socket guard would refuse it); a port that turns out to be
    # taken makes pg_ctl fail, and start() tries another.
    return secrets.choice(range(20000, 60000))


def as_service_user(command: Sequence[str], user: str) -> list[str]:
    """Run ``command`` as ``user`` when we are root (database servers refuse to run as root).

    ``runuser`` lives in /usr/sbin, which a CI job's PATH may leave out.
    """
    if os.geteuid() != 0:
        return list(command)
    runuser = shutil.which("runuser") or next(
        (path for path in ("/usr/sbin/runuser", "/sbin/runuser") if Path(path).is_file()), "runuser"
    )
    return [runuser, "-u", user, "--", *command]


def _as_service_user(command: Sequence[str]) -> list[str]:
    return as_service_user(command, _SERVICE_USER)


def _run(command: Sequence[str], what: str) -> None:
    done = subprocess.run(_as_service_user(command), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ServerError(f"{what} failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")


def url_for(port: int, database: str = DATABASE) -> str:
    """Return the URL of a database on the test server."""
    return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{port}/{database}"


def start(base: Path) -> str:
    """Create a cluster in ``base`` (a new or empty directory), start it and return its admin URL."""
    bin_dir = find_bin_dir()
    base.mkdir(parents=True, exist_ok=True)
    data, sockets = base / "data", base / "sockets"
    sockets.mkdir(exist_ok=True)
    password_file = base / "password"
    password_file.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        service = pwd.getpwnam(_SERVICE_USER)
        for path in (base, sockets, password_file):
            os.chown(path, service.pw_uid, service.pw_gid)
        base.chmod(0o700)
    _run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        "initdb",
    )
    last_error: ServerError | None = None
    for _attempt in range(5):
        port = _random_port()
        options = (
            f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        try:
            _run(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(base / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                "pg_ctl start",
            )
        except ServerError as err:
            last_error = err
            continue
        (base / "port").write_text(str(port))
        return url_for(port)
    log = base / "server.log"
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise ServerError(f"{last_error}\n{tail}")


def stop(base: Path) -> None:
    """Stop the server in ``base`` (if it runs) and delete the directory."""
    if (base / "data" / "postmaster.pid").exists():
        with contextlib.suppress(ServerError):
            _run(
                [str(find_bin_dir() / "pg_ctl"), "-D", str(base / "data"), "-m", "immediate", "stop"], "stop"
            )
    shutil.rmtree(base, ignore_errors=True)


def server_cli(
    argv: Sequence[str],
    *,
    label: str,
    module: str,
    start: Callable[[Path], str],
    stop: Callable[[Path], None],
    errors: tuple[type[BaseException], ...],
) -> int:
    """``start DIR`` prints the server's admin URL; ``stop DIR`` stops it and removes DIR."""
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        sys.stderr.write(f"usage: python -m {module} start|stop DIR\n")
        return 2
    base = Path(argv[1])
    if argv[0] == "stop":
        stop(base)
        return 0
    try:
        print(start(base))
    except errors as err:
        sys.stderr.write(f"cannot start {label}: {err}\n")
        stop(base)
        return 1
    return 0


def main(argv: Sequence[str]) -> int:
    """The command line of scripts/test: ``start DIR`` or ``stop DIR``."""
    return server_cli(
        argv,
        label="PostgreSQL",
        module="tests.helpers.pgserver",
        start=start,
        stop=stop,
        errors=(ServerError, OSError, KeyError),
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
