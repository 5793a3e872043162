"""A throw-away MariaDB server for the store's tests, on 127.0.0.1 in a temporary directory.

Like :mod:`tests.helpers.pgserver`: ``scripts/test`` runs ``python -m tests.helpers.mariadbserver start DIR`` (it prints
the admin URL, exported as ``LIVEONE_TEST_MARIADB_URL``) and ``stop DIR`` afterwards. The server runs as
the ``mysql`` user when we are root, listens only on 127.0.0.1 on a random port, and trades durability
for speed; a ``liveone`` user with a password may create databases.
"""

from __future__ import annotations

from collections.abc import Sequence
import contextlib
import os
from pathlib import Path
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time

from tests.helpers.pgserver import as_service_user, server_cli

USER = "liveone"
PASSWORD = "maria-test-secret"
_SERVICE_USER = "mysql"
_SERVER_CANDIDATES = ("/usr/sbin/mariadbd", "/usr/sbin/mysqld")


class ServerError(RuntimeError):
    """The server could not be started."""


def _find(name: str, candidates: Sequence[str]) -> str:
    for candidate in (shutil.which(name), *candidates):
        if candidate and Path(candidate).is_file():
            return candidate
    raise ServerError(
        f"MariaDB's {name} not found; install the server (Debian: apt-get install mariadb-server)"
    )


def available() -> bool:
    """Whether a MariaDB server and the mysqlclient driver are installed here."""
    try:
        _find("mariadbd", _SERVER_CANDIDATES)
        _find("mariadb-install-db", ("/usr/bin/mariadb-install-db",))
    except ServerError:
        return False
    try:
        import MySQLdb  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return False
    return True


def _as_service_user(command: Sequence[str]) -> list[str]:
    return as_service_user(command, _SERVICE_USER)


def url_for(port: int, database: str = "mysql") -> str:
    """Return the URL of a database on the test server."""
    return f"mysql://{USER}:{PASSWORD}@127.0.0.1:{port}/{database}"


def _client(base: Path, sql: str) -> subprocess.CompletedProcess[str]:
    client = _find("mariadb", ("/usr/bin/mariadb", "/usr/bin/mysql"))
    return subprocess.run(
        [client, "--no-defaults", "-S", str(base / "sock"), "-uroot", "-e", sql],
        capture_output=True,
        text=True,
        check=False,
    )


def start(base: Path) -> str:
    """Create a data directory in ``base``, start the server and return its admin URL."""
    server = _find("mariadbd", _SERVER_CANDIDATES)
    install = _find("mariadb-install-db", ("/usr/bin/mariadb-install-db",))
    base.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        service = pwd.getpwnam(_SERVICE_USER)
        os.chown(base, service.pw_uid, service.pw_gid)
        base.chmod(0o700)
    done = subprocess.run(
        _as_service_user(
            [
                install,
                "--no-defaults",
                f"--datadir={base / 'data'}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ]
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ServerError(f"mariadb-install-db failed: {(done.stderr or done.stdout).strip()}")
    for _attempt in range(5):
        port = secrets.choice(range(20000, 60000))
        command = [
            server,
            "--no-defaults",
            f"--datadir={base / 'data'}",
            f"--socket={base / 'sock'}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--pid-file={base / 'pid'}",
            f"--log-error={base / 'error.log'}",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-doublewrite=0",
            "--innodb-buffer-pool-size=64M",
            "--skip-log-bin",
            "--max-connections=300",
        ]
        process = subprocess.Popen(
            _as_service_user(command),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if (base / "sock").exists() and _client(base, "SELECT 1").returncode == 0:
                break
            time.sleep(0.2)
        if process.poll() is not None:
            continue  # the port was taken (or the server died): try another
        grant = _client(
            base,
            f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'; "
            f"GRANT ALL ON *.* TO '{USER}'@'127.0.0.1' WITH GRANT OPTION;",
        )
        if grant.returncode != 0:
            stop(base)
            raise ServerError(f"cannot create the test user: {grant.stderr.strip()}")
        (base / "port").write_text(str(port))
        return url_for(port)
    log = base / "error.log"
    raise ServerError(
        "mariadbd did not start: " + (log.read_text(errors="replace")[-2000:] if log.exists() else "")
    )


def stop(base: Path) -> None:
    """Stop the server in ``base`` (if it runs) and delete the directory."""
    pid_file = base / "pid"
    if pid_file.exists():
        with contextlib.suppress(ValueError, OSError):
            pid = int(pid_file.read_text().strip())
            os.kill(pid, signal.SIGKILL)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.05)
    shutil.rmtree(base, ignore_errors=True)


def main(argv: Sequence[str]) -> int:
    """The command line of scripts/test: ``start DIR`` or ``stop DIR``."""
    return server_cli(
        argv,
        label="MariaDB",
        module="tests.helpers.mariadbserver",
        start=start,
        stop=stop,
        errors=(ServerError, OSError, KeyError),
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
