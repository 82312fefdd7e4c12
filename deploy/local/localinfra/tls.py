"""The broker's TLS files, made with the JDK's keytool: a local CA, the broker's certificate, a trust store."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .common import InfraError


def make_tls(java: str, tls: Path, store_password: str) -> None:
    """With the JDK's keytool: a local CA, the broker's key and certificate signed by it, a trust store.

    tls/ca.pem is the CA certificate for clients; broker.p12 (key + chain) and truststore.p12 are the broker's.
    The certificate names IP 127.0.0.1 and DNS localhost, so clients can verify the host name. Independent
    steps run side by side (each keytool run is a JVM start).
    """
    keytool = Path(java).resolve().parent / "keytool"
    if not keytool.exists():
        keytool = Path(shutil.which("keytool") or "keytool")
    shutil.rmtree(tls, ignore_errors=True)
    tls.mkdir(parents=True, mode=0o700)
    env = {**os.environ, "HEARTH_STORE_PASSWORD": store_password}
    san = "san=ip:127.0.0.1,dns:localhost"

    def keytool_cmd(*args: str) -> list[str]:
        return [str(keytool), "-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC", *args,
                "-storetype", "PKCS12", "-storepass:env", "HEARTH_STORE_PASSWORD"]  # fmt: skip

    def side_by_side(*commands: list[str]) -> None:
        running = [subprocess.Popen(c, cwd=tls, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT) for c in commands]  # fmt: skip
        for command, process in zip(commands, running, strict=True):
            output = process.communicate(timeout=120)[0].decode(errors="replace")
            if process.returncode != 0:
                raise InfraError(f"making the broker's TLS files failed: {' '.join(command[:4])} ...\n{output}")

    key = ("-keyalg", "EC", "-groupname", "secp256r1")
    side_by_side(
        keytool_cmd("-genkeypair", "-alias", "ca", *key, "-dname", f"CN=hearth local CA {tls.parent.parent.name}",
                    "-ext", "bc:c", "-validity", "3650", "-keystore", "ca.p12"),
        keytool_cmd("-genkeypair", "-alias", "broker", *key, "-dname", "CN=localhost", "-ext", san,
                    "-validity", "825", "-keystore", "broker.p12"),
    )  # fmt: skip
    side_by_side(
        keytool_cmd("-exportcert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", "-file", "ca.pem"),
        keytool_cmd("-certreq", "-alias", "broker", "-keystore", "broker.p12", "-file", "broker.csr"),
    )
    side_by_side(
        keytool_cmd("-gencert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", "-infile", "broker.csr",
                    "-outfile", "broker.pem", "-validity", "825", "-ext", san, "-ext", "ku:c=digitalSignature",
                    "-ext", "eku=serverAuth,clientAuth"),
        keytool_cmd("-importcert", "-noprompt", "-alias", "ca", "-keystore", "truststore.p12", "-file", "ca.pem"),
    )  # fmt: skip
    (tls / "chain.pem").write_text((tls / "broker.pem").read_text() + (tls / "ca.pem").read_text())
    side_by_side(
        keytool_cmd("-importcert", "-noprompt", "-alias", "broker", "-keystore", "broker.p12", "-file", "chain.pem")
    )
    for leftover in ("broker.csr", "chain.pem"):
        (tls / leftover).unlink()
    (tls / "ca.p12").chmod(0o600)  # the CA's private key: only this launcher signs with it
