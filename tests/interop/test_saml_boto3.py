"""boto3 exchanges a SAML assertion signed with signxml (a real XML-signature
library) for credentials, and uses them."""
import base64
import datetime
import json
import uuid

import boto3
import botocore.config
import botocore.exceptions
import pytest
from conftest import ACCOUNT, client
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner, methods

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
ATTR = "https://aws.amazon.com/SAML/Attributes/"


class Idp:
    def __init__(self, entity_id):
        self.entity_id = entity_id
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "interop idp")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=30)).sign(self.key, hashes.SHA256()))

    def metadata(self):
        der = base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()
        pad = " " * 1000
        return (f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{self.entity_id}"{pad}>'
                '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
                f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{der}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>'
                '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.test/sso"/>'
                '</md:IDPSSODescriptor></md:EntityDescriptor>')

    def response(self, service_url, role_arn, provider_arn, session="interop", now=None):
        """A signed Response issued at `now` (by default, this machine's now)."""
        now = now or datetime.datetime.now(datetime.timezone.utc)
        fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
        acs = f"{service_url}/saml/acs"
        rid, aid = "_" + uuid.uuid4().hex, "_" + uuid.uuid4().hex
        xml = f"""<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{rid}" Version="2.0" IssueInstant="{fmt(now)}" Destination="{acs}">
<saml:Issuer>{self.entity_id}</saml:Issuer>
<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
<saml:Assertion ID="{aid}" Version="2.0" IssueInstant="{fmt(now)}">
<saml:Issuer>{self.entity_id}</saml:Issuer>
<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">alice@corp.test</saml:NameID>
<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{fmt(now + datetime.timedelta(minutes=5))}" Recipient="{acs}"/></saml:SubjectConfirmation></saml:Subject>
<saml:Conditions NotBefore="{fmt(now - datetime.timedelta(minutes=1))}" NotOnOrAfter="{fmt(now + datetime.timedelta(minutes=5))}"><saml:AudienceRestriction><saml:Audience>{service_url}/saml/metadata</saml:Audience></saml:AudienceRestriction></saml:Conditions>
<saml:AuthnStatement AuthnInstant="{fmt(now)}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>
<saml:AttributeStatement>
<saml:Attribute Name="{ATTR}Role"><saml:AttributeValue>{role_arn},{provider_arn}</saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="{ATTR}RoleSessionName"><saml:AttributeValue>{session}</saml:AttributeValue></saml:Attribute>
</saml:AttributeStatement>
</saml:Assertion>
</samlp:Response>"""
        root = etree.fromstring(xml.encode())
        signer = XMLSigner(method=methods.enveloped, signature_algorithm="rsa-sha256", digest_algorithm="sha256",
                           c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
        key_pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)
        signed = signer.sign(root, key=key_pem, cert=cert_pem, reference_uri=rid)
        return base64.b64encode(etree.tostring(signed)).decode()


def test_assume_role_with_saml(service, iam, unique):
    idp = Idp(f"https://idp-{unique}.interop.test/saml")
    provider = iam.create_saml_provider(Name=f"Idp{unique}", SAMLMetadataDocument=idp.metadata())["SAMLProviderArn"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider},
             "Action": "sts:AssumeRoleWithSAML", "Condition": {"StringEquals": {"SAML:aud": f"{service.url}/saml/acs"}}}]}
    role = iam.create_role(RoleName=f"saml{unique}", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=f"saml{unique}", PolicyName="list", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]}))
    anonymous = boto3.client("sts", endpoint_url=service.url, region_name="us-east-1",
                             config=botocore.config.Config(signature_version=botocore.UNSIGNED))
    assertion = idp.response(service.url, role, provider)
    out = anonymous.assume_role_with_saml(RoleArn=role, PrincipalArn=provider, SAMLAssertion=assertion)
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/saml{unique}/interop"
    assert out["Subject"] == "alice@corp.test" and out["SubjectType"] == "persistent"
    creds = out["Credentials"]
    session = dict(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    sts = boto3.client("sts", endpoint_url=service.url, region_name="us-east-1", **session)
    assert sts.get_caller_identity()["Arn"] == out["AssumedRoleUser"]["Arn"]
    role_iam = boto3.client("iam", endpoint_url=service.url, region_name="us-east-1", **session)
    assert any(r["RoleName"] == f"saml{unique}" for r in role_iam.list_roles()["Roles"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        role_iam.list_users()
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    # The same assertion is accepted once.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        anonymous.assume_role_with_saml(RoleArn=role, PrincipalArn=provider, SAMLAssertion=assertion)
    assert e.value.response["Error"]["Code"] == "InvalidIdentityToken"
    # Signed by someone else's key: refused.
    forged = Idp(idp.entity_id).response(service.url, role, provider)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        anonymous.assume_role_with_saml(RoleArn=role, PrincipalArn=provider, SAMLAssertion=forged)
    assert e.value.response["Error"]["Code"] == "InvalidIdentityToken"
