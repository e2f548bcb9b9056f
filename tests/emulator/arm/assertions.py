"""Entra ID's client assertions: certificate credentials and federated (workload identity) tokens.

Both arrive at the token endpoint as ``client_credentials`` with
``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and a JWT in
``client_assertion``, as RFC 7523 and the Microsoft identity platform describe:

- **Certificate**: a JWT the client signs with the private key of a certificate registered on the
  app. The header names the certificate by thumbprint (``x5t`` SHA-1, or ``x5t#S256`` SHA-256 which
  MSAL sends with PS256); ``aud`` is the token endpoint, ``iss`` = ``sub`` = the client id.
- **Federated**: a JWT issued by an external OpenID Connect issuer (here the emulator's own, standing
  for an AKS cluster's OIDC issuer). Entra fetches the issuer's keys and needs a federated identity
  credential on the app whose issuer, subject and audience (``api://AzureADTokenExchange``) match
  the token exactly.

``Assertions.check(form, tenant, token_endpoints)`` returns None when the assertion authenticates the
client, else (status, error, AADSTS number, description). Error numbers come from the AADSTS
reference and real error bodies (70021/700211/700213 seen in workload identity reports);
700023 for a wrong audience is our best recollection.
"""

import base64
import datetime
import hashlib
import json
import os
import time

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
# what AKS's workload identity webhook projects for a service account, and its token lifetime
DEFAULT_SUBJECT = "system:serviceaccount:awx:awx-ee"
PROJECTED_TOKEN_LIFETIME = 3600
CLOCK_SKEW = 300  # Entra tolerates five minutes


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _sign_rs256(key, header, claims):
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


def _verify(public_key, alg, token):
    """True when ``token``'s signature verifies with ``public_key`` under RS256 or PS256."""
    head, body, signature = token.split(".")
    data = (head + "." + body).encode("ascii")
    try:
        if alg == "RS256":
            public_key.verify(unb64url(signature), data, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "PS256":
            public_key.verify(unb64url(signature), data,
                              padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                              hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def parse_jwt(token):
    """(header, claims) of a compact JWS, or None when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header, claims = json.loads(unb64url(parts[0])), json.loads(unb64url(parts[1]))
    except ValueError:
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return header, claims


class Issuer:
    """An OpenID Connect issuer of service-account tokens (an AKS cluster's OIDC issuer)."""

    def __init__(self, name):
        self.name = name
        self.url = None  # set by bind()
        self._key = _new_key()
        self.kid = b64url(hashlib.sha256(self._public_der()).digest())[:43]

    def _public_der(self):
        return self._key.public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)

    def bind(self, base_url):
        self.url = "%s/oidc/%s/" % (base_url, self.name)

    def discovery(self):
        return {"issuer": self.url, "jwks_uri": self.url + "openid/v1/jwks", "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]}

    def jwks(self):
        numbers = self._key.public_key().public_numbers()

        def as_b64(value):
            return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

        return {"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid, "n": as_b64(numbers.n),
                          "e": as_b64(numbers.e)}]}

    def issue(self, subject=DEFAULT_SUBJECT, audience=EXCHANGE_AUDIENCE, lifetime=PROJECTED_TOKEN_LIFETIME):
        """A projected service-account token, as the kubelet writes to AZURE_FEDERATED_TOKEN_FILE."""
        now = int(time.time())
        claims = {"aud": [audience], "iss": self.url, "sub": subject, "iat": now, "nbf": now, "exp": now + lifetime,
                  "kubernetes.io": {"namespace": subject.split(":")[2] if subject.count(":") == 3 else "default"}}
        return _sign_rs256(self._key, {"alg": "RS256", "kid": self.kid, "typ": "JWT"}, claims)

    def verifies(self, header, token):
        if header.get("alg") != "RS256" or header.get("kid") not in (None, self.kid):
            return False
        return _verify(self._key.public_key(), "RS256", token)


class ClientCertificate:
    """A certificate registered on the app (Entra keeps only the public part) and its private key."""

    def __init__(self, client_id):
        self.key = _new_key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "azcni-emulator-" + client_id[:8])])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
                     .sign(self.key, hashes.SHA256()))
        der = self.cert.public_bytes(serialization.Encoding.DER)
        self.thumbprints = {"x5t": b64url(hashlib.sha1(der).digest()),  # nosec - the thumbprint format Entra uses
                            "x5t#S256": b64url(hashlib.sha256(der).digest())}

    @property
    def sha1_hex(self):
        """The thumbprint as the portal and az show it (hex SHA-1)."""
        return unb64url(self.thumbprints["x5t"]).hex().upper()

    def pem(self, password=None):
        """Private key then certificate, the PEM layout CertificateCredential reads."""
        encryption = (serialization.BestAvailableEncryption(password.encode("utf-8")) if password
                      else serialization.NoEncryption())
        key = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        return key + self.cert.public_bytes(serialization.Encoding.PEM)

    def matches(self, header):
        # MSAL sends the thumbprint base64url with its "=" padding; RFC 7515 says without: take both
        return any(str(header.get(name, "")).rstrip("=") == value for name, value in self.thumbprints.items())


