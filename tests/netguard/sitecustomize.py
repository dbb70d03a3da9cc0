"""No network during the tests: refuse socket connections and name lookups that leave the machine.

Installed in the test process by tests/conftest.py and, through ``PYTHONPATH`` (this folder first), in every
Python subprocess the tests start (papermill kernels, scripts), where Python imports it as ``sitecustomize``.
Loopback addresses, the unspecified address, Unix sockets and the local host name stay allowed (papermill talks
to its kernel over 127.0.0.1; tests serve fake archives from a loopback HTTP server).

A refused attempt raises :class:`NetworkBlockedError` (a ``ConnectionError``, so code that handles a missing
network behaves as on an offline machine) and is appended to the file named by ``$SPECTRAL_COLLAPSE_NETGUARD_LOG``,
which conftest.py reads at the end of the session to fail the run.
"""
from __future__ import annotations

import ipaddress
import os
import socket

LOG_ENV = "SPECTRAL_COLLAPSE_NETGUARD_LOG"
attempts: list[str] = []


class NetworkBlockedError(ConnectionError):
    """A test (or code under test) tried to reach a non-loopback address."""


def is_local(host) -> bool:
    """True for loopback / unspecified IP literals, 'localhost' and this machine's own host name."""
    if host is None or isinstance(host, (bytes, bytearray)) and not host:
        return True
    if isinstance(host, (bytes, bytearray)):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").split("%", 1)[0]
    if host in ("", "localhost", "localhost.localdomain", "ip6-localhost", socket.gethostname()):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def _refuse(what: str):
    attempts.append(what)
    path = os.environ.get(LOG_ENV)
    if path:
        try:
            with open(path, "a") as f:
                f.write(f"pid {os.getpid()}: {what}\n")
        except OSError:
            pass
    raise NetworkBlockedError(f"network access is blocked during the tests: {what}; use a loopback server "
                              f"(tests/fixtures_real.py) or local files instead")


def install() -> None:
    """Patch socket connect / connect_ex / getaddrinfo / gethostbyname once (idempotent)."""
    if getattr(socket, "_spectral_collapse_guard", False):
        return
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo, real_gethostbyname = socket.getaddrinfo, socket.gethostbyname
    inet = (socket.AF_INET, socket.AF_INET6)

    def connect(self, address):
        if self.family in inet and not is_local(address[0]):
            _refuse(f"connect to {address!r}")
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in inet and not is_local(address[0]):
            _refuse(f"connect_ex to {address!r}")
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kw):
        if not is_local(host):
            _refuse(f"name lookup of {host!r}")
        return real_getaddrinfo(host, *args, **kw)

    def gethostbyname(host):
        if not is_local(host):
            _refuse(f"name lookup of {host!r}")
        return real_gethostbyname(host)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
    socket.getaddrinfo, socket.gethostbyname = getaddrinfo, gethostbyname
    socket._spectral_collapse_guard = True


if __name__ == "sitecustomize" and os.environ.get(LOG_ENV):  # a subprocess started by the tests
    install()
