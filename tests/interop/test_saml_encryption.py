"""Encrypted assertions (saml:EncryptedAssertion), as AWS's 2025 SAML provider
API has them (docs design.md, "AWS's SAML provider API as of 2025"; security.md
S18, S19): a provider holds up to two SP private keys (AddPrivateKey /
RemovePrivateKey, GetSAMLProvider lists KeyId and Timestamp, never the key),
AssertionEncryptionMode Required or Allowed; AssumeRoleWithSAML and the
provider's own ACS `/saml/acs/{SAMLProviderUUID}` decrypt with either key.

The encrypted responses come from peers this project did not write
(peers/encrypt.py: python-xmlsec, pysaml2, Lasso) and each one is checked by
libxmlsec1 and `cryptography` (encrypt.check) before idbroker sees it, so a
refusal is idbroker's. Every refusal is InvalidIdentityToken; every
decryption failure answers with the same message (no padding oracle)."""
import base64
import hashlib
import json
import re
from dataclasses import dataclass

import boto3
import botocore.config
import botocore.exceptions
import pytest
import requests
from conftest import ACCOUNT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from peers import encrypt
from peers.encrypt import SP_A, SP_B

REFUSED = "InvalidIdentityToken"
KEY_ID = re.compile(r"^[A-Z0-9]{22,64}$")


@pytest.fixture(scope="module")
def anonymous(service):
    """AssumeRoleWithSAML is unsigned; no retries, so each answer is one request's."""
    return boto3.client("sts", endpoint_url=service.url, region_name="us-east-1",
                        config=botocore.config.Config(signature_version=botocore.UNSIGNED,
                                                      retries={"total_max_attempts": 1}))


@dataclass(frozen=True)
class Provider:
    name: str
    arn: str
    role_arn: str
    uuid: str
    service_url: str

    @property
    def acs(self) -> str:
        return f"{self.service_url}/saml/acs/{self.uuid}"


@pytest.fixture(scope="module")
def register(service, iam):
    """A SAML provider of its own IdP, with `keys` and `mode`, and a role
    trusting it (at either ACS URL)."""
    def make(case: encrypt.EncCase, label: str, keys=(SP_A,), mode: str | None = "Required") -> Provider:
        name = "enc-" + hashlib.sha256(f"{case.id}/{label}".encode()).hexdigest()[:20]
        extra = {"AssertionEncryptionMode": mode} if mode else {}
        if keys:
            extra["AddPrivateKey"] = keys[0].key_pem.decode()
        arn = iam.create_saml_provider(Name=name, SAMLMetadataDocument=encrypt.metadata(case, name), **extra)["SAMLProviderArn"]
        for key in keys[1:]:
            iam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=key.key_pem.decode())
        uuid = iam.get_saml_provider(SAMLProviderArn=arn)["SAMLProviderUUID"]
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": arn}, "Action": "sts:AssumeRoleWithSAML",
            "Condition": {"StringEquals": {"SAML:aud": [f"{service.url}/saml/acs", f"{service.url}/saml/acs/{uuid}"]}}}]}
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        assert (role, arn) == encrypt.arns(name, ACCOUNT)
        return Provider(name, arn, role, uuid, service.url)
    return make


def fresh(case: encrypt.EncCase, provider: Provider, recipient: str = "") -> encrypt.Built:
    """A newly encrypted response that libxmlsec1 decrypts and verifies as the case says."""
    built = encrypt.build(case, provider.service_url, provider.role_arn, provider.arn, recipient)
    encrypt.check(built)
    return built


def assume(anonymous, provider: Provider, xml: bytes):
    return anonymous.assume_role_with_saml(RoleArn=provider.role_arn, PrincipalArn=provider.arn,
                                           SAMLAssertion=base64.b64encode(xml).decode())


def accepted(anonymous, provider: Provider, xml: bytes, what: str):
    try:
        return assume(anonymous, provider, xml)
    except botocore.exceptions.ClientError as e:
        error = e.response["Error"]
        pytest.fail(f"{what} refused: {error['Code']}: {error.get('Message')}", pytrace=False)


def refused(anonymous, provider: Provider, xml: bytes, what: str) -> dict:
    """The refusal: InvalidIdentityToken, a 4xx; returns its Error and status."""
    try:
        out = assume(anonymous, provider, xml)
    except botocore.exceptions.ClientError as e:
        response = e.response
        status = response["ResponseMetadata"]["HTTPStatusCode"]
        assert 400 <= status < 500, f"{what}: {status} {response['Error']}"
        assert response["Error"]["Code"] == REFUSED, f"{what}: {response['Error']}"
        return {**response["Error"], "status": status}
    pytest.fail(f"{what} accepted: {out['AssumedRoleUser']['Arn']}", pytrace=False)