class Assertions:
    """The app's certificate and federated identity credentials, and the checks Entra applies."""

    def __init__(self, client_id):
        self.client_id = client_id
        self.certificate = ClientCertificate(client_id)
        self.issuer = Issuer("workload")
        # (issuer URL, subject, audience) triples; filled in by bind() once the issuer has its URL
        self.federated = []

    def bind(self, base_url):
        self.issuer.bind(base_url)
        self.federated = [(self.issuer.url, DEFAULT_SUBJECT, EXCHANGE_AUDIENCE)]

    def write_files(self, workdir, password):
        """client-cert.pem, client-cert-encrypted.pem (with ``password``) and federated-token, mode 0600."""
        paths = {}
        for name, content in (("client-cert.pem", self.certificate.pem()),
                              ("client-cert-encrypted.pem", self.certificate.pem(password)),
                              ("federated-token", self.issuer.issue().encode("ascii"))):
            path = os.path.join(workdir, name)
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
                handle.write(content)
            paths[name] = path
        return paths

    def check(self, form, tenant, token_endpoints):
        """None when the form's client assertion authenticates ``self.client_id``; else the error."""
        if form.get("client_assertion_type") != JWT_BEARER:
            return (400, "invalid_request", 7000219, "'client_assertion' or 'client_secret' is required for the "
                    "'client_credentials' grant type... client_assertion_type must be '%s'." % JWT_BEARER)
        token = form.get("client_assertion", "")
        parsed = parse_jwt(token)
        if parsed is None:
            return 400, "invalid_request", 50027, "JWT token is invalid or malformed."
        header, claims = parsed
        if claims.get("iss") == self.client_id and claims.get("sub") == self.client_id:
            return self._check_certificate(header, claims, token, token_endpoints)
        return self._check_federated(header, claims, token)

    @staticmethod
    def _time_error(claims):
        now = time.time()
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] + CLOCK_SKEW < now \
                or claims.get("nbf", now) - CLOCK_SKEW > now:
            return (401, "invalid_client", 700024,
                    "Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, "
                    "expiry time of assertion %s." % (_stamp(now), _stamp(claims.get("nbf")), _stamp(claims.get("exp"))))
        return None

    def _check_certificate(self, header, claims, token, token_endpoints):
        if not self.certificate.matches(header):
            presented = header.get("x5t#S256") or header.get("x5t") or "<none>"
            return (401, "invalid_client", 700027,
                    "The certificate with identifier used to sign the client assertion is not registered on application. "
                    "[Reason - The key was not found., Thumbprint of key used by client: '%s', Please visit the Azure "
                    "Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]"
                    % (presented, self.client_id))
        if not _verify(self.certificate.cert.public_key(), header.get("alg"), token):
            return 401, "invalid_client", 700027, "Client assertion failed signature validation."
        audience = claims.get("aud")
        if audience not in token_endpoints:
            return (401, "invalid_client", 700023,
                    "Client assertion audience claim does not match Realm issuer. Review the documentation at "
                    "https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials.")
        return self._time_error(claims)

    def _check_federated(self, header, claims, token):
        issuer, subject = claims.get("iss"), claims.get("sub")
        audiences = claims.get("aud")
        audiences = audiences if isinstance(audiences, list) else [audiences]
        records = [record for record in self.federated if record[0] == issuer]
        if not records:
            return (400, "invalid_client", 700211,
                    "No matching federated identity record found for presented assertion issuer '%s'. Please check your "
                    "federated identity credential Subject, Audience and Issuer against the presented assertion."
                    % issuer)
        if not self.issuer.verifies(header, token):
            return 400, "invalid_client", 50013, "Assertion failed signature validation."
        records = [record for record in records if record[1] == subject]  # case-sensitive, as Entra matches
        if not records:
            return (400, "invalid_client", 700213,
                    "No matching federated identity record found for presented assertion subject '%s'. Check your "
                    "federated identity credential Subject, Audience and Issuer against the presented assertion."
                    % subject)
        if not any(record[2] in audiences for record in records):
            return (400, "invalid_client", 700212,
                    "No matching federated identity record found for presented assertion audience '%s'. Please check "
                    "your federated identity credential Subject, Audience and Issuer against the presented assertion."
                    % ",".join(str(a) for a in audiences))
        return self._time_error(claims)


def _stamp(value):
    if not isinstance(value, (int, float)):
        return "<none>"
    return time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(value))
