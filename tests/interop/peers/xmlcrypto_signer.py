"""Signs with xml-crypto (Node.js, npm), through peers/node/sign.js. Its
modules are installed by scripts/test.sh (`npm ci` in peers/node)."""
import json
from pathlib import Path

from lxml import etree

from . import shapes
from .common import ALGORITHMS, run, signed_elements

NODE_DIR = Path(__file__).resolve().parent / "node"


def sign(case, claims: shapes.Claims) -> bytes:
    if not (NODE_DIR / "node_modules/xml-crypto").is_dir():
        raise RuntimeError(f"xml-crypto is not installed: run `npm ci` in {NODE_DIR}")
    document = shapes.render(case.shape, claims, case.pretty)
    alg = ALGORITHMS[case.algorithm]
    key = case.signing_key
    request = {
        "xml": document,
        "keyPem": key.key_pem.decode(),
        "certPem": key.cert_pem.decode(),
        "signatureAlgorithm": alg.signature,
        "digestAlgorithm": alg.digest,
        "targets": [e.get("ID") for e in signed_elements(etree.fromstring(document.encode()), case.placement)],
        "prefixList": case.prefix_list,
        "keyInfo": case.key_info,
        "keyName": case.key_name,
    }
    return run(["node", str(NODE_DIR / "sign.js")], stdin=json.dumps(request)).encode()