def check_session(out, provider: Provider, built: encrypt.Built, recipient: str = "") -> None:
    claims = built.claims
    assert out["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/{provider.name}/{claims.session_name}")
    assert out["Subject"] == claims.name_id
    assert out["Issuer"] == claims.issuer
    assert out["Audience"] == (recipient or f"{provider.service_url}/saml/acs")  # AWS: the Recipient
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")


# ------------------------------------------------------------------ fixtures

def test_fixtures_selfcheck():
    """Every encrypted response and attack variant is what it claims to be
    (no idbroker needed): the same as `python -m peers.encrypt selfcheck`."""
    done = encrypt.selfcheck(verbose=False)
    assert len(done) == len(encrypt.CASES + encrypt.IN_CONTEXT + encrypt.RSA15) + 2 + len(encrypt.ATTACKS)


def test_matrix_is_covered():
    cases = encrypt.CASES
    assert {c.peer for c in cases} == {"pyxmlsec", "pysaml2", "lasso"}
    assert {c.transport for c in cases} == {"oaep", "oaep256"}
    assert {c.content for c in cases} == {"aes128-gcm", "aes256-gcm", "aes128-cbc", "aes256-cbc"}
    assert {c.signed for c in cases} == {"assertion", "response", "both"}
    assert any(c.retrieval for c in cases) and {c.peer for c in encrypt.RSA15} == {"pyxmlsec", "pysaml2", "lasso"}


# ------------------------------------------------------------------ IAM API

def test_provider_keys(iam, unique):
    """AddPrivateKey / RemovePrivateKey / AssertionEncryptionMode; the keys
    are listed by id and upload time, never returned; two at most."""
    case = encrypt.CASES[0]
    name = "enc-keys-" + unique
    arn = iam.create_saml_provider(Name=name, SAMLMetadataDocument=encrypt.metadata(case, name),
                                   AssertionEncryptionMode="Required", AddPrivateKey=SP_A.key_pem.decode())["SAMLProviderArn"]
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["AssertionEncryptionMode"] == "Required"
    assert got["SAMLProviderUUID"]
    [a] = got["PrivateKeyList"]
    assert KEY_ID.match(a["KeyId"]), a
    assert a["Timestamp"].tzinfo is not None
    never_the_key(got)

    iam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=SP_B.key_pem.decode())
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    ids = {k["KeyId"] for k in got["PrivateKeyList"]}
    assert len(ids) == 2 and a["KeyId"] in ids and all(KEY_ID.match(i) for i in ids)
    [b] = ids - {a["KeyId"]}
    never_the_key(got)

    third = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.update_saml_provider(SAMLProviderArn=arn, AddPrivateKey=third)
    assert e.value.response["Error"]["Code"] == "LimitExceeded", e.value.response["Error"]
    assert {k["KeyId"] for k in iam.get_saml_provider(SAMLProviderArn=arn)["PrivateKeyList"]} == ids

    iam.update_saml_provider(SAMLProviderArn=arn, RemovePrivateKey=a["KeyId"], AssertionEncryptionMode="Allowed")
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert [k["KeyId"] for k in got["PrivateKeyList"]] == [b]
    assert got["AssertionEncryptionMode"] == "Allowed"
    assert got["SAMLProviderUUID"] == iam.get_saml_provider(SAMLProviderArn=arn)["SAMLProviderUUID"]
    iam.delete_saml_provider(SAMLProviderArn=arn)


def never_the_key(answer) -> None:
    text = json.dumps(answer, default=str)
    assert "PRIVATE KEY" not in text
    for key in (SP_A, SP_B):
        body = "".join(key.key_pem.decode().splitlines()[1:-1])
        assert body[:40] not in text and body[-40:] not in text


# ------------------------------------------------------------------ accepted

@pytest.mark.parametrize("case", encrypt.CASES, ids=lambda c: c.id)
def test_accepts_encrypted(case, register, anonymous):
    provider = register(case, "accepts")
    built = fresh(case, provider)
    check_session(accepted(anonymous, provider, built.xml, case.id), provider, built)


@pytest.mark.parametrize("case", encrypt.IN_CONTEXT, ids=lambda c: c.id)
def test_accepts_plaintext_that_uses_the_responses_namespaces(case, register, anonymous):
    """XML Encryption decrypts and replaces in place: the plaintext Assertion
    may use prefixes declared on the Response (pysaml2 without
    encrypt_assertion_self_contained; libxmlsec1 encrypting in place)."""
    provider = register(case, "incontext")
    built = fresh(case, provider)
    check_session(accepted(anonymous, provider, built.xml, case.id), provider, built)


