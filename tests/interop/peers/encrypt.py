"""Encrypted assertions (saml:EncryptedAssertion) from SAML implementations
this project did not write, for tests/interop/test_saml_encryption.py.

Peers:
- pyxmlsec: python-xmlsec (libxmlsec1 1.2.37) encrypts a genuine signed
  Response of the signature peers (cases.py signers) in place: EncryptedData
  Type Element with the EncryptedKey in its KeyInfo, or (`retrieval`) as a
  sibling inside the EncryptedAssertion that a ds:RetrievalMethod names.
  libxmlsec1 1.2.x knows only rsa-oaep-mgf1p (SHA-1) and rsa-1_5 for key
  transport: the xmlenc11 rsa-oaep EncryptedKey (SHA-256, MGF1-SHA-256) is
  wrapped by `cryptography` (OpenSSL) around the session key with which
  libxmlsec1 encrypted the data; everything else is libxmlsec1's output.
- pysaml2: Server.create_authn_response(encrypt_assertion=True, ...). pysaml2
  7.5.4 hard-codes tripledes-cbc + rsa-oaep-mgf1p (`pre_encryption_part()`
  without arguments, xmlsec1 `--session-key des-192`): `pysaml2_response`
  changes only those two defaults, for the AES algorithms; `tripledes` keeps
  what pysaml2 sends out of the box.
- lasso: Lasso 2.8.1 IdP with the SP provider's encryption mode ASSERTION
  (lasso_encrypt.py, under the system Python): aes128/aes256-cbc,
  rsa-oaep-mgf1p or rsa-1_5.

The assertion is signed before it is encrypted (`signed="assertion"`) or the
Response is signed after encryption, its signature covering the
EncryptedAssertion (`signed="response"`; Lasso: `both`).

Attack variants (`attack`) are made from a genuine encrypted response.

`python -m peers.encrypt selfcheck [SERVICE_URL]` (from tests/interop, in the
interop venv) builds every case and variant and checks each with libxmlsec1
(python-xmlsec) and, independently, with `cryptography`: see `check`.
"""
import base64
import dataclasses
import importlib
import json
import os
import re
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree

from . import cases, shapes
from .common import DS, ROOT, SAML, SAMLP, Key, after_issuer, idp_metadata, run, sp_metadata

XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
ELEMENT = XENC + "Element"
ENC_KEY_DIR = ROOT / "tests/keys/encryption"
IDP_KEY = Key("rsa2048-a")  # every encryption case's IdP signs with it (RSA-SHA256)


class SpKey(Key):
    """An SP decryption key pair in tests/keys/encryption (sp-a, sp-b)."""

    @property
    def key_path(self) -> Path:
        return ENC_KEY_DIR / f"{self.name}.key"

    @property
    def cert_path(self) -> Path:
        return ENC_KEY_DIR / f"{self.name}.crt"

    @property
    def private_key(self):
        return serialization.load_pem_private_key(self.key_pem, None)

    @property
    def public_key(self):
        return x509.load_pem_x509_certificate(self.cert_pem).public_key()


SP_A, SP_B = SpKey("sp-a"), SpKey("sp-b")


@dataclass(frozen=True)
class Transport:
    name: str
    algorithm: str
    xmlsec: object | None  # python-xmlsec's transform, None where libxmlsec1 1.2 has none
    digest: str | None = None  # ds:DigestMethod inside EncryptionMethod
    mgf: str | None = None  # xenc11:MGF

    def padding(self):
        if self.name == "rsa15":
            return padding.PKCS1v15()
        h = hashes.SHA256() if self.name == "oaep256" else hashes.SHA1()
        return padding.OAEP(mgf=padding.MGF1(h), algorithm=h, label=None)


TRANSPORTS = {t.name: t for t in [
    Transport("oaep", XENC + "rsa-oaep-mgf1p", xmlsec.Transform.RSA_OAEP, digest="http://www.w3.org/2000/09/xmldsig#sha1"),
    Transport("oaep256", XENC11 + "rsa-oaep", None, digest=XENC + "sha256", mgf=XENC11 + "mgf1sha256"),
    Transport("rsa15", XENC + "rsa-1_5", xmlsec.Transform.RSA_PKCS1),
]}


@dataclass(frozen=True)
class Content:
    name: str
    algorithm: str
    xmlsec: object
    bits: int

    @property
    def gcm(self) -> bool:
        return self.name.endswith("gcm")

    @property
    def session_key_type(self) -> str:  # xmlsec1 --session-key
        return "des-192" if self.name == "tripledes" else f"aes-{self.bits}"


CONTENTS = {c.name: c for c in [
    Content("aes128-gcm", XENC11 + "aes128-gcm", xmlsec.Transform.AES128_GCM, 128),
    Content("aes256-gcm", XENC11 + "aes256-gcm", xmlsec.Transform.AES256_GCM, 256),
    Content("aes128-cbc", XENC + "aes128-cbc", xmlsec.Transform.AES128, 128),
    Content("aes256-cbc", XENC + "aes256-cbc", xmlsec.Transform.AES256, 256),
    Content("tripledes", XENC + "tripledes-cbc", xmlsec.Transform.DES3, 192),
]}


