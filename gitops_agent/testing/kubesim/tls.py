"""HTTPS for kubesim: a certificate authority of its own and a serving certificate.

``ServingCertificates.generate(directory)`` writes ``ca.crt`` (what a pod finds in its
service account directory), ``tls.crt`` and ``tls.key``. The serving certificate is signed
by that CA and valid, as kube-apiserver's is, for ``127.0.0.1`` (an IP SAN: clients verify
host names, and an IP needs its own SAN) and for ``localhost``, ``kubernetes``,
``kubernetes.default``, ``kubernetes.default.svc`` and ``kubernetes.default.svc.cluster.local``.
``server_context`` is the TLS context the HTTP server wraps its connections in. Keys are
ECDSA P-256 (quick to make); nothing leaves the directory given. Used by ``KubeSim`` when
``SimConfig.tls`` is on.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DNS_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
VALIDITY = dt.timedelta(days=1)


@dataclass(frozen=True)
class ServingCertificates:
    """Where the CA certificate and the serving pair were written."""

    ca: Path
    cert: Path
    key: Path

    @classmethod
    def generate(cls, directory: Path, *, host: str = "127.0.0.1") -> ServingCertificates:
        """A new CA and a serving certificate for ``host`` and the in-cluster names."""
        directory.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubesim-ca")])
        ca_cert = (
            _builder(ca_name, ca_name, ca_key.public_key(), now)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_usage(cert_sign=True), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = [x509.DNSName(n) for n in DNS_NAMES]
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")])
        cert = (
            _builder(subject, ca_name, key.public_key(), now)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        paths = cls(directory / "ca.crt", directory / "tls.crt", directory / "tls.key")
        paths.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        paths.key.chmod(0o600)
        return paths

    def server_context(self) -> ssl.SSLContext:
        """The TLS context of the serving side (TLS 1.2 or newer)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.cert), str(self.key))
        return context


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, now: dt.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
