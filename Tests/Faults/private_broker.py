"""A private RabbitMQ node for tests that must stop, restart or reconfigure
their broker (fault injection, a TLS listener), so that the shared broker on
localhost:5672 is never touched.

    with PrivateBroker(tls_dir=certs) as broker:     # certs: see make_tls_certs()
        broker.url          # amqp://guest:guest@localhost:<port>//
        broker.tls_url      # amqps://guest:guest@localhost:<tls port>//  (with tls_dir)
        broker.ctl("list_queues")
        broker.stop_app(); broker.start_app()
        broker.close_connections("plugworker")

The node runs from the Debian package's own scripts
(`/usr/lib/rabbitmq/bin/rabbitmq-server`, the unwrapped one: the `/usr/sbin`
wrapper switches to the `rabbitmq` user and its cookie) as the current user,
with every path of its own under a temporary directory: node name
`pwfaults-<pid>@localhost`, its own `HOME` (so its own Erlang cookie), mnesia,
logs, config and enabled-plugins file, and free ports picked at start (AMQP,
TLS, Erlang distribution). `stop()` (or leaving the `with`) stops it and
removes the directory unless `keep=True`. Works as root on a fresh CI machine
where `scripts/setup.sh` installed rabbitmq-server.

Environment: `PLUGWORKER_RABBITMQ_BIN` (default `/usr/lib/rabbitmq/bin`).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

RABBITMQ_BIN = Path(os.environ.get("PLUGWORKER_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))


class BrokerError(RuntimeError):
    pass


def free_port() -> int:
    """A TCP port free on both 127.0.0.1 and ::1, so that "localhost" means
    this node whichever address a client tries first."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            if not socket.has_ipv6:
                return port
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
                    s6.bind(("::1", port))
                return port
            except OSError:
                continue
    raise BrokerError("no TCP port free on both 127.0.0.1 and ::1")


def unavailable() -> str | None:
    """Why a private node cannot be started here, or None."""
    for tool in ("rabbitmq-server", "rabbitmqctl"):
        if not os.access(RABBITMQ_BIN / tool, os.X_OK):
            return f"{RABBITMQ_BIN / tool} not found (install rabbitmq-server, or set PLUGWORKER_RABBITMQ_BIN)"
    if shutil.which("erl") is None and not Path("/usr/lib/erlang/bin/erl").exists():
        return "Erlang (erl) not found"
    return None


