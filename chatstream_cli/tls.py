"""The TLS context of every HTTP client: httpx's own choice of CA certificates, loaded on a second thread.

httpx loads its CA bundle (certifi's, or the one ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` name) in the
constructor of every client, on the main thread, before anything can be sent: 20 to 90 ms of OpenSSL
parsing. OpenSSL does it without holding the GIL, so :func:`preload` starts it on another thread as soon
as a provider knows it will talk HTTP, and it runs on the second core while Python imports httpx and
httpcore, which take about as long. :func:`context` waits for it and gives the same context to every
client of the process (an SSLContext is safe to share between connections and threads).
"""

from __future__ import annotations

import errno
import os
import re
import threading
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    import ssl

Source = tuple[str, str]
"""Where the certificates come from: ("SSL_CERT_FILE", path), ("SSL_CERT_DIR", path) or ("certifi", "")."""


class _Loading:
    """One context being made on a thread of its own; :meth:`result` waits for it."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self._context: ssl.SSLContext | None = None
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._load, name="chatstream-tls", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        try:
            self._context = _load(self.source)
        except Exception as exc:  # handed to the thread that waits, which reports it
            self._error = exc

    def result(self) -> ssl.SSLContext:
        if self._thread.is_alive():
            # httpx.Client's constructor imports httpcore next: do it now, while the other thread works.
            import httpcore  # noqa: F401

            self._thread.join()
        if self._error is not None:
            raise _unusable(self.source, self._error) from self._error
        assert self._context is not None
        return self._context


_loading: dict[Source, _Loading] = {}
_lock = threading.Lock()


def source() -> Source:
    """The certificates httpx would trust with ``verify=True`` (and ``trust_env``, its default)."""
    for variable in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        if os.environ.get(variable):
            return variable, os.environ[variable]
    return "certifi", ""


def preload() -> None:
    """Start loading the context, unless it is loading or loaded already."""
    _started(source())


def context() -> ssl.SSLContext:
    """The verifying client context, once its certificates are in (ConfigError if they cannot be read)."""
    return _started(source()).result()


def _started(where: Source) -> _Loading:
    with _lock:
        if where not in _loading:
            _loading[where] = _Loading(where)
        return _loading[where]


def _load(where: Source) -> ssl.SSLContext:
    """What ``httpx.create_ssl_context()`` makes, step for step."""
    import ssl

    kind, path = where
    if kind == "SSL_CERT_FILE":
        return ssl.create_default_context(cafile=path)
    if kind == "SSL_CERT_DIR":
        if not os.path.isdir(path):  # OpenSSL reads the directory lazily and would only fail at the handshake
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
        return ssl.create_default_context(capath=path)
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


_OPENSSL_NOISE = re.compile(r"^\[[^\]]*\]|\(_ssl\.c:\d+\)$")
"""The library code and C source line around OpenSSL's words: "[X509: ...] no certificate found (_ssl.c:4154)"."""


def _unusable(where: Source, error: Exception) -> ConfigError:
    kind, path = where
    reason = _OPENSSL_NOISE.sub("", getattr(error, "strerror", None) or str(error)).strip()
    if kind == "certifi":
        return ConfigError(
            f"cannot load certifi's CA certificates: {reason}", "reinstall chatstream (pip install -U certifi)"
        )
    wanted = "a PEM bundle" if kind == "SSL_CERT_FILE" else "a directory of hashed certificates"
    return ConfigError(
        f"{kind}={path}: cannot load CA certificates from it: {reason}", f"point {kind} at {wanted} or unset it"
    )