@dataclass(frozen=True)
class EncCase:
    """One encrypted response: who encrypts, with what, and where signatures are."""
    peer: str  # pyxmlsec, pysaml2, lasso
    transport: str  # a key of TRANSPORTS
    content: str  # a key of CONTENTS
    signed: str  # assertion (before encryption), response (after it), both
    vendor: str = "okta"  # shapes.VENDORS: the Response around the assertion (pyxmlsec)
    signer: str = "pyxmlsec"  # cases.SIGNERS: who signs the assertion (pyxmlsec peer)
    retrieval: bool = False  # EncryptedKey beside EncryptedData, named by ds:RetrievalMethod
    self_contained: bool = True  # the plaintext Assertion declares its namespaces itself
    to: str = "sp-a"  # the SP key it is encrypted to

    @property
    def id(self) -> str:
        parts = [self.peer, self.transport, self.content, f"signed-{self.signed}"]
        if self.peer == "pyxmlsec":
            parts.insert(1, f"{self.vendor}.{self.signer}")
        parts += ["retrieval"] * self.retrieval + ["incontext"] * (not self.self_contained)
        parts += [f"to-{self.to}"] * (self.to != "sp-a")
        return "-".join(parts)

    @property
    def sp_key(self) -> SpKey:
        return SpKey(self.to)

    @property
    def base(self) -> cases.Case:
        """The signature case whose IdP and signer this response borrows."""
        placement = {"assertion": "assertion", "response": "response", "both": "both"}[self.signed]
        return cases.Case(self.signer if self.peer == "pyxmlsec" else self.peer, self.vendor, placement,
                          "rsa256", IDP_KEY.name, "enc")

    @property
    def shape(self) -> shapes.Shape:
        return shapes.VENDORS[self.vendor]

    def with_(self, **changes) -> "EncCase":
        return dataclasses.replace(self, **changes)


# The matrix accepted for a provider holding sp-a.
CASES = [
    *[EncCase("pyxmlsec", t, c, s) for t in ("oaep", "oaep256") for c in ("aes128-gcm", "aes256-gcm", "aes128-cbc", "aes256-cbc")
      for s in ("assertion", "response")],
    EncCase("pyxmlsec", "oaep", "aes256-gcm", "assertion", vendor="adfs", signer="xmlsec1"),
    EncCase("pyxmlsec", "oaep256", "aes128-gcm", "assertion", vendor="shibboleth", signer="signxml"),
    EncCase("pyxmlsec", "oaep", "aes128-cbc", "assertion", vendor="entra", retrieval=True),
    EncCase("pyxmlsec", "oaep256", "aes256-gcm", "response", vendor="keycloak", retrieval=True),
    *[EncCase("pysaml2", "oaep", c, s) for c in ("aes128-gcm", "aes256-gcm", "aes128-cbc", "aes256-cbc")
      for s in ("assertion", "response")],
    *[EncCase("lasso", "oaep", c, s) for c in ("aes128-cbc", "aes256-cbc") for s in ("assertion", "both")],
]
# What XML Encryption's decrypt-and-replace allows and some IdPs send: the
# plaintext Assertion uses prefixes declared on the Response around it.
IN_CONTEXT = [
    EncCase("pyxmlsec", "oaep", "aes128-gcm", "assertion", vendor="keycloak", self_contained=False),
    EncCase("pysaml2", "oaep", "aes256-cbc", "assertion", self_contained=False),
]
RSA15 = [EncCase("pyxmlsec", "rsa15", "aes128-gcm", "assertion"), EncCase("pysaml2", "rsa15", "aes128-cbc", "assertion"),
         EncCase("lasso", "rsa15", "aes256-cbc", "assertion")]
TRIPLEDES = EncCase("pysaml2", "oaep", "tripledes", "assertion")  # pysaml2 7.5.4 out of the box
ATTACKS = ["cbc-bad-padding", "cbc-garbage", "gcm-tag", "key-for-other-rsa-key", "other-session-key",
           "unsigned-admin", "swapped-into-signed-response"]
DECRYPTION_FAILURES = ATTACKS[:5]  # must all be answered alike (S19)
BY_ID = {c.id: c for c in CASES + IN_CONTEXT + RSA15 + [TRIPLEDES]}
assert len(BY_ID) == len(CASES + IN_CONTEXT + RSA15) + 1, "case ids must be unique"


@dataclass(frozen=True)
class RecipientClaims(shapes.Claims):
    """Claims whose Destination and bearer Recipient is `recipient`
    (`{service}/saml/acs` or `{service}/saml/acs/{SAMLProviderUUID}`)."""
    recipient: str = ""

    @property
    def acs(self) -> str:
        return self.recipient or f"{self.service_url}/saml/acs"


@dataclass(frozen=True)
class Built:
    case: EncCase
    xml: bytes
    claims: shapes.Claims
    session_key: bytes | None = None  # known for the pyxmlsec peer
    plain_assertion: bytes | None = None  # the (signed) Assertion before encryption, exc-c14n


def arns(name: str, account: str) -> tuple[str, str]:
    """(role ARN, provider ARN) for the provider `name` and its role (of the same name)."""
    return f"arn:aws:iam::{account}:role/{name}", f"arn:aws:iam::{account}:saml-provider/{name}"


def issuer(case: EncCase, idp: str) -> str:
    """The entity id of the test IdP `idp` (one per provider: the shared ACS
    finds providers by Issuer)."""
    return case.shape.issuer("enc-" + idp)


def metadata(case: EncCase, idp: str) -> str:
    return idp_metadata(issuer(case, idp), [IDP_KEY], sso_url=f"https://{case.vendor}.idp.test/sso/{idp}")


def claims_for(case: EncCase, service_url: str, role: str, provider: str, recipient: str = "",
               statements=None) -> RecipientClaims:
    """Fresh claims of the IdP named by the provider ARN's name."""
    c = case.shape.claims("enc-" + provider.rsplit("/", 1)[1], service_url, role, provider)
    values = {f.name: getattr(c, f.name) for f in dataclasses.fields(c)}
    if statements is not None:
        values["statements"] = statements
    return RecipientClaims(**values, recipient=recipient)


def build(case: EncCase, service_url: str, role: str, provider: str, recipient: str = "") -> Built:
    """A fresh encrypted Response (new IDs, times around now) offering `role`
    of `provider`, Destination and Recipient `recipient` (default {service}/saml/acs)."""
    claims = claims_for(case, service_url, role, provider, recipient)
    return {"pyxmlsec": pyxmlsec_response, "pysaml2": pysaml2_response, "lasso": lasso_response}[case.peer](case, claims)


def plain(case: EncCase, service_url: str, role: str, provider: str, recipient: str = "") -> bytes:
    """The same IdP's ordinary Response: its Assertion signed by python-xmlsec, not encrypted."""
    from . import pyxmlsec_signer

    claims = claims_for(case, service_url, role, provider, recipient)
    return pyxmlsec_signer.sign(dataclasses.replace(case.base, signer="pyxmlsec", placement="assertion"), claims)


# ---------------------------------------------------------------- python-xmlsec

def _q(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


def c14n(element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True)


def self_contained(root):
    """`root` again, its Assertion declaring on its own start tag every
    namespace in scope (as OpenSAML encrypts a standalone element): exc-c14n,
    and so any signature, does not change. Done on the text, because lxml
    drops declarations that an ancestor already makes."""
    assertion = root.find(_q(SAML, "Assertion"))
    text = etree.tostring(root)
    start = re.search(rb"<(?:[\w.-]+:)?Assertion\b[^>]*>", text)
    tag = start.group(0)
    declared = {m.group(1).decode() if m.group(1) else None for m in re.finditer(rb'\sxmlns(?::([\w.-]+))?="', tag)}
    extra = "".join(f' xmlns{":" + p if p else ""}="{u}"' for p, u in assertion.nsmap.items() if p not in declared)
    end = len(tag) - (2 if tag.endswith(b"/>") else 1)
    text = text[:start.start()] + tag[:end] + extra.encode() + tag[end:] + text[start.end():]
    return etree.fromstring(text)


def sign_response(root, key: Key = IDP_KEY) -> None:
    """python-xmlsec signs the Response (RSA-SHA256, exc-c14n, X509Data)."""
    xmlsec.tree.add_ids(root, ["ID"])
    signature = xmlsec.template.create(root, xmlsec.Transform.EXCL_C14N, xmlsec.Transform.RSA_SHA256, ns="ds")
    after_issuer(root, signature)
    ref = xmlsec.template.add_reference(signature, xmlsec.Transform.SHA256, uri="#" + root.get("ID"))
    xmlsec.template.add_transform(ref, xmlsec.Transform.ENVELOPED)
    xmlsec.template.add_transform(ref, xmlsec.Transform.EXCL_C14N)
    xmlsec.template.x509_data_add_certificate(xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature)))
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_file(str(key.key_path), xmlsec.KeyFormat.PEM)
    ctx.key.load_cert_from_file(str(key.cert_path), xmlsec.KeyFormat.PEM)
    ctx.sign(signature)


_SESSION_METHODS = {16: xmlsec.Transform.AES128, 32: xmlsec.Transform.AES256, 24: xmlsec.Transform.DES3}


def _session(key: bytes):
    return xmlsec.Key.from_binary_data(xmlsec.KeyData.DES if len(key) == 24 else xmlsec.KeyData.AES, key)


def encrypted_key(transport: Transport, session_key: bytes, sp: SpKey, ek_id: str | None = None):
    """An xenc:EncryptedKey carrying `session_key` to `sp`: libxmlsec1 for
    rsa-oaep-mgf1p and rsa-1_5, `cryptography` for xmlenc11 rsa-oaep."""
    key_info = etree.Element(_q(DS, "KeyInfo"), nsmap={"ds": DS})
    if transport.xmlsec is not None:
        # libxmlsec1 writes an EncryptedKey only inside the KeyInfo of an
        # EncryptedData it encrypts: encrypt one byte with the session key and keep that.
        holder = etree.Element("holder")
        template = xmlsec.template.encrypted_data_create(holder, _SESSION_METHODS[len(session_key)], ns="xenc")
        xmlsec.template.encrypted_data_ensure_cipher_value(template)
        ek = xmlsec.template.add_encrypted_key(xmlsec.template.encrypted_data_ensure_key_info(template, ns="ds"),
                                               transport.xmlsec, id=ek_id)
        xmlsec.template.encrypted_data_ensure_cipher_value(ek)
        if transport.digest:  # as OpenSAML writes it; libxmlsec1 reads it
            method = ek.find(_q(XENC, "EncryptionMethod"))
            etree.SubElement(method, _q(DS, "DigestMethod"), Algorithm=transport.digest)
        manager = xmlsec.KeysManager()
        manager.add_key(xmlsec.Key.from_file(str(sp.cert_path), xmlsec.KeyFormat.CERT_PEM))
        ctx = xmlsec.EncryptionContext(manager)
        ctx.key = _session(session_key)
        template = ctx.encrypt_binary(template, b"x")
        # lxml's find() misses nodes that libxmlsec1 made: read the serialised result.
        template = etree.fromstring(etree.tostring(template))
        ek = template.find(f"{_q(DS, 'KeyInfo')}/{_q(XENC, 'EncryptedKey')}")
        key_info.append(ek)
    else:
        ek = etree.SubElement(key_info, _q(XENC, "EncryptedKey"), nsmap={"xenc": XENC})
        if ek_id:
            ek.set("Id", ek_id)
        method = etree.SubElement(ek, _q(XENC, "EncryptionMethod"), Algorithm=transport.algorithm)
        etree.SubElement(method, _q(DS, "DigestMethod"), Algorithm=transport.digest)
        etree.SubElement(method, _q(XENC11, "MGF"), nsmap={"xenc11": XENC11}, Algorithm=transport.mgf)
        value = etree.SubElement(etree.SubElement(ek, _q(XENC, "CipherData")), _q(XENC, "CipherValue"))
        value.text = base64.b64encode(sp.public_key.encrypt(session_key, transport.padding())).decode()
    # The recipient's certificate, as IdPs name the key they encrypted to.
    ek_key_info = etree.Element(_q(DS, "KeyInfo"))
    etree.SubElement(etree.SubElement(ek_key_info, _q(DS, "X509Data")), _q(DS, "X509Certificate")).text = sp.cert_b64
    ek.find(_q(XENC, "EncryptionMethod")).addnext(ek_key_info)
    return ek