def make_tls_certs(directory: Path, *, cn: str = "localhost") -> dict[str, Path]:
    """A self-signed CA, a server certificate for `cn` (also as a DNS and IP
    subjectAltName) and a client certificate, all signed by it; plus a second,
    unrelated CA (`wrong_ca`) for negative tests. Returns the paths by name:
    ca, server_cert, server_key, client_cert, client_key, wrong_ca."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)

    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, text=True)

    for ca in ("ca", "wrong_ca"):
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", f"/CN=plugworker test {ca}", "-keyout", f"{ca}.key", "-out", f"{ca}.pem",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    (d / "server.ext").write_text(
        f"subjectAltName=DNS:{cn},IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n")
    for who, subj in (("server", cn), ("client", "plugworker test client")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={subj}",
            "-keyout", f"{who}.key", "-out", f"{who}.csr")
        run("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", f"{who}.pem", "-extfile", f"{who}.ext")
    for f in d.iterdir():
        f.chmod(0o644)  # the node may run as another user than the one who made them
    return {"ca": d / "ca.pem", "server_cert": d / "server.pem", "server_key": d / "server.key",
            "client_cert": d / "client.pem", "client_key": d / "client.key", "wrong_ca": d / "wrong_ca.pem"}


class PrivateBroker:
    def __init__(self, *, tls_certs: dict[str, Path] | None = None, keep: bool = False,
                 base_dir: Path | None = None, start_timeout: float = 90.0):
        self.tls_certs = tls_certs
        self.keep = keep
        self.start_timeout = start_timeout
        self.dir = Path(tempfile.mkdtemp(prefix="pwfaults-broker-", dir=base_dir))
        self.node = f"pwfaults-{os.getpid()}-{self.dir.name[-6:]}@localhost"
        self.port = free_port()
        self.tls_port = free_port() if tls_certs else None
        self.dist_port = free_port()
        self.started = False

    # ---- URLs ----------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@localhost:{self.port}//"

    @property
    def tls_url(self) -> str:
        if self.tls_port is None:
            raise BrokerError("this node has no TLS listener (no tls_certs)")
        return f"amqps://guest:guest@localhost:{self.tls_port}//"

    # ---- lifecycle -----------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "HOME": str(self.dir / "home"),  # its own .erlang.cookie
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.dir / "rabbitmq.pid"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
        })
        return env

    def _write_config(self) -> None:
        (self.dir / "home").mkdir(mode=0o700)
        for sub in ("mnesia", "log"):
            (self.dir / sub).mkdir()
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq-env.conf").write_text("")
        lines = [
            f"listeners.tcp.default = 127.0.0.1:{self.port}",
            "loopback_users.guest = true",
            "log.console = false",
            "log.file.level = info",
            # Fault injection must never be confused with a full disk.
            "disk_free_limit.absolute = 50MB",
            "vm_memory_high_watermark.relative = 0.6",
        ]
        if self.tls_certs:
            c = self.tls_certs
            lines += [
                f"listeners.ssl.default = 127.0.0.1:{self.tls_port}",
                f"ssl_options.cacertfile = {c['ca']}",
                f"ssl_options.certfile = {c['server_cert']}",
                f"ssl_options.keyfile = {c['server_key']}",
                "ssl_options.verify = verify_peer",
                "ssl_options.fail_if_no_peer_cert = false",
            ]
        (self.dir / "rabbitmq.conf").write_text("\n".join(lines) + "\n")
        (self.dir / "advanced.config").write_text("[].\n")

    def start(self) -> "PrivateBroker":
        why = unavailable()
        if why:
            raise BrokerError(why)
        self._write_config()
        out = open(self.dir / "server.out", "ab")
        subprocess.run([str(RABBITMQ_BIN / "rabbitmq-server"), "-detached"], env=self.env(),
                       cwd=self.dir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                       check=False, timeout=60)
        self.started = True
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                self.ctl("await_startup", "--timeout", "10", timeout=20)
                break
            except (BrokerError, subprocess.TimeoutExpired) as exc:
                if time.monotonic() > deadline:
                    self.stop()
                    raise BrokerError(f"private RabbitMQ {self.node} did not start: {exc}\n"
                                      f"{self.log_tail()}") from None
                time.sleep(1)
        self.wait_amqp()
        return self

    def stop(self) -> None:
        if self.started:
            try:
                self.ctl("stop", timeout=60)
            except (BrokerError, subprocess.TimeoutExpired):
                pid = self._pid()
                if pid:
                    try:
                        os.kill(pid, 9)
                    except ProcessLookupError:
                        pass
            self.started = False
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _pid(self) -> int | None:
        try:
            return int((self.dir / "rabbitmq.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def __enter__(self) -> "PrivateBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_tail(self, lines: int = 40) -> str:
        out = []
        for path in sorted((self.dir / "log").glob("*.log")) + [self.dir / "server.out"]:
            try:
                text = path.read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            out.append(f"--- {path} ---\n" + "\n".join(text))
        return "\n".join(out)

    # ---- control -------------------------------------------------------------

    def ctl(self, *args: str, timeout: float = 60.0) -> str:
        """`rabbitmqctl -n NODE ARGS`; returns stdout; raises BrokerError."""
        done = subprocess.run([str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.node, *args],
                              env=self.env(), cwd=self.dir, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise BrokerError(f"rabbitmqctl {' '.join(args)}: status {done.returncode}: "
                              f"{done.stdout.strip()} {done.stderr.strip()}")
        return done.stdout

    def amqp_answers(self, timeout: float = 2.0) -> bool:
        import amqp
        try:
            with amqp.Connection(host=f"localhost:{self.port}", userid="guest", password="guest",
                                 connect_timeout=timeout) as conn:
                conn.channel().close()
            return True
        except Exception:
            return False

    def wait_amqp(self, timeout: float = 60.0) -> float:
        started = time.monotonic()
        while not self.amqp_answers():
            if time.monotonic() - started > timeout:
                raise BrokerError(f"private RabbitMQ {self.node} did not answer AMQP within {timeout:g} s")
            time.sleep(0.3)
        return time.monotonic() - started

    def stop_app(self) -> None:
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.ctl("await_startup", "--timeout", "60", timeout=90)
        self.wait_amqp()

    def connections(self) -> list[tuple[str, str]]:
        """(pid, client-provided connection name) of each client connection."""
        out = self.ctl("list_connections", "pid", "client_properties", "--no-table-headers", "--quiet")
        conns = []
        for line in out.splitlines():
            pid, _, props = line.partition("\t")
            m = re.search(r'\{"connection_name",(?:longstr,)?(?:<<)?"([^"]*)"', props)
            name = m.group(1) if m else ""
            if pid.strip():
                conns.append((pid.strip(), name))
        return conns

    def close_connections(self, name_prefix: str, reason: str = "fault injection") -> int:
        """Closes (server side) every connection whose client-provided name
        starts with `name_prefix`; returns how many."""
        n = 0
        for pid, name in self.connections():
            if name.startswith(name_prefix):
                try:
                    self.ctl("close_connection", pid, reason)
                    n += 1
                except BrokerError:
                    pass
        return n

    def queue_depth(self, queue: str) -> tuple[int, int]:
        """(ready, unacknowledged) messages in `queue`."""
        out = self.ctl("list_queues", "name", "messages_ready", "messages_unacknowledged",
                       "--no-table-headers", "--quiet")
        for line in out.splitlines():
            parts = line.split("\t")
            if parts and parts[0] == queue and len(parts) >= 3:
                return int(parts[1]), int(parts[2])
        return 0, 0