def test_required_refuses_plain_and_allowed_takes_both(register, anonymous):
    case = encrypt.CASES[0]
    required = register(case, "required", mode="Required")
    plain = encrypt.plain(case, required.service_url, required.role_arn, required.arn)
    refused(anonymous, required, plain, "a plain assertion for a Required provider")
    accepted(anonymous, required, fresh(case, required).xml, "encrypted, Required")
    allowed = register(case, "allowed", mode="Allowed")
    accepted(anonymous, allowed, encrypt.plain(case, allowed.service_url, allowed.role_arn, allowed.arn),
             "plain, Allowed")
    accepted(anonymous, allowed, fresh(case, allowed).xml, "encrypted, Allowed")


def test_a_provider_without_keys_refuses_encrypted(register, anonymous):
    case = encrypt.CASES[0]
    provider = register(case, "nokey", keys=(), mode=None)
    refused(anonymous, provider, fresh(case, provider).xml, "encrypted, provider without keys")
    accepted(anonymous, provider, encrypt.plain(case, provider.service_url, provider.role_arn, provider.arn),
             "plain, provider without keys")


def test_either_key_decrypts_until_removed(register, anonymous, iam):
    """Key rollover: two keys, each decrypts; a removed key no longer does."""
    case = encrypt.EncCase("pyxmlsec", "oaep", "aes128-gcm", "assertion")
    provider = register(case, "two-keys", keys=(SP_A,))
    [first] = iam.get_saml_provider(SAMLProviderArn=provider.arn)["PrivateKeyList"]  # sp-a's
    iam.update_saml_provider(SAMLProviderArn=provider.arn, AddPrivateKey=SP_B.key_pem.decode())
    assert len(iam.get_saml_provider(SAMLProviderArn=provider.arn)["PrivateKeyList"]) == 2
    to_b = case.with_(to="sp-b")
    accepted(anonymous, provider, fresh(case, provider).xml, "encrypted to sp-a")
    accepted(anonymous, provider, fresh(to_b, provider).xml, "encrypted to sp-b")
    iam.update_saml_provider(SAMLProviderArn=provider.arn, RemovePrivateKey=first["KeyId"])
    refused(anonymous, provider, fresh(case, provider).xml, "encrypted to the removed sp-a")
    accepted(anonymous, provider, fresh(to_b, provider).xml, "encrypted to sp-b after sp-a was removed")


# ------------------------------------------------------------------ refused (S18, S19)

def test_decryption_failures_look_alike(register, anonymous):
    """Bad CBC padding, CBC garbage, bad GCM tag, a key wrapped for another
    RSA key, another session key: each refused, all with the same status,
    code and message (S19: no padding or Bleichenbacher oracle)."""
    provider = register(encrypt.ATTACK_BASES["gcm-tag"], "oracle")
    answers = {}
    for kind in encrypt.DECRYPTION_FAILURES:
        genuine = fresh(encrypt.ATTACK_BASES[kind], provider)
        xml = encrypt.attack(kind, genuine)
        encrypt.check_attack(kind, genuine, xml)
        answers[kind] = refused(anonymous, provider, xml, kind)
        # The untouched response passes: the change was the reason.
        accepted(anonymous, provider, genuine.xml, f"{kind}: the genuine response")
    messages = {kind: (a["status"], a["Code"], a.get("Message")) for kind, a in answers.items()}
    assert len(set(messages.values())) == 1, f"decryption failures tell apart: {json.dumps(messages, indent=1)}"


@pytest.mark.parametrize("kind", ["unsigned-admin", "swapped-into-signed-response"])
def test_refuses_forged_encrypted_assertions(kind, register, anonymous, service):
    """Anyone can encrypt to the SP's certificate (S18): an unsigned Assertion
    is refused however well it decrypts; an EncryptedAssertion moved into
    another signed Response breaks that Response's signature."""
    base = encrypt.ATTACK_BASES[kind]
    provider = register(base, "forged-" + kind)
    genuine = fresh(base, provider)
    if kind == "unsigned-admin":
        # The forger names the provider's own role: only the missing signature can refuse it.
        xml = encrypt.attack(kind, genuine, service.url, provider.role_arn, provider.arn)
        other = None
    else:
        other = fresh(base, provider)
        xml = encrypt.attack(kind, genuine, other=other)
    encrypt.check_attack(kind, genuine, xml)
    refused(anonymous, provider, xml, kind)
    accepted(anonymous, provider, genuine.xml, f"{kind}: the genuine response")
    if other is not None:
        accepted(anonymous, provider, other.xml, f"{kind}: the other genuine response")


