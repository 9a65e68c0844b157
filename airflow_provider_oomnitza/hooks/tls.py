"""TLS for every hook: ``verify_ssl``, ``cacert_file``, ``cacert_dir`` and ``ssl_protocol`` resolved once.

``TlsOptions.of(settings)`` reads the four settings of a section (or a connection) and says
what they mean, warning where a choice weakens TLS. The result is handed to whatever client
a hook uses: ``session()`` (or ``requests_verify`` and ``adapter()``) for requests, ``ssl_context()``
for anything else that speaks TLS (LDAP, SOAP).

- ``verify_ssl = false`` turns certificate checks off (with a warning); ``cacert_file`` and
  ``cacert_dir`` are then unused.
- ``cacert_file`` / ``cacert_dir`` replace the default CA bundle (certifi, as requests).
- ``ssl_protocol`` is read as a minimum TLS version. Empty (and the original's ``ssl``,
  ``sslv23``, ``ssl23``, which meant "negotiate") keep the floor at TLS 1.2; ``tls1_3``
  raises it; ``tls``, ``tls1`` and ``tls1_1`` lower it only because the user asked, with a
  warning.
"""
from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from airflow_provider_oomnitza.hooks.errors import SourceConfigError

FLOOR = ssl.TLSVersion.TLSv1_2
MINIMUM_OF = {
    "": FLOOR, "ssl": FLOOR, "sslv23": FLOOR, "ssl23": FLOOR,
    "tls": ssl.TLSVersion.TLSv1, "tls1": ssl.TLSVersion.TLSv1, "tls1_1": ssl.TLSVersion.TLSv1_1,
    "tls1_2": ssl.TLSVersion.TLSv1_2, "tls1_3": ssl.TLSVersion.TLSv1_3,
}
_NAMES = {ssl.TLSVersion.TLSv1: "TLS 1.0", ssl.TLSVersion.TLSv1_1: "TLS 1.1", ssl.TLSVersion.TLSv1_2: "TLS 1.2",
          ssl.TLSVersion.TLSv1_3: "TLS 1.3"}
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TlsOptions:
    """How a hook checks the server it talks to."""

    verify: bool = True
    cacert_file: str = ""
    cacert_dir: str = ""
    minimum: ssl.TLSVersion = FLOOR

    @classmethod
    def of(cls, settings: Any, *, where: str = "", log: Any = None) -> TlsOptions:
        """The options of a settings object (any object with the four settings; missing ones default)."""
        log = log or _log
        prefix = f"{where} " if where else ""
        verify = bool(getattr(settings, "verify_ssl", True))
        cacert_file = str(getattr(settings, "cacert_file", "") or "")
        cacert_dir = str(getattr(settings, "cacert_dir", "") or "")
        protocol = str(getattr(settings, "ssl_protocol", "") or "").lower()
        if protocol not in MINIMUM_OF:
            raise SourceConfigError(f"{prefix}ssl_protocol: expected one of {', '.join(sorted(MINIMUM_OF)[1:])} "
                                    f"or empty, got {protocol!r}")
        minimum = MINIMUM_OF[protocol]
        if minimum < FLOOR:
            log.warning("%sssl_protocol = %s allows %s, which is no longer considered secure; leave ssl_protocol "
                        "empty unless this server cannot speak TLS 1.2", prefix, protocol, _NAMES[minimum])
        if not verify:
            unused = " (cacert_file and cacert_dir are not used)" if cacert_file or cacert_dir else ""
            log.warning("%sverify_ssl = false: the server's TLS certificate is not checked%s; give its CA in "
                        "cacert_file instead", prefix, unused)
            return cls(False, "", "", minimum)
        if cacert_file and not Path(cacert_file).is_file():
            raise SourceConfigError(f"{prefix}cacert_file: {cacert_file} is not a file; expected a PEM bundle of "
                                    "the CA(s) that signed the server's certificate")
        if cacert_dir and not Path(cacert_dir).is_dir():
            raise SourceConfigError(f"{prefix}cacert_dir: {cacert_dir} is not a directory of CA certificates")
        return cls(True, cacert_file, cacert_dir, minimum)

    @property
    def requests_verify(self) -> bool | str:
        """The ``verify`` value of a requests session."""
        if not self.verify:
            return False
        return self.cacert_file or self.cacert_dir or True

    def ssl_context(self) -> ssl.SSLContext:
        """A client context: the CAs to trust, hostname checks, and the minimum TLS version."""
        if self.verify and (self.cacert_file or self.cacert_dir):
            context = ssl.create_default_context(cafile=self.cacert_file or None, capath=self.cacert_dir or None)
        elif self.verify:
            import certifi  # requests' own CA bundle

            context = ssl.create_default_context(cafile=certifi.where())
        else:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.minimum < FLOOR:
            context.set_ciphers("DEFAULT:@SECLEVEL=0")  # old protocols need the ciphers they were made with
        context.minimum_version = self.minimum
        return context

    def adapter(self, **kwargs: Any) -> requests.adapters.HTTPAdapter:
        """A requests adapter using ``ssl_context()`` (``kwargs``: pool sizes)."""
        return TlsAdapter(self.ssl_context(), **kwargs)

    def session(self, context: ssl.SSLContext | None = None, **kwargs: Any) -> TlsSession:
        """A requests session checking servers as these options say (``context``: one already made from
        them; ``kwargs``: pool sizes)."""
        return TlsSession(self, context, **kwargs)

    def describe(self) -> str:
        if not self.verify:
            return "certificates not checked"
        trust = self.cacert_file or self.cacert_dir or "the default CA bundle"
        return f"trusting {trust}, {_NAMES[self.minimum]} or later"


