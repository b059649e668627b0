"""An external IdP whose metadata idbroker fetches again by itself: a SAML
provider registered with boto3 and tagged idbroker:MetadataURL follows the
IdP's certificate rollover as the IdP publishes it (both certificates, then
the new one alone), with no administrator action and no failed sign-in
between; a broken or foreign document keeps the last good metadata and is
counted in /metrics; the certificates' days left are there too."""
import os
import re

import boto3
import pytest
import requests

from conftest import ACCOUNT, Service, until
from https_server import MetadataServer, tls_certificate
from test_saml_boto3 import Idp

pytestmark = pytest.mark.skipif(not os.environ.get("OPENLDAP_URL"), reason="needs the test OpenLDAP (scripts/test.sh)")

ENTITY = "https://rolling-idp.test/metadata"


def metadata_with(*idps):
    """One IdP's metadata with the certificates of `idps` (a rollover publishes two)."""
    first = idps[0].metadata()
    descriptors = "".join(re.search(r"<md:KeyDescriptor.*?</md:KeyDescriptor>", i.metadata()).group(0) for i in idps)
    return re.sub(r"<md:KeyDescriptor.*?</md:KeyDescriptor>", descriptors, first, count=1).encode()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("idp-metadata")
    cert, key = tls_certificate(folder)
    server = MetadataServer(cert, key)
    service = Service(config=f'[server]\nfetch_ca_file = "{cert}"\n[idp]\nmetadata_refresh_seconds = 1\n')
    out = service.init(ACCOUNT)
    assert out.returncode == 0, out.stderr
    import json
    admin = json.loads(out.stdout)
    clients = {kind: boto3.client(kind, endpoint_url=service.url, region_name="us-east-1",
                                  aws_access_key_id=admin["AccessKeyId"],
                                  aws_secret_access_key=admin["SecretAccessKey"]) for kind in ("iam", "sts")}
    yield service, server, clients
    server.httpd.shutdown()
    assert service.stop() == 0


def test_a_certificate_rollover_at_the_metadata_url_needs_no_one(setup):
    service, server, clients = setup
    iam, sts = clients["iam"], clients["sts"]
    old, new = Idp(ENTITY), Idp(ENTITY)
    server.document = metadata_with(old)
    with pytest.raises(iam.exceptions.InvalidInputException):
        iam.create_saml_provider(Name="Rolling", SAMLMetadataDocument=old.metadata(),
                                 Tags=[{"Key": "idbroker:MetadataURL", "Value": "http://insecure.test/m"}])
    provider = iam.create_saml_provider(Name="Rolling", SAMLMetadataDocument=old.metadata(),
                                        Tags=[{"Key": "idbroker:MetadataURL", "Value": server.url}])["SAMLProviderArn"]
    trust = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"%s"},'
             '"Action":"sts:AssumeRoleWithSAML"}]}' % provider)
    role = iam.create_role(RoleName="Rolling", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    signs_in = lambda idp: sts.assume_role_with_saml(
        RoleArn=role, PrincipalArn=provider, SAMLAssertion=idp.response(service.url, role, provider))
    metadata_now = lambda: iam.get_saml_provider(SAMLProviderArn=provider)["SAMLMetadataDocument"]

    signs_in(old)
    # The IdP publishes its next certificate beside the current one: both sign in.
    server.document = metadata_with(old, new)
    assert until(lambda: metadata_now().count("X509Certificate>") == 4)
    signs_in(old)
    signs_in(new)
    # It switches and drops the old one: the old key is refused from then on.
    server.document = metadata_with(new)
    assert until(lambda: metadata_now().count("X509Certificate>") == 2)
    signs_in(new)
    with pytest.raises(sts.exceptions.InvalidIdentityTokenException):
        signs_in(old)

    # A broken document, or another IdP's, changes nothing and is counted.
    failures = lambda: int((re.search(
        r'idbroker_metadata_refresh_failures_total\{subject="%s"\} (\d+)' % re.escape(provider),
        requests.get(service.url + "/metrics", timeout=10).text) or [0, 0])[1])
    server.document = b"<html>maintenance</html>"
    assert until(lambda: failures() >= 1)
    server.document = Idp("https://other-idp.test/metadata").metadata().encode()
    before = failures()
    assert until(lambda: failures() > before)
    signs_in(new)
    metrics = requests.get(service.url + "/metrics", timeout=10).text
    days = re.search(r'idbroker_saml_provider_certificate_days_left\{provider="%s"\} (\d+)' % re.escape(provider),
                     metrics)
    assert days and 28 <= int(days.group(1)) <= 30, metrics[-2000:]


def signed(document, idp, cert_of=None):
    """`document` signed (enveloped, exc-c14n, RSA-SHA256) by `idp`'s key, as signxml signs,
    with the certificate of `cert_of` (by default `idp`'s own) in its KeyInfo."""
    from cryptography.hazmat.primitives import serialization
    from lxml import etree
    from signxml import XMLSigner, methods

    signer = XMLSigner(method=methods.enveloped, signature_algorithm="rsa-sha256", digest_algorithm="sha256",
                       c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    key = idp.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert = (cert_of or idp).cert.public_bytes(serialization.Encoding.PEM)
    root = signer.sign(etree.fromstring(document), key=key, cert=cert)
    return etree.tostring(root)


def test_metadata_pinned_to_its_signer_is_taken_only_when_that_signer_signed_it(setup):
    import hashlib

    from cryptography.hazmat.primitives import serialization

    service, server, clients = setup
    iam = clients["iam"]
    signer, other, first, second = Idp(ENTITY), Idp(ENTITY), Idp(ENTITY), Idp(ENTITY)
    pin = hashlib.sha256(signer.cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    server.document = signed(metadata_with(first), signer)
    provider = iam.create_saml_provider(Name="Pinned", SAMLMetadataDocument=first.metadata(), Tags=[
        {"Key": "idbroker:MetadataURL", "Value": server.url},
        {"Key": "idbroker:MetadataSigningCertificateSHA256", "Value": pin}])["SAMLProviderArn"]
    certificates = lambda: iam.get_saml_provider(SAMLProviderArn=provider)["SAMLMetadataDocument"].count(
        "X509Certificate>")
    # Signed by the pinned signer: taken.
    server.document = signed(metadata_with(first, second), signer)
    assert until(lambda: certificates() == 4)
    failures = lambda: int((re.search(
        r'idbroker_metadata_refresh_failures_total\{subject="%s"\} (\d+)' % re.escape(provider),
        requests.get(service.url + "/metrics", timeout=10).text) or [0, 0])[1])
    # Unsigned, signed by another key, signed by another key under the pinned
    # certificate, or changed after signing: refused, and the last good metadata stays.
    tampered = signed(metadata_with(first, second), signer).replace(b"https://idp.test/sso", b"https://idp.evil/sso", 1)
    for document in [metadata_with(second), signed(metadata_with(second), other),
                     signed(metadata_with(second), other, cert_of=signer), tampered]:
        server.document = document
        before = failures()
        assert until(lambda: failures() > before)
        assert certificates() == 4


def test_a_short_cache_duration_brings_the_next_fetch_forward(tmp_path):
    """The schedule is an hour; the IdP's metadata says cacheDuration="PT1S",
    so its rollover is fetched within seconds, not within the hour."""
    cert, key = tls_certificate(tmp_path)
    server = MetadataServer(cert, key)
    service = Service(config=f'[server]\nfetch_ca_file = "{cert}"\n[idp]\nmetadata_refresh_seconds = 3600\n')
    try:
        import json
        admin = json.loads(service.init(ACCOUNT).stdout)
        iam = boto3.client("iam", endpoint_url=service.url, region_name="us-east-1",
                           aws_access_key_id=admin["AccessKeyId"], aws_secret_access_key=admin["SecretAccessKey"])
        old, new = Idp(ENTITY), Idp(ENTITY)
        cached = lambda document: document.replace(b"<md:EntityDescriptor ", b'<md:EntityDescriptor cacheDuration="PT1S" ', 1)
        server.document = cached(metadata_with(old))
        assert b'cacheDuration="PT1S"' in server.document
        provider = iam.create_saml_provider(Name="Cached", SAMLMetadataDocument=old.metadata(),
                                            Tags=[{"Key": "idbroker:MetadataURL", "Value": server.url}])["SAMLProviderArn"]
        certificates = lambda: iam.get_saml_provider(SAMLProviderArn=provider)["SAMLMetadataDocument"].count(
            "X509Certificate>")
        # The first fetch comes a few seconds after start; from then on every second.
        assert until(lambda: 'cacheDuration="PT1S"' in iam.get_saml_provider(SAMLProviderArn=provider)["SAMLMetadataDocument"])
        server.document = cached(metadata_with(old, new))
        assert until(lambda: certificates() == 4, seconds=10)
        server.document = cached(metadata_with(new))
        assert until(lambda: certificates() == 2, seconds=10)
    finally:
        server.httpd.shutdown()
        assert service.stop() == 0
