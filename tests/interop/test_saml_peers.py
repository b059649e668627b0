"""AssumeRoleWithSAML accepts SAML Responses signed by SAML implementations
this project did not write (xmlsec1, python-xmlsec, signxml, pysaml2, Lasso,
xml-crypto), in the shapes AD FS, Entra ID, Okta, Google Workspace, Keycloak
and Shibboleth IdP send to AWS, and refuses each once one byte of signed
content changes. peers/cases.py lists the cases; a peer that is missing
makes its cases fail, never skip."""
import base64
import importlib.metadata
import json
import re
import subprocess
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions
import pytest
from conftest import ACCOUNT

from peers import cases, selfcheck
from peers.generate_corpus import write_corpus
from peers.lasso_idp import SYSTEM_PYTHON
from peers.xmlcrypto_signer import NODE_DIR

REFUSALS = {"InvalidIdentityToken", "AccessDenied"}
NAME_ID_PREFIX = "urn:oasis:names:tc:SAML:2.0:nameid-format:"

# Where one byte of signed content changes: the first letter or digit of ...
TAMPERED_TEXT = {
    "nameid": re.compile(rb"<(?:[\w.-]+:)?NameID\b[^>]*>"),  # the Subject's NameID
    "session": re.compile(  # the RoleSessionName value
        rb'Name="https://aws\.amazon\.com/SAML/Attributes/RoleSessionName"[^>]*>\s*<(?:[\w.-]+:)?AttributeValue\b[^>]*>'),
    "digest": re.compile(rb"<(?:[\w.-]+:)?DigestValue>\s*"),  # the first DigestValue, inside SignedInfo
}


def change_one_byte(xml: bytes, where: str) -> bytes:
    start = TAMPERED_TEXT[where].search(xml).end()
    at = next(i for i in range(start, len(xml)) if chr(xml[i]).isalnum())
    c = chr(xml[at])
    base, size = (("0", 10) if c.isdigit() else ("a", 26) if c.islower() else ("A", 26))
    other = chr(ord(base) + (ord(c) - ord(base) + 1) % size)
    return xml[:at] + other.encode() + xml[at + 1:]


@pytest.fixture(scope="module")
def anonymous(service):
    return boto3.client("sts", endpoint_url=service.url, region_name="us-east-1",
                        config=botocore.config.Config(signature_version=botocore.UNSIGNED))


@pytest.fixture(scope="module")
def trusted(service, iam):
    """Registers a case's IdP metadata and a role that trusts it, once per case."""
    registered = {}

    def register(case):
        if case.id not in registered:
            provider = iam.create_saml_provider(
                Name=case.provider_name, SAMLMetadataDocument=cases.metadata(case))["SAMLProviderArn"]
            trust = {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithSAML",
                "Condition": {"StringEquals": {"SAML:aud": f"{service.url}/saml/acs"}}}]}
            role = iam.create_role(RoleName=case.role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
            assert (role, provider) == cases.arns(case, ACCOUNT)
            registered[case.id] = (role, provider)
        return registered[case.id]
    return register


def fresh(case, service):
    """A newly signed Response that libxmlsec1 verifies as the case says."""
    built = cases.build(case, service.url, ACCOUNT)
    selfcheck.check(case, built.xml)
    return built


def assume(anonymous, case, xml: bytes):
    role, provider = cases.arns(case, ACCOUNT)
    return anonymous.assume_role_with_saml(RoleArn=role, PrincipalArn=provider,
                                           SAMLAssertion=base64.b64encode(xml).decode())


def accepted(anonymous, case, built):
    try:
        return assume(anonymous, case, built.xml)
    except botocore.exceptions.ClientError as e:
        error = e.response["Error"]
        pytest.fail(f"{case.id} ({case.describe()}) refused: {error['Code']}: {error.get('Message')}", pytrace=False)


@pytest.mark.parametrize("case", cases.CASES, ids=lambda c: c.id)
def test_accepts(case, service, trusted, anonymous):
    trusted(case)
    built = fresh(case, service)
    out = accepted(anonymous, case, built)
    claims = built.claims
    assert out["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/{case.role_name}/{claims.session_name}")
    assert out["Subject"] == claims.name_id
    assert out["SubjectType"] == claims.name_id_format.removeprefix(NAME_ID_PREFIX)
    assert out["Issuer"] == claims.issuer
    assert out["Audience"] == claims.acs
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")


@pytest.mark.parametrize("case,where", [pytest.param(c, w, id=f"{c.id}-{w}") for c in cases.CASES for w in TAMPERED_TEXT])
def test_refuses_one_changed_byte(case, where, service, trusted, anonymous):
    trusted(case)
    tampered = change_one_byte(fresh(case, service).xml, where)
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        assume(anonymous, case, tampered)
    response = refused.value.response
    assert 400 <= response["ResponseMetadata"]["HTTPStatusCode"] < 500, response
    assert response["Error"]["Code"] in REFUSALS, response["Error"]
    # The same signer's untouched response passes: the changed byte was the reason.
    accepted(anonymous, case, fresh(case, service))


def test_cases_cover_the_matrix():
    signers = {c.signer for c in cases.CASES}
    assert len(signers) >= 5 and signers == set(cases.SIGNERS)
    assert {c.vendor for c in cases.CASES} == {"adfs", "entra", "okta", "google", "keycloak", "shibboleth"}
    assert {c.placement for c in cases.CASES} == {"response", "assertion", "both"}
    assert {c.algorithm for c in cases.CASES} == {"rsa256", "rsa384", "rsa512", "ecdsa256", "ecdsa384"}
    assert {c.key_info for c in cases.CASES} >= {"x509", "keyname", "keyvalue", "none"}
    assert any(c.rollover for c in cases.CASES) and any(c.pretty for c in cases.CASES)
    assert {c.prefix_list for c in cases.CASES} >= {"xs", "xsd"}


def test_peers_are_installed():
    """Every peer is there in its pinned version: one that is missing fails here
    as well as in its cases."""
    def output(*command, cwd=None):
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()

    assert output("xmlsec1", "--version").startswith("xmlsec1 1.")
    assert output(SYSTEM_PYTHON, "-c", "import lasso; print(lasso.SIGNATURE_METHOD_RSA_SHA256)")
    assert output("node", "-e", "console.log(require('xml-crypto/package.json').version)", cwd=NODE_DIR) == \
        json.loads((NODE_DIR / "package.json").read_text())["dependencies"]["xml-crypto"]
    pinned = dict(line.split("==") for line in (Path(__file__).parent / "requirements.txt").read_text().split()
                  if "==" in line)
    for package in ("xmlsec", "signxml", "pysaml2", "lxml"):
        assert importlib.metadata.version(package) == pinned[package], package
    import xmlsec  # refuses to load when its libxml2 and lxml's differ
    assert xmlsec.get_libxmlsec_version() >= (1, 2)


def test_corpus_script(tmp_path, service):
    """generate_corpus.py writes every case with a manifest (for the fuzz harness)."""
    manifest = write_corpus(tmp_path, service.url, ACCOUNT)
    assert set(manifest) == set(cases.BY_ID)
    for case_id, entry in manifest.items():
        case = cases.BY_ID[case_id]
        xml = (tmp_path / entry["file"]).read_bytes()
        selfcheck.check(case, xml)
        assert entry["issuer"] in (tmp_path / entry["metadata"]).read_text()
        assert (entry["role_arn"], entry["provider_arn"]) == cases.arns(case, ACCOUNT)
