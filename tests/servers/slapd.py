"""A real OpenLDAP ``slapd`` for tests: AD-like data, TLS, paging, a size limit.

``SlapdServer(people=3000, computers=300).start()`` (or ``with SlapdServer() as ldap:``):

* writes a throwaway cn=config (``slapd -F``) and an mdb database into a temp dir, with the
  core, cosine, inetorgperson and a compact AD schema (:mod:`tests.servers.ad_schema`);
* bulk-loads the generated directory of :mod:`tests.servers.ldap_data` with ``slapadd -q``
  (people in nested OUs, computers, groups, a service account);
* makes a CA and a server certificate for ``127.0.0.1``/``localhost`` with ``trustme`` and
  serves ``ldap://`` (StartTLS available) and ``ldaps://`` on two free loopback ports;
* applies an AD-like size limit (``size_limit``, default 1000) to everyone but the rootDN:
  an unpaged search beyond it ends with ``sizeLimitExceeded`` (4), a paged search (RFC 2696,
  control ``1.2.840.113556.1.4.319``) returns everything (``size.prtotal=unlimited``), and
  pages larger than the limit are refused (``size.pr``) as AD clamps them;
* optionally loads the ``sssvlv`` overlay so the server-side sort control (RFC 2891) works;
* lets the service account (``bind_dn``/``bind_password``) read everything and the rootDN
  (``admin_dn``/``admin_password``) also manage ``cn=config`` (to change limits at run time);
  anonymous binds are allowed but read nothing unless ``anonymous_read=True``.

``stop()`` ends the process and removes the temp dir. The system slapd service is not used
(``scripts/install-test-deps.sh`` installs the binaries without starting it).
Run it as a process: ``python -m tests.servers.slapd [--people N] [--computers N]`` prints the
URLs, DNs, passwords and CA file, then serves until interrupted.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.servers import ad_schema, ldap_data

SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
STANDARD_SCHEMAS = ("core", "cosine", "inetorgperson")
INSTALL_HINT = "install it with scripts/install-test-deps.sh (Debian packages slapd, ldap-utils)"


def find_program(name: str) -> str:
    """``slapd``/``slapadd`` live in /usr/sbin, which is not on every user's PATH."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")
    if not found:
        raise RuntimeError(f"{name} not found; {INSTALL_HINT}")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def ssha(password: str) -> str:
    """An ``{SSHA}`` userPassword/olcRootPW value, so no clear password sits in the config."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode("utf-8") + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode("ascii")


class SlapdServer:
    """One slapd process with its own config, database, certificates and ports."""

    host = "127.0.0.1"
    base_dn = ldap_data.BASE_DN
    admin_dn = f"CN=admin,{ldap_data.BASE_DN}"
    bind_dn = ldap_data.SERVICE_DN

    def __init__(self, people: int = 3000, computers: int = 300, seed: int = 11, size_limit: int = 1000,
                 sort_control: bool = False, anonymous_read: bool = False, log_level: str = "none"):
        self.people, self.computers, self.seed = people, computers, seed
        self.size_limit = size_limit
        self.sort_control = sort_control
        self.anonymous_read = anonymous_read
        self.log_level = log_level
        self.admin_password = base64.urlsafe_b64encode(os.urandom(12)).decode("ascii")
        self.bind_password = "svc-" + base64.urlsafe_b64encode(os.urandom(9)).decode("ascii")
        self.directory: ldap_data.Directory | None = None
        self.workdir: Path | None = None
        self.process: subprocess.Popen | None = None
        self.port = self.ldaps_port = 0
        self.timings: dict[str, float] = {}

    # --- what tests use --------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"ldap://{self.host}:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://{self.host}:{self.ldaps_port}"

    @property
    def ca_cert_file(self) -> str:
        return str(self.workdir / "ca.pem")

    @property
    def log_file(self) -> Path:
        return self.workdir / "slapd.log"

    # --- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> "SlapdServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "SlapdServer":
        began = time.perf_counter()
        slapd, slapadd = find_program("slapd"), find_program("slapadd")
        self.workdir = Path(tempfile.mkdtemp(prefix="oomnitza-slapd-"))
        try:
            self.directory = ldap_data.generate_directory(self.people, self.computers, self.seed,
                                                          self.bind_password)
            self.timings["generate"] = time.perf_counter() - began
            self._write_certificates()
            config_dir = self.workdir / "slapd.d"
            config_dir.mkdir()
            (self.workdir / "data").mkdir()
            (self.workdir / "config.ldif").write_text(self._config_ldif(), encoding="utf-8")
            self._run([slapadd, "-n0", "-F", str(config_dir), "-l", str(self.workdir / "config.ldif")])
            data = self.directory.to_ldif()
            (self.workdir / "data.ldif").write_text(data, encoding="utf-8")
            mark = time.perf_counter()
            self._run([slapadd, "-q", "-F", str(config_dir), "-b", self.base_dn,
                       "-l", str(self.workdir / "data.ldif")])
            self.timings["slapadd"] = time.perf_counter() - mark
            mark = time.perf_counter()
            self._launch(slapd, config_dir)
            self.timings["launch"] = time.perf_counter() - mark
        except BaseException:
            self.stop()
            raise
        self.timings["total"] = time.perf_counter() - began
        return self

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGINT)   # slapd's clean shutdown
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(5)
            self.process = None
        if self.workdir is not None and os.environ.get("OOMNITZA_KEEP_SLAPD_DIR") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _run(self, argv: list[str]) -> None:
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def _launch(self, slapd: str, config_dir: Path, attempts: int = 3) -> None:
        """Start slapd on two free ports; retry with new ports if another process took one."""
        for _ in range(attempts):
            self.port, self.ldaps_port = free_port(self.host), free_port(self.host)
            urls = f"ldap://{self.host}:{self.port}/ ldaps://{self.host}:{self.ldaps_port}/"
            with open(self.log_file, "ab") as log:
                # -d keeps slapd in the foreground (so stop() owns it); -s 0 keeps syslog quiet
                self.process = subprocess.Popen([slapd, "-F", str(config_dir), "-h", urls, "-d", "0", "-s", "0"],
                                                stdout=log, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL)
            if self._wait_listening(timeout=20):
                return
            self.process.wait(5)
            self.process = None
        raise RuntimeError(f"slapd did not start; log:\n{self.log_file.read_text(errors='replace')[-4000:]}")

    def _wait_listening(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if all(self._accepts(port) for port in (self.port, self.ldaps_port)):
                return True
            time.sleep(0.02)
        self.process.kill()
        return False

    def _accepts(self, port: int) -> bool:
        try:
            with socket.create_connection((self.host, port), timeout=0.5):
                return True
        except OSError:
            return False

    # --- files ---------------------------------------------------------------------------
    def _write_certificates(self) -> None:
        import trustme

        ca = trustme.CA()
        server = ca.issue_cert("127.0.0.1", "localhost")
        ca.cert_pem.write_to_path(str(self.workdir / "ca.pem"))
        server.cert_chain_pems[0].write_to_path(str(self.workdir / "server.pem"))
        server.private_key_pem.write_to_path(str(self.workdir / "server.key"))

    def _config_ldif(self) -> str:
        w = self.workdir
        modules = ["back_mdb"] + (["sssvlv"] if self.sort_control else [])
        parts = [
            "\n".join([
                "dn: cn=config", "objectClass: olcGlobal", "cn: config",
                f"olcPidFile: {w / 'slapd.pid'}", f"olcArgsFile: {w / 'slapd.args'}",
                f"olcLogLevel: {self.log_level}",
                f"olcTLSCACertificateFile: {w / 'ca.pem'}",
                f"olcTLSCertificateFile: {w / 'server.pem'}",
                f"olcTLSCertificateKeyFile: {w / 'server.key'}",
            ]) + "\n",
            "\n".join(["dn: cn=module{0},cn=config", "objectClass: olcModuleList", "cn: module{0}",
                       f"olcModulePath: {MODULE_DIR}"] + [f"olcModuleLoad: {m}" for m in modules]) + "\n",
            "dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n",
        ]
        for name in STANDARD_SCHEMAS:
            path = SCHEMA_DIR / f"{name}.ldif"
            if not path.exists():
                raise RuntimeError(f"{path} missing; {INSTALL_HINT}")
            text = "\n".join(line for line in path.read_text().splitlines() if not line.startswith("#"))
            parts.append(text.strip() + "\n")
        parts.append(ad_schema.schema_ldif())
        parts.append("dn: olcDatabase={-1}frontend,cn=config\nobjectClass: olcDatabaseConfig\n"
                     "objectClass: olcFrontendConfig\nolcDatabase: {-1}frontend\n")
        parts.append("dn: olcDatabase={0}config,cn=config\nobjectClass: olcDatabaseConfig\n"
                     f'olcDatabase: {{0}}config\nolcAccess: {{0}}to * by dn.exact="{self.admin_dn}" manage '
                     "by * none\n")
        reader = "by * read" if self.anonymous_read else "by users read by * none"
        limit = self.size_limit
        parts.append("\n".join([
            "dn: olcDatabase={1}mdb,cn=config", "objectClass: olcDatabaseConfig", "objectClass: olcMdbConfig",
            "olcDatabase: {1}mdb", f"olcSuffix: {self.base_dn}",
            f"olcRootDN: {self.admin_dn}", f"olcRootPW: {ssha(self.admin_password)}",
            f"olcDbDirectory: {w / 'data'}", "olcDbMaxSize: 4294967296",
            "olcDbIndex: objectClass eq", "olcDbIndex: cn,sn,givenName,mail,uid,sAMAccountName eq,sub",
            "olcDbIndex: userPrincipalName,member,memberOf,objectGUID eq",
            f"olcSizeLimit: size.soft={limit} size.hard={limit} size.pr={limit} size.prtotal=unlimited",
            "olcAccess: {0}to attrs=userPassword by self =xw by anonymous auth by * none",
            f"olcAccess: {{1}}to * {reader}",
        ]) + "\n")
        if self.sort_control:
            parts.append("dn: olcOverlay={0}sssvlv,olcDatabase={1}mdb,cn=config\nobjectClass: olcOverlayConfig\n"
                         "objectClass: olcSssVlvConfig\nolcOverlay: {0}sssvlv\n")
        return "\n".join(parts)

    def describe(self) -> str:
        return "\n".join([
            self.url, f"ldaps: {self.ldaps_url}", f"base_dn: {self.base_dn}",
            f"admin: {self.admin_dn} / {self.admin_password}",
            f"service account: {self.bind_dn} / {self.bind_password}",
            f"ca_cert_file: {self.ca_cert_file}", f"size_limit: {self.size_limit}",
            f"people: {self.people}, computers: {self.computers}, setup: {self.timings.get('total', 0):.2f}s",
        ])


def main() -> None:
    parser = argparse.ArgumentParser(description="A throwaway OpenLDAP slapd with AD-like test data")
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--computers", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--size-limit", type=int, default=1000)
    parser.add_argument("--sort-control", action="store_true", help="load the sssvlv overlay")
    parser.add_argument("--anonymous-read", action="store_true")
    parser.add_argument("--log-level", default="none", help="slapd loglevel, e.g. stats")
    args = parser.parse_args()
    server = SlapdServer(args.people, args.computers, args.seed, args.size_limit, args.sort_control,
                         args.anonymous_read, args.log_level)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with server:
        print(server.describe(), flush=True)
        try:
            server.process.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
