"""What every peer signer shares: namespaces, algorithm identifiers, the
committed test keys (tests/keys/peers/) and the IdP metadata that registers
them with idbroker."""
import base64
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

ROOT = Path(__file__).resolve().parents[3]
KEY_DIR = ROOT / "tests/keys/peers"

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
XS = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass(frozen=True)
class Algorithm:
    """A SignatureMethod with the DigestMethod an IdP pairs it with."""
    name: str  # as in test ids: rsa256, ecdsa384, ...
    signature: str
    digest: str
    hash: str  # sha256, sha384, sha512


ALGORITHMS = {a.name: a for a in [
    Algorithm("rsa256", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "http://www.w3.org/2001/04/xmlenc#sha256", "sha256"),
    Algorithm("rsa384", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384", "http://www.w3.org/2001/04/xmldsig-more#sha384", "sha384"),
    Algorithm("rsa512", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", "http://www.w3.org/2001/04/xmlenc#sha512", "sha512"),
    Algorithm("ecdsa256", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", "http://www.w3.org/2001/04/xmlenc#sha256", "sha256"),
    Algorithm("ecdsa384", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384", "http://www.w3.org/2001/04/xmldsig-more#sha384", "sha384"),
]}


@dataclass(frozen=True)
class Key:
    """A committed key pair: PKCS#8 PEM private key and self-signed certificate."""
    name: str

    @property
    def key_path(self) -> Path:
        return KEY_DIR / f"{self.name}.key"

    @property
    def cert_path(self) -> Path:
        return KEY_DIR / f"{self.name}.crt"

    @property
    def key_pem(self) -> bytes:
        return self.key_path.read_bytes()

    @property
    def cert_pem(self) -> bytes:
        return self.cert_path.read_bytes()

    @property
    def cert_b64(self) -> str:
        """The certificate's DER in base64, on one line."""
        cert = x509.load_pem_x509_certificate(self.cert_pem)
        return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()

    @property
    def is_ec(self) -> bool:
        return self.name.startswith("ec-")


def idp_metadata(entity_id: str, keys: list[Key], sso_url: str) -> str:
    """An EntityDescriptor with an IDPSSODescriptor and one signing
    KeyDescriptor per key, as IdPs publish them (two during a rollover)."""
    descriptors = "".join(
        f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{k.cert_b64}'
        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        for k in keys)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DS}" entityID="{_attr(entity_id)}">'
            f'<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="{SAMLP}">'
            f"{descriptors}"
            "<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"
            f'<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{_attr(sso_url)}"/>'
            f'<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{_attr(sso_url)}"/>'
            "</md:IDPSSODescriptor></md:EntityDescriptor>\n")


def sp_metadata(entity_id: str, acs_url: str) -> str:
    """idbroker as the service provider, for the IdP libraries (pysaml2, Lasso)
    that only answer SPs they know: the shape of its /saml/metadata."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<md:EntityDescriptor xmlns:md="{MD}" entityID="{_attr(entity_id)}">'
            f'<md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="false" protocolSupportEnumeration="{SAMLP}">'
            "<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"
            f'<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{_attr(acs_url)}" index="0" isDefault="true"/>'
            "</md:SPSSODescriptor></md:EntityDescriptor>\n")


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def signed_elements(root, placement: str) -> list:
    """The elements to sign, in signing order: the Assertion before the
    Response, so that a Response signature covers a signed Assertion."""
    assertion = root.find(f"{{{SAML}}}Assertion")
    return {"response": [root], "assertion": [assertion], "both": [assertion, root]}[placement]


def after_issuer(element, signature) -> None:
    """Puts `signature` where SAML's schema has it: right after the Issuer."""
    issuer = element.find(f"{{{SAML}}}Issuer")
    issuer.addnext(signature)
    signature.tail = issuer.tail  # the indentation of a pretty-printed document


def run(command: list[str], stdin: str | None = None) -> str:
    """Runs a peer's program; its own words on failure."""
    done = subprocess.run(command, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout
