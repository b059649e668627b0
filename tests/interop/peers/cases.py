"""The interoperability cases: which peer signs, in which vendor's shape,
which element(s) it signs, with which algorithm and key, and what KeyInfo it
sends. `build` turns a case into a fresh signed Response and the metadata
that registers its IdP."""
import importlib
from dataclasses import dataclass

from . import shapes
from .common import ALGORITHMS, Key, idp_metadata

SIGNERS = {  # case.signer -> module with sign(case, claims) -> bytes
    "xmlsec1": "xmlsec1_cli",
    "pyxmlsec": "pyxmlsec_signer",
    "signxml": "signxml_signer",
    "pysaml2": "pysaml2_idp",
    "lasso": "lasso_idp",
    "xmlcrypto": "xmlcrypto_signer",
}
ROLLED_OVER = Key("rsa2048-a")  # the older certificate that rollover metadata still lists


@dataclass(frozen=True)
class Case:
    signer: str
    vendor: str
    placement: str  # response, assertion or both
    algorithm: str  # a key of common.ALGORITHMS
    key: str  # a key in tests/keys/peers
    label: str  # what sets the case apart, the end of its id
    key_info: str = "x509"  # x509, keyname, keyvalue, keyname+x509 or none
    prefix_list: str | None = None  # InclusiveNamespaces PrefixList of the exc-c14n Transform
    prefix_list_in_c14n_method: bool = False  # and of SignedInfo's CanonicalizationMethod
    pretty: bool = False  # sign an indented document
    rollover: bool = False  # metadata lists ROLLED_OVER first, then the signing certificate

    @property
    def id(self) -> str:
        return f"{self.vendor}-{self.signer}-{self.algorithm}-{self.label}"

    @property
    def shape(self) -> shapes.Shape:
        return shapes.VENDORS[self.vendor]

    @property
    def signing_key(self) -> Key:
        return Key(self.key)

    @property
    def key_name(self) -> str:
        """What a KeyName says: the key's id, as Keycloak's `kid`."""
        return f"{self.vendor}-{self.key}"

    @property
    def metadata_keys(self) -> list[Key]:
        return [ROLLED_OVER, self.signing_key] if self.rollover else [self.signing_key]

    @property
    def role_name(self) -> str:
        return "peer-" + self.id

    @property
    def provider_name(self) -> str:
        return self.id

    def describe(self) -> str:
        extras = [f"PrefixList={self.prefix_list}"] if self.prefix_list else []
        extras += ["also in CanonicalizationMethod"] * self.prefix_list_in_c14n_method
        extras += ["pretty-printed"] * self.pretty + ["rollover metadata"] * self.rollover
        return (f"{self.signer} | {self.vendor} | signs {self.placement} | {ALGORITHMS[self.algorithm].signature.split('#')[1]}"
                f" ({self.key}) | KeyInfo {self.key_info}" + "".join(f" | {e}" for e in extras))


CASES = [
    # xmlsec1 command line, templates we write.
    Case("xmlsec1", "adfs", "assertion", "rsa256", "rsa2048-a", "assertion"),
    Case("xmlsec1", "okta", "both", "rsa256", "rsa2048-a", "prefixlist", prefix_list="xs"),
    Case("xmlsec1", "keycloak", "response", "ecdsa384", "ec-p384", "keyname", key_info="keyname+x509"),
    Case("xmlsec1", "google", "assertion", "rsa384", "rsa3072", "nokeyinfo", key_info="none", pretty=True),
    # python-xmlsec templates (libxmlsec1 through lxml).
    Case("pyxmlsec", "shibboleth", "response", "rsa256", "rsa3072", "prefixlist", prefix_list="xsd",
         prefix_list_in_c14n_method=True),
    Case("pyxmlsec", "google", "response", "rsa512", "rsa3072", "keyvalue", key_info="keyvalue", pretty=True),
    Case("pyxmlsec", "entra", "assertion", "ecdsa256", "ec-p256", "assertion"),
    # signxml (pure Python over cryptography).
    Case("signxml", "okta", "both", "rsa256", "rsa2048-a", "prefixlist", prefix_list="xs"),
    Case("signxml", "entra", "assertion", "rsa256", "rsa2048-b", "rollover", rollover=True),
    Case("signxml", "keycloak", "both", "ecdsa384", "ec-p384", "nokeyinfo", key_info="none"),
    Case("signxml", "shibboleth", "assertion", "ecdsa256", "ec-p256", "prefixlist", prefix_list="xsd"),
    # pysaml2 as the IdP (it signs by running xmlsec1).
    Case("pysaml2", "google", "both", "rsa256", "rsa2048-b", "rollover", rollover=True),
    Case("pysaml2", "adfs", "response", "rsa384", "rsa3072", "response"),
    # Lasso as the IdP (it always signs the Assertion).
    Case("lasso", "keycloak", "both", "rsa256", "rsa2048-a", "both"),
    Case("lasso", "shibboleth", "assertion", "rsa512", "rsa3072", "assertion"),
    # xml-crypto (Node.js).
    Case("xmlcrypto", "okta", "assertion", "rsa512", "rsa3072", "prefixlist", prefix_list="xs"),
    Case("xmlcrypto", "adfs", "response", "rsa256", "rsa2048-a", "keyname", key_info="keyname", pretty=True),
    Case("xmlcrypto", "entra", "both", "rsa256", "rsa2048-b", "both"),
]
BY_ID = {c.id: c for c in CASES}
assert len(BY_ID) == len(CASES), "case ids must be unique"


@dataclass(frozen=True)
class Built:
    """One signed Response of a case, with what idbroker must make of it."""
    case: Case
    xml: bytes
    claims: shapes.Claims


def arns(case: Case, account: str) -> tuple[str, str]:
    """(role ARN, SAML provider ARN) of the case in `account`."""
    return (f"arn:aws:iam::{account}:role/{case.role_name}",
            f"arn:aws:iam::{account}:saml-provider/{case.provider_name}")


def metadata(case: Case) -> str:
    issuer = case.shape.issuer(case.id)
    return idp_metadata(issuer, case.metadata_keys, sso_url=f"https://{case.vendor}.idp.test/sso/{case.id}")


def build(case: Case, service_url: str, account: str) -> Built:
    """A freshly signed Response (new IDs, times around now)."""
    role, provider = arns(case, account)
    claims = case.shape.claims(case.id, service_url, role, provider)
    signer = importlib.import_module(f"{__package__}.{SIGNERS[case.signer]}")
    return Built(case, signer.sign(case, claims), claims)