class TlsAdapter(requests.adapters.HTTPAdapter):
    """An HTTPAdapter whose connections use a given SSL context."""

    def __init__(self, context: ssl.SSLContext, **kwargs: Any) -> None:
        self.context = context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self.context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, *args: Any, **kwargs: Any):
        kwargs["ssl_context"] = self.context
        return super().proxy_manager_for(*args, **kwargs)


class TlsSession(requests.Session):
    """A requests session whose https connections use the options' SSL context, and whose ``verify`` is
    given on every request: a session's own ``verify`` loses to REQUESTS_CA_BUNDLE in the environment."""

    def __init__(self, tls: TlsOptions, context: ssl.SSLContext | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.tls = tls
        self.verify = tls.requests_verify
        self.mount("https://", TlsAdapter(context or tls.ssl_context(), **kwargs))

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("verify", self.tls.requests_verify)
        return super().request(method, url, *args, **kwargs)


def tls_failure(exc: BaseException) -> str | None:
    """What a TLS failure means and what to do, or None when ``exc`` is no TLS failure."""
    text = str(exc)
    if not isinstance(exc, requests.exceptions.SSLError) and "SSL" not in type(exc).__name__:
        return None
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        detail = text.split("certificate verify failed:", 1)[-1].split("(_ssl")[0].strip(" )'\"")
        return (f"the server's TLS certificate is not trusted ({detail or 'verify failed'}); set cacert_file to the "
                "CA bundle that signed it (or, not recommended, verify_ssl = false)")
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        return "the server does not speak TLS on this port (is the URL http:// rather than https://?)"
    if "UNSUPPORTED_PROTOCOL" in text or "PROTOCOL_VERSION" in text or "no protocols available" in text:
        return ("the server and this client share no TLS version (the minimum is TLS 1.2 unless ssl_protocol "
                "lowers it)")
    if "UNEXPECTED_EOF" in text or "EOF occurred" in text:
        return ("the server ended the TLS handshake; often the server and this client share no TLS version (the "
                "minimum is TLS 1.2 unless ssl_protocol lowers it)")
    return f"TLS handshake failed ({text[:200]})"