@pytest.mark.parametrize("case", encrypt.RSA15, ids=lambda c: c.id)
def test_refuses_rsa_1_5_key_transport(case, register, anonymous):
    """RSA-1_5 (PKCS#1 v1.5) key transport is refused (Bleichenbacher), even
    though the response decrypts; the same peer's RSA-OAEP response passes."""
    provider = register(case, "rsa15")
    refused(anonymous, provider, fresh(case, provider).xml, case.id)
    oaep = case.with_(transport="oaep")
    accepted(anonymous, provider, fresh(oaep, provider).xml, oaep.id)


def test_pysaml2_out_of_the_box_tripledes_gets_an_answer(register, anonymous):
    """pysaml2 7.5.4 encrypts with tripledes-cbc unless patched; the contract
    does not name 3DES: accepted or InvalidIdentityToken, never a 5xx."""
    case = encrypt.TRIPLEDES
    provider = register(case, "tripledes")
    xml = fresh(case, provider).xml
    try:
        assume(anonymous, provider, xml)
    except botocore.exceptions.ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] < 500, e.response
        assert e.response["Error"]["Code"] == REFUSED, e.response["Error"]


# ------------------------------------------------------------------ Destination / Recipient, ACS

RECIPIENTS = ["shared-acs", "provider-acs"]


def recipient_url(provider: Provider, which: str) -> str:
    return f"{provider.service_url}/saml/acs" if which == "shared-acs" else provider.acs


@pytest.mark.parametrize("which", RECIPIENTS)
def test_assume_role_takes_either_recipient(which, register, anonymous):
    case = encrypt.EncCase("pyxmlsec", "oaep256", "aes256-gcm", "response", vendor="keycloak")
    provider = register(case, "recipient-sts-" + which)
    recipient = recipient_url(provider, which)
    built = fresh(case, provider, recipient)
    assert f'Destination="{recipient}"'.encode() in built.xml
    check_session(accepted(anonymous, provider, built.xml, f"Recipient {recipient}"), provider, built, recipient)


ACS_CASES = [encrypt.EncCase("pyxmlsec", "oaep", "aes128-gcm", "assertion"),
             encrypt.EncCase("pysaml2", "oaep", "aes256-cbc", "response"),
             encrypt.EncCase("lasso", "oaep", "aes128-cbc", "both")]


@pytest.mark.parametrize("which", RECIPIENTS)
@pytest.mark.parametrize("case", ACS_CASES, ids=lambda c: c.id)
def test_provider_acs_signs_in(case, which, register):
    """POST /saml/acs/{SAMLProviderUUID}: the browser gets a console session
    (303 to the console with the session cookie), then the console page."""
    provider = register(case, "acs-" + which)
    built = fresh(case, provider, recipient_url(provider, which))
    browser = requests.Session()
    answer = browser.post(provider.acs, data={"SAMLResponse": base64.b64encode(built.xml).decode()},
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 303, f"{answer.status_code}: {answer.text[:2000]}"
    assert any(c.name == "idbroker_session" for c in browser.cookies), browser.cookies
    location = requests.compat.urljoin(provider.acs, answer.headers["Location"])
    assert location.startswith(provider.service_url + "/"), location
    page = browser.get(location, timeout=10)
    assert page.status_code == 200, f"{page.status_code}: {page.text[:2000]}"


def test_provider_acs_refuses_what_sts_refuses(register):
    """The ACS decrypts as AssumeRoleWithSAML does: a bad GCM tag is an error page."""
    base = encrypt.ATTACK_BASES["gcm-tag"]
    provider = register(base, "acs-refuses")
    genuine = fresh(base, provider, provider.acs)
    xml = encrypt.attack("gcm-tag", genuine)
    answer = requests.post(provider.acs, data={"SAMLResponse": base64.b64encode(xml).decode()},
                           allow_redirects=False, timeout=10)
    assert 400 <= answer.status_code < 500, answer.status_code
    assert "idbroker_session" not in answer.cookies
    # The untouched response signs in: the bad tag was the reason.
    answer = requests.post(provider.acs, data={"SAMLResponse": base64.b64encode(genuine.xml).decode()},
                           allow_redirects=False, timeout=10)
    assert answer.status_code == 303, f"{answer.status_code}: {answer.text[:2000]}"
