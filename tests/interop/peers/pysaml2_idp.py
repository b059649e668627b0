"""pysaml2 as the identity provider: its Server builds an unsolicited
(IdP-initiated) Response for idbroker and signs it by running xmlsec1.
pysaml2 signs with RSA-SHA1 unless told otherwise: the case's algorithm is
passed as sign_alg / digest_alg."""
import shutil
import tempfile
from pathlib import Path

from saml2 import BINDING_HTTP_POST
from saml2.config import IdPConfig
from saml2.saml import NAME_FORMAT_URI, NameID
from saml2.server import Server

from . import shapes
from .common import ALGORITHMS, sp_metadata


def sign(case, claims: shapes.Claims) -> bytes:
    alg = ALGORITHMS[case.algorithm]
    key = case.signing_key
    xmlsec1 = shutil.which("xmlsec1")
    if not xmlsec1:
        raise RuntimeError("pysaml2 signs with xmlsec1, which is not installed")
    with tempfile.TemporaryDirectory(prefix="pysaml2-") as tmp:
        sp = Path(tmp, "sp.xml")
        sp.write_text(sp_metadata(claims.audience, claims.acs))
        config = IdPConfig().load({
            "entityid": claims.issuer,
            "key_file": str(key.key_path),
            "cert_file": str(key.cert_path),
            "xmlsec_binary": xmlsec1,
            "metadata": {"local": [str(sp)]},
            "allow_unknown_attributes": True,
            "service": {"idp": {
                "endpoints": {"single_sign_on_service": [(f"{claims.issuer}/sso", BINDING_HTTP_POST)]},
                "policy": {"default": {"lifetime": {"minutes": 5}, "name_form": NAME_FORMAT_URI}},
            }},
        })
        idp = Server(config=config)
        identity = {a.name: list(a.values) for statement in claims.statements for a in statement}
        response = idp.create_authn_response(
            identity=identity, in_response_to=None, destination=claims.acs, sp_entity_id=claims.audience,
            name_id=NameID(format=claims.name_id_format, text=claims.name_id),
            authn={"class_ref": case.shape.authn_context, "authn_instant": claims.now.timestamp()},
            sign_response=case.placement in ("response", "both"),
            sign_assertion=case.placement in ("assertion", "both"),
            sign_alg=alg.signature, digest_alg=alg.digest)
    return str(response).encode()
