"""An emulator endpoint: moto's ``ThreadedMotoServer`` on 127.0.0.1 with the extension installed.

The demo, the local-invoke harness and tests of code that only takes an ``endpoint_url`` (or
``AWS_ENDPOINT_URL``) use it. The server runs as a thread of this process, so the patches that
``install()`` applies to moto's classes, the injected faults and the switches in ``config`` all
apply to it; ``stop()`` uninstalls them again when ``start()`` installed them (several servers
share one install: the last to stop uninstalls).

    server = byok_emulator.server.start()          # port 0: a free port
    client = boto3.client("kms", endpoint_url=server.endpoint_url, region_name="eu-west-1")
    server.reset()                                  # POST /moto-api/reset, and drop faults
    server.stop()
"""

from __future__ import annotations

import threading
import urllib.request
from dataclasses import dataclass, field

from moto.server import ThreadedMotoServer

from . import faults, install, installed, uninstall
from .config import KeyPolicyMode

# Servers that installed the extension share that install: the last one to stop uninstalls.
_lock = threading.Lock()
_owning_servers = 0


def _acquire(key_policies: KeyPolicyMode | str) -> bool:
    global _owning_servers
    with _lock:
        owns = _owning_servers > 0 or not installed()
        install(key_policies)
        if owns:
            _owning_servers += 1
        return owns


def _release() -> None:
    global _owning_servers
    with _lock:
        _owning_servers -= 1
        if _owning_servers == 0:
            uninstall()


@dataclass
class EmulatorServer:
    """A running emulator; ``endpoint_url`` is ``http://127.0.0.1:<port>``."""

    host: str
    port: int
    _server: ThreadedMotoServer = field(repr=False)
    _owns_install: bool = field(default=False, repr=False)
    running: bool = True

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self, *, clear_faults: bool = True) -> None:
        """Forget every resource (moto's ``POST /moto-api/reset``) and, by default, every fault."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        if clear_faults:
            faults.reset()

    def stop(self) -> None:
        """Stop the server (idempotent); uninstall the extension if ``start`` installed it."""
        if not self.running:
            return
        self._server.stop()
        self.running = False
        if self._owns_install:
            _release()

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(
    port: int = 0, *, key_policies: KeyPolicyMode | str = KeyPolicyMode.CROSS_ACCOUNT
) -> EmulatorServer:
    """Install the extension and start a server on 127.0.0.1 (``port=0``: any free port)."""
    if not 0 <= port <= 65535:
        raise ValueError(f"port: expected 0..65535, got {port!r}")
    owns_install = _acquire(key_policies)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    try:
        server.start()
    except BaseException:
        if owns_install:
            _release()
        raise
    host, bound_port = server.get_host_and_port()
    return EmulatorServer(host=host, port=bound_port, _server=server, _owns_install=owns_install)
