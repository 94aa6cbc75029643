"""A throwaway PostgreSQL server for the tests: started in a temp dir, removed at the end.

    with postgres_server() as url:   # postgresql+psycopg://USER@127.0.0.1:PORT/autograder
        ...

PostgreSQL refuses to run as root, so as root the cluster belongs to Debian's
`postgres` system user (its binaries run through `runuser`); otherwise it runs
as the current user. It listens on 127.0.0.1 only, on a free port, with its
unix socket inside the temp dir, and trusts connections from 127.0.0.1 only
(a test server: no password, nothing reachable from outside the machine).
fsync is off: the data is thrown away anyway. Stopping and removing happen in
a `finally`, so a failing test leaves no server or files behind.
"""
import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SYSTEM_USER = "postgres"  # created by Debian's postgresql package
DATABASE = "autograder"
START_ATTEMPTS = 3  # a free port can be taken between choosing and binding it


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries, or no unprivileged user to run them as."""


def find_binaries():
    """The bin/ folder of the newest PostgreSQL in /usr/lib/postgresql (Debian's layout)."""
    def version(path):
        return [int(part) for part in re.findall(r"\d+", Path(path).parent.name)] or [0]
    candidates = [Path(path) for path in glob.glob("/usr/lib/postgresql/*/bin")
                  if (Path(path) / "initdb").exists() and (Path(path) / "pg_ctl").exists()]
    if not candidates:
        raise PostgresUnavailable("no PostgreSQL binaries under /usr/lib/postgresql/*/bin "
                                  "(`python3 tasks.py test` installs the Debian package postgresql)")
    return max(candidates, key=version)


def server_user():
    """(name, uid, gid) of the user the server runs as: never root."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return entry.pw_name, entry.pw_uid, entry.pw_gid
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise PostgresUnavailable(f"running as root and there is no {SYSTEM_USER!r} user to run PostgreSQL as")
    return entry.pw_name, entry.pw_uid, entry.pw_gid


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Cluster:
    def __init__(self, work, bin_dir, user):
        self.work = Path(work)
        self.data = self.work / "data"
        self.log = self.work / "server.log"
        self.bin = bin_dir
        self.user, self.uid, self.gid = user
        self.port = None

    def run(self, tool, *args, check=True, timeout=60):
        command = [str(self.bin / tool), *map(str, args)]
        if os.geteuid() != self.uid:
            command = ["runuser", "-u", self.user, "--", *command]
        # cwd: the server user may not be allowed into the caller's working directory.
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        env["LC_ALL"] = "C"
        process = subprocess.run(command, cwd=self.work, env=env, capture_output=True, text=True,
                                 timeout=timeout)
        if check and process.returncode != 0:
            raise RuntimeError(f"{tool} failed ({process.returncode}):\n{process.stdout}\n{process.stderr}"
                               f"\n{self.server_log()}")
        return process

    def server_log(self):
        try:
            return "server log:\n" + self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def init(self):
        os.chown(self.work, self.uid, self.gid)
        os.chmod(self.work, 0o700)
        self.run("initdb", "-D", self.data, "-U", self.user, "--no-sync", "-E", "UTF8", "--locale=C",
                 "--auth-local=trust", "--auth-host=reject")
        # Trust TCP connections from 127.0.0.1 only; everything else is refused.
        hba = self.data / "pg_hba.conf"
        rules = ("# throwaway test cluster\n"
                 "local all all trust\n"
                 "host  all all 127.0.0.1/32 trust\n")
        hba.write_text(rules)
        os.chown(hba, self.uid, self.gid)

    def start(self):
        for attempt in range(START_ATTEMPTS):
            self.port = free_port()
            options = (f"-c listen_addresses=127.0.0.1 -p {self.port} "
                       f"-c unix_socket_directories={self.work} "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                       "-c max_connections=50 -c shared_buffers=16MB")
            process = self.run("pg_ctl", "start", "-D", self.data, "-l", self.log, "-w", "-t", "30",
                               "-o", options, check=False)
            if process.returncode == 0:
                return
            if attempt == START_ATTEMPTS - 1 or "already in use" not in self.server_log():
                raise RuntimeError(f"pg_ctl start failed:\n{process.stdout}\n{process.stderr}\n"
                                   f"{self.server_log()}")

    def stop(self):
        if not (self.data / "postmaster.pid").exists():
            return
        # immediate: nothing to keep, so no shutdown checkpoint.
        stopped = self.run("pg_ctl", "stop", "-D", self.data, "-m", "immediate", "-w", "-t", "20",
                           check=False, timeout=30)
        if stopped.returncode != 0:
            self._kill_postmaster()

    def _kill_postmaster(self):
        """Last resort: SIGQUIT (immediate shutdown) to the postmaster this cluster started."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def url_for(user, port, database):
    return f"postgresql+psycopg://{user}@127.0.0.1:{port}/{database}"


def create_database(url, name):
    """A new empty database on the server of `url`; returns its SQLAlchemy URL."""
    import psycopg
    from psycopg import sql

    head, _, _ = url.rpartition("/")
    admin = head.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{head}/{name}"


@contextlib.contextmanager
def postgres_server(database=DATABASE, timings=None):
    """Start a throwaway cluster; yield the SQLAlchemy URL of `database` on it.

    timings: an optional dict that receives the seconds spent in initdb, start and stop.
    """
    bin_dir = find_binaries()
    user = server_user()
    work = tempfile.mkdtemp(prefix="pg-test-")
    cluster = _Cluster(work, bin_dir, user)
    try:
        began = time.perf_counter()
        cluster.init()
        initialised = time.perf_counter()
        cluster.start()
        url = create_database(url_for(cluster.user, cluster.port, "postgres"), database)
        ready = time.perf_counter()
        if timings is not None:
            timings.update(initdb=initialised - began, start=ready - initialised, total=ready - began)
        yield url
    finally:
        stopping = time.perf_counter()
        try:
            cluster.stop()
        finally:
            shutil.rmtree(work, ignore_errors=True)
            if timings is not None:
                timings["stop"] = time.perf_counter() - stopping


if __name__ == "__main__":
    measured = {}
    with postgres_server(timings=measured) as server_url:
        print(server_url)
    print(", ".join(f"{key} {value:.2f} s" for key, value in measured.items()))