def encrypt_assertion(root, assertion, transport: Transport, content: Content, sp: SpKey,
                      retrieval: bool = False, session_key: bytes | None = None):
    """`root` with `assertion` replaced by an EncryptedAssertion (libxmlsec1
    encrypts the element where it stands), and the session key."""
    session_key = session_key or os.urandom(content.bits // 8)
    ed_id, ek_id = "_ED" + uuid.uuid4().hex, "_EK" + uuid.uuid4().hex
    template = xmlsec.template.encrypted_data_create(root, content.xmlsec, id=ed_id, type=xmlsec.EncryptionType.ELEMENT,
                                                     ns="xenc")
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    ctx = xmlsec.EncryptionContext()
    ctx.key = _session(session_key)
    ctx.encrypt_xml(template, assertion)
    # lxml's find() misses nodes that libxmlsec1 made: go on with the serialised result.
    root = etree.fromstring(etree.tostring(root))
    data = root.find(_q(XENC, "EncryptedData"))
    assert data.get("Id") == ed_id
    wrapper = etree.Element(_q(SAML, "EncryptedAssertion"), nsmap={"saml": SAML})
    data.addprevious(wrapper)
    wrapper.append(data)  # moving it (not the plaintext) changes nothing encrypted
    key_info = etree.Element(_q(DS, "KeyInfo"), nsmap={"ds": DS})
    data.find(_q(XENC, "EncryptionMethod")).addnext(key_info)
    ek = encrypted_key(transport, session_key, sp, ek_id if retrieval else None)
    if retrieval:
        etree.SubElement(key_info, _q(DS, "RetrievalMethod"), Type=XENC + "EncryptedKey", URI="#" + ek_id)
        refs = etree.SubElement(ek, _q(XENC, "ReferenceList"))
        etree.SubElement(refs, _q(XENC, "DataReference"), URI="#" + ed_id)
        data.addnext(ek)
    else:
        key_info.append(ek)
    return etree.fromstring(etree.tostring(root)), session_key


def pyxmlsec_response(case: EncCase, claims) -> Built:
    transport, content = TRANSPORTS[case.transport], CONTENTS[case.content]
    if case.signed == "assertion":
        signer = importlib.import_module(f"{__package__}.{cases.SIGNERS[case.signer]}")
        root = etree.fromstring(signer.sign(case.base, claims))
    elif case.signed == "response":
        root = etree.fromstring(shapes.render(case.shape, claims).encode())
    else:
        raise ValueError(case.signed)
    if case.self_contained:
        root = self_contained(root)
    assertion = root.find(_q(SAML, "Assertion"))
    plain = c14n(assertion)
    root, key = encrypt_assertion(root, assertion, transport, content, case.sp_key, case.retrieval)
    if case.signed == "response":
        sign_response(root)
    return Built(case, etree.tostring(root, xml_declaration=True, encoding="UTF-8"), claims, key, plain)


# ---------------------------------------------------------------- pysaml2

def pysaml2_response(case: EncCase, claims) -> Built:
    """pysaml2's IdP, encrypt_assertion=True. Only the two algorithm defaults
    that pysaml2 7.5.4 offers no parameter for are changed (unless tripledes)."""
    from saml2 import entity, sigver
    from saml2.saml import NameID

    from . import pysaml2_idp

    transport, content = TRANSPORTS[case.transport], CONTENTS[case.content]
    if transport.xmlsec is None:
        raise ValueError("pysaml2 encrypts with xmlsec1 1.2, which has no xmlenc11 rsa-oaep")
    pre_encryption_part = sigver.pre_encryption_part
    template = lambda **kw: pre_encryption_part(msg_enc=content.algorithm, key_enc=transport.algorithm, **kw)
    encrypt = sigver.SecurityContext.encrypt_assertion  # (self, statement, enc_key, template, key_type, node_xpath)
    with tempfile.TemporaryDirectory(prefix="pysaml2-enc-") as tmp, \
            mock.patch.object(entity, "pre_encryption_part", template), \
            mock.patch.object(sigver.SecurityContext, "encrypt_assertion",
                              lambda self, statement, enc_key, template, key_type=None, node_xpath=None:
                              encrypt(self, statement, enc_key, template, content.session_key_type, node_xpath)):
        idp = pysaml2_idp.Server(config=_pysaml2_config(tmp, claims))
        identity = {a.name: list(a.values) for statement in claims.statements for a in statement}
        response = idp.create_authn_response(
            identity=identity, in_response_to=None, destination=claims.acs, sp_entity_id=claims.audience,
            name_id=NameID(format=claims.name_id_format, text=claims.name_id),
            authn={"class_ref": case.shape.authn_context, "authn_instant": claims.now.timestamp()},
            sign_response=case.signed in ("response", "both"), sign_assertion=case.signed in ("assertion", "both"),
            encrypt_assertion=True, encrypt_cert_assertion=case.sp_key.cert_pem.decode(),
            encrypt_assertion_self_contained=case.self_contained,
            sign_alg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", digest_alg=XENC + "sha256")
    return Built(case, str(response).encode(), claims)


def _pysaml2_config(tmp: str, claims):
    import shutil

    from saml2 import BINDING_HTTP_POST
    from saml2.config import IdPConfig
    from saml2.saml import NAME_FORMAT_URI

    sp = Path(tmp, "sp.xml")
    sp.write_text(sp_metadata(claims.audience, claims.acs))
    return IdPConfig().load({
        "entityid": claims.issuer, "key_file": str(IDP_KEY.key_path), "cert_file": str(IDP_KEY.cert_path),
        "xmlsec_binary": shutil.which("xmlsec1"), "metadata": {"local": [str(sp)]},
        "allow_unknown_attributes": True,
        "service": {"idp": {
            "endpoints": {"single_sign_on_service": [(f"{claims.issuer}/sso", BINDING_HTTP_POST)]},
            "policy": {"default": {"lifetime": {"minutes": 5}, "name_form": NAME_FORMAT_URI}},
        }},
    })


# ---------------------------------------------------------------- Lasso

def lasso_response(case: EncCase, claims) -> Built:
    from . import lasso_idp

    if case.signed == "response":
        raise ValueError("Lasso always signs the Assertion: signed='both' or 'assertion'")
    request = {
        "idp_metadata": idp_metadata(claims.issuer, [IDP_KEY], f"{claims.issuer}/sso"),
        "sp_metadata": sp_metadata_with_encryption(claims.audience, claims.acs, case.sp_key),
        "sp_entity_id": claims.audience, "key_pem": IDP_KEY.key_pem.decode(), "cert_pem": IDP_KEY.cert_pem.decode(),
        "signature_method": "RSA_SHA256", "sign_response": case.signed == "both",
        "name_id": claims.name_id, "name_id_format": claims.name_id_format, "authn_context": case.shape.authn_context,
        "now": claims.issue_instant, "not_before": claims.not_before, "not_on_or_after": claims.not_on_or_after,
        "statements": [[{"name": a.name, "name_format": a.name_format, "friendly_name": a.friendly_name,
                         "values": list(a.values)} for a in statement] for statement in claims.statements],
        "sym_key": {"aes128-cbc": "AES_128", "aes256-cbc": "AES_256"}[case.content],
        "key_encryption": {"oaep": "OAEP", "rsa15": "PKCS1"}[case.transport],
    }
    out = run([lasso_idp.SYSTEM_PYTHON, str(Path(__file__).resolve().with_name("lasso_encrypt.py"))], stdin=json.dumps(request))
    return Built(case, out.encode(), claims)


def sp_metadata_with_encryption(entity_id: str, acs_url: str, sp: SpKey) -> str:
    """idbroker's SP metadata with an encryption KeyDescriptor (Lasso takes
    the key to encrypt to from it)."""
    plain = sp_metadata(entity_id, acs_url)
    descriptor = (f'<md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="{DS}"><ds:X509Data><ds:X509Certificate>'
                  f"{sp.cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>")
    return plain.replace('protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">',
                         'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">' + descriptor, 1)


# ---------------------------------------------------------------- attacks

def _b64(element) -> bytes:
    return base64.b64decode("".join(element.text.split()))


def _set_b64(element, data: bytes) -> None:
    element.text = base64.b64encode(data).decode()


def data_cipher_value(root):
    return root.find(f".//{_q(XENC, 'EncryptedData')}/{_q(XENC, 'CipherData')}/{_q(XENC, 'CipherValue')}")


def key_cipher_value(root):
    return root.find(f".//{_q(XENC, 'EncryptedKey')}/{_q(XENC, 'CipherData')}/{_q(XENC, 'CipherValue')}")


def raw_decrypt(content: Content, key: bytes, blob: bytes, check_padding: bool = True) -> bytes:
    """The plaintext octets, by `cryptography` (an implementation apart from libxmlsec1)."""
    if content.gcm:
        return AESGCM(key).decrypt(blob[:12], blob[12:], None)
    block = 8 if content.name == "tripledes" else 16
    algorithm = _triple_des(key) if content.name == "tripledes" else algorithms.AES(key)
    d = Cipher(algorithm, modes.CBC(blob[:block])).decryptor()
    out = d.update(blob[block:]) + d.finalize()
    pad = out[-1]
    if check_padding and not 1 <= pad <= block:
        raise ValueError("bad padding")
    return out[:-pad] if 1 <= pad <= block else out


def _triple_des(key: bytes):
    try:
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    except ImportError:
        TripleDES = algorithms.TripleDES
    return TripleDES(key)


def unwrap(root, sp: SpKey) -> bytes:
    ek = root.find(f".//{_q(XENC, 'EncryptedKey')}")
    algorithm = ek.find(_q(XENC, "EncryptionMethod")).get("Algorithm")
    transport = next(t for t in TRANSPORTS.values() if t.algorithm == algorithm)
    return sp.private_key.decrypt(_b64(key_cipher_value(root)), transport.padding())


def attack(kind: str, genuine: Built, service_url: str = "", role: str = "", provider: str = "",
           other: Built | None = None) -> bytes:
    """A variant of a genuine pyxmlsec-encrypted response (`genuine.case.peer
    == "pyxmlsec"`, signed="assertion" unless said otherwise)."""
    case = genuine.case
    content = CONTENTS[case.content]
    root = etree.fromstring(genuine.xml)
    value = data_cipher_value(root)
    blob = bytearray(_b64(value))
    if kind == "cbc-bad-padding":
        # Flip the last byte of the next-to-last block: the last plaintext byte
        # (the padding length) becomes 0x80, never valid.
        assert not content.gcm
        blob[len(blob) - 17] ^= _raw_last_byte(genuine.session_key, bytes(blob)) ^ 0x80
    elif kind == "cbc-garbage":
        # A byte in a middle block: that block decrypts to garbage, the padding stays good.
        assert not content.gcm
        blocks = len(blob) // 16
        assert blocks >= 5, "too short to garble a middle block"
        blob[16 * (blocks // 2) + 3] ^= 0x01
    elif kind == "gcm-tag":
        assert content.gcm
        blob[-1] ^= 0x01
    elif kind == "key-for-other-rsa-key":
        # The EncryptedKey made for sp-b's key instead (the provider holds sp-a's).
        other_ek = encrypted_key(TRANSPORTS[case.transport], genuine.session_key, SP_B)
        _set_b64(key_cipher_value(root), _b64(key_cipher_value(other_ek.getroottree().getroot())))
    elif kind == "other-session-key":
        # A well-formed EncryptedKey for sp-a carrying another AES key.
        other_ek = encrypted_key(TRANSPORTS[case.transport], os.urandom(len(genuine.session_key)), case.sp_key)
        _set_b64(key_cipher_value(root), _b64(key_cipher_value(other_ek.getroottree().getroot())))
    elif kind == "unsigned-admin":
        # Anyone can encrypt to the SP's certificate: an unsigned Assertion
        # claiming `role`, in an unsigned Response.
        claims = claims_for(case, service_url, role, provider)
        root = etree.fromstring(shapes.render(case.shape, claims).encode())
        root, _ = encrypt_assertion(root, root.find(_q(SAML, "Assertion")), TRANSPORTS[case.transport], content,
                                    case.sp_key)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    elif kind == "swapped-into-signed-response":
        # `genuine` (Response signed after encryption) with `other`'s EncryptedAssertion.
        assert case.signed == "response" and other is not None
        mine = root.find(_q(SAML, "EncryptedAssertion"))
        theirs = etree.fromstring(other.xml).find(_q(SAML, "EncryptedAssertion"))
        mine.getparent().replace(mine, theirs)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    else:
        raise ValueError(kind)
    _set_b64(value, bytes(blob))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _raw_last_byte(key: bytes, blob: bytes) -> int:
    d = Cipher(algorithms.AES(key), modes.CBC(blob[-32:-16])).decryptor()
    return (d.update(blob[-16:]) + d.finalize())[-1]


# ---------------------------------------------------------------- self-check

def decrypt_with_xmlsec(xml: bytes, sp: SpKey, session_key: bytes | None = None):
    """libxmlsec1 decrypts the EncryptedAssertion in place; returns (root, assertion).
    xmlenc11 rsa-oaep is beyond libxmlsec1 1.2: `session_key` (unwrapped
    by cryptography) is handed to it then."""
    root = etree.fromstring(xml)
    xmlsec.tree.add_ids(root, ["ID", "Id"])
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_file(str(sp.key_path), xmlsec.KeyFormat.PEM))
    ctx = xmlsec.EncryptionContext(manager)
    data = root.find(f"{_q(SAML, 'EncryptedAssertion')}/{_q(XENC, 'EncryptedData')}")
    method = data.find(_q(XENC, "EncryptionMethod")).get("Algorithm")
    if session_key is not None:
        ctx.key = xmlsec.Key.from_binary_data(xmlsec.KeyData.DES if "tripledes" in method else xmlsec.KeyData.AES,
                                              session_key)
    ctx.decrypt(data)
    wrapper = root.find(_q(SAML, "EncryptedAssertion"))
    assertion = wrapper.find(_q(SAML, "Assertion"))
    if assertion is None:
        raise AssertionError("no Assertion after decryption")
    return root, assertion


def verify(element, cert_path: Path) -> None:
    signature = element.find(_q(DS, "Signature"))
    if signature is None:
        raise AssertionError(f"{element.tag} is not signed")
    xmlsec.tree.add_ids(element.getroottree().getroot(), ["ID"])
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_file(str(cert_path), xmlsec.KeyFormat.CERT_PEM)
    ctx.verify(signature)


def check(built: Built) -> etree._Element:
    """The response is what the case says, so that a refusal is idbroker's:
    one EncryptedAssertion (EncryptedData Type Element with the case's
    algorithms, the EncryptedKey where the case puts it) and no plain
    Assertion; the Response signature (if any) verifies over it with
    libxmlsec1; libxmlsec1 decrypts it with the SP key to one Assertion whose
    signature (if any) verifies and which, for the pyxmlsec peer, is exactly
    the Assertion that was encrypted; `cryptography` decrypts the same octets
    and they parse on their own unless the case says `incontext`."""
    case = built.case
    transport, content = TRANSPORTS[case.transport], CONTENTS[case.content]
    root = etree.fromstring(built.xml)
    where = f"{case.id}:"
    assert root.tag == _q(SAMLP, "Response"), where
    assert root.find(_q(SAML, "Assertion")) is None, f"{where} a plain Assertion is left"
    wrappers = root.findall(_q(SAML, "EncryptedAssertion"))
    assert len(wrappers) == 1, f"{where} {len(wrappers)} EncryptedAssertions"
    data = wrappers[0].find(_q(XENC, "EncryptedData"))
    assert data is not None and data.get("Type") == ELEMENT, f"{where} EncryptedData Type {data.get('Type')}"
    assert data.find(_q(XENC, "EncryptionMethod")).get("Algorithm") == content.algorithm, where
    in_key_info = data.find(f"{_q(DS, 'KeyInfo')}/{_q(XENC, 'EncryptedKey')}")
    beside = wrappers[0].find(_q(XENC, "EncryptedKey"))
    ek = beside if case.retrieval else in_key_info
    assert ek is not None and (beside if not case.retrieval else in_key_info) is None, f"{where} EncryptedKey placement"
    if case.retrieval:
        rm = data.find(f"{_q(DS, 'KeyInfo')}/{_q(DS, 'RetrievalMethod')}")
        assert rm.get("URI") == "#" + ek.get("Id") and rm.get("Type") == XENC + "EncryptedKey", where
    method = ek.find(_q(XENC, "EncryptionMethod"))
    assert method.get("Algorithm") == transport.algorithm, f"{where} key transport {method.get('Algorithm')}"
    if transport.name == "oaep256":
        assert method.find(_q(DS, "DigestMethod")).get("Algorithm") == XENC + "sha256", where
        assert method.find(_q(XENC11, "MGF")).get("Algorithm") == XENC11 + "mgf1sha256", where
    signed_response = root.find(_q(DS, "Signature")) is not None
    assert signed_response == (case.signed in ("response", "both")), f"{where} Response signature present: {signed_response}"
    if signed_response:  # over the EncryptedAssertion, checked before decrypting
        verify(root, IDP_KEY.cert_path)
    # cryptography: unwrap the key and decrypt the octets.
    session_key = unwrap(root, case.sp_key)
    if built.session_key is not None:
        assert session_key == built.session_key, where
    octets = raw_decrypt(content, session_key, _b64(data_cipher_value(root)))
    try:
        alone = etree.fromstring(octets)
    except etree.XMLSyntaxError:
        alone = None
    assert (alone is not None) == case.self_contained, \
        f"{where} plaintext {'does not parse' if alone is None else 'parses'} on its own: {octets[:200]!r}"
    # libxmlsec1: decrypt in place (it resolves the EncryptedKey itself, but for xmlenc11 rsa-oaep).
    _, assertion = decrypt_with_xmlsec(built.xml, case.sp_key, session_key if transport.xmlsec is None else None)
    if alone is not None:
        assert c14n(alone) == c14n(assertion), f"{where} cryptography and libxmlsec1 disagree"
    if built.plain_assertion is not None:
        assert c14n(assertion) == built.plain_assertion, f"{where} the decrypted Assertion is not the one encrypted"
    assert_signed = case.signed in ("assertion", "both")
    assert (assertion.find(_q(DS, "Signature")) is not None) == assert_signed, f"{where} Assertion signature"
    if assert_signed:
        verify(assertion, IDP_KEY.cert_path)
    assert assertion.findtext(_q(SAML, "Issuer")) == built.claims.issuer, where
    return assertion


def check_attack(kind: str, genuine: Built, xml: bytes) -> None:
    """The variant fails where it should, and only there."""
    case = genuine.case
    content = CONTENTS[case.content]
    root = etree.fromstring(xml)
    blob = _b64(data_cipher_value(root))
    sp = case.sp_key
    if kind == "cbc-bad-padding":
        assert not 1 <= raw_decrypt(content, genuine.session_key, blob, check_padding=False)[-1] <= 16
        _must_fail(lambda: decrypt_with_xmlsec(xml, sp), kind)
    elif kind == "cbc-garbage":
        octets = raw_decrypt(content, genuine.session_key, blob)  # the padding is good
        original = raw_decrypt(content, genuine.session_key, _b64(data_cipher_value(etree.fromstring(genuine.xml))))
        assert len(octets) == len(original) and sum(a != b for a, b in zip(octets, original)) >= 2
        _must_fail(lambda: etree.fromstring(octets), kind)  # not XML any more
    elif kind == "gcm-tag":
        _must_fail(lambda: raw_decrypt(content, genuine.session_key, blob), kind)
        _must_fail(lambda: decrypt_with_xmlsec(xml, sp), kind)
    elif kind == "key-for-other-rsa-key":
        _must_fail(lambda: unwrap(root, sp), kind)
        assert unwrap(root, SP_B) == genuine.session_key
        _must_fail(lambda: decrypt_with_xmlsec(xml, sp), kind)
    elif kind == "other-session-key":
        assert unwrap(root, sp) != genuine.session_key
        _must_fail(lambda: raw_decrypt(content, unwrap(root, sp), blob) if content.gcm else
                   etree.fromstring(raw_decrypt(content, unwrap(root, sp), blob)), kind)
    elif kind == "unsigned-admin":
        assert root.find(_q(DS, "Signature")) is None
        _, assertion = decrypt_with_xmlsec(xml, sp)
        assert assertion.find(_q(DS, "Signature")) is None
    elif kind == "swapped-into-signed-response":
        _must_fail(lambda: verify(root, IDP_KEY.cert_path), kind)
        decrypt_with_xmlsec(xml, sp)  # the swapped-in EncryptedAssertion itself is fine
    else:
        raise ValueError(kind)


def _must_fail(step, kind: str) -> None:
    try:
        step()
    except Exception:  # xmlsec.Error, cryptography's InvalidTag/ValueError, XMLSyntaxError, "no Assertion"
        return
    raise AssertionError(f"{kind}: the variant decrypts/verifies, it should not")


ATTACK_BASES = {  # attack -> the genuine case it is made from
    "cbc-bad-padding": EncCase("pyxmlsec", "oaep", "aes128-cbc", "assertion"),
    "cbc-garbage": EncCase("pyxmlsec", "oaep", "aes256-cbc", "assertion"),
    "gcm-tag": EncCase("pyxmlsec", "oaep", "aes128-gcm", "assertion"),
    "key-for-other-rsa-key": EncCase("pyxmlsec", "oaep256", "aes256-gcm", "assertion"),
    "other-session-key": EncCase("pyxmlsec", "oaep", "aes256-gcm", "assertion"),
    "unsigned-admin": EncCase("pyxmlsec", "oaep", "aes128-gcm", "assertion"),
    "swapped-into-signed-response": EncCase("pyxmlsec", "oaep", "aes128-gcm", "response"),
}


def selfcheck(service_url: str = "http://127.0.0.1:9", account: str = "111122223333", verbose: bool = True) -> list[str]:
    """Builds every case and attack variant and checks it; returns the ids
    checked. Raises on the first fixture bug."""
    done = []
    role, provider = arns("selfcheck", account)
    for case in CASES + IN_CONTEXT + RSA15 + [TRIPLEDES, CASES[0].with_(to="sp-b")]:
        check(build(case, service_url, role, provider))
        done.append(case.id)
        if verbose:
            print("ok", case.id)
    for kind in ATTACKS:
        base = ATTACK_BASES[kind]
        genuine = build(base, service_url, role, provider)
        check(genuine)
        other = build(base, service_url, role, provider) if kind == "swapped-into-signed-response" else None
        xml = attack(kind, genuine, service_url, role.rsplit("/", 1)[0] + "/admin", provider, other)
        check_attack(kind, genuine, xml)
        done.append("attack-" + kind)
        if verbose:
            print("ok attack", kind)
    return done


if __name__ == "__main__":
    if sys.argv[1:2] != ["selfcheck"]:
        sys.exit("usage: python -m peers.encrypt selfcheck [SERVICE_URL]")
    selfcheck(*sys.argv[2:3])
