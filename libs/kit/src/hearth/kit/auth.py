"""Bearer-token authentication and role checks for the HTTP APIs.

Tokens are JWTs with `iss`, `aud`, `sub`, `role` and `exp`. In development they are signed with a shared
HS256 secret; in production the services hold only a public key (RS256 or ES256), and then HS256 tokens are
refused, so nobody holding a service's configuration can mint tokens. The accepted algorithm follows from the
configured key, never from the token's header: that is what defeats `alg=none` and algorithm confusion.

Routes ask for a principal with `Depends(require_roles(Role.CLINICIAN, ...))`. The dependency reads the
settings from `request.app.state.auth_settings`, which the app factory sets at startup; without it every
request fails with 500 rather than passing unauthenticated.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, SecretStr, field_validator

from hearth.kit.http_errors import ApiError
from hearth.kit.logging import get_logger

_log = get_logger("hearth.kit.auth")


class Role(StrEnum):
    PATIENT = "patient"
    CLINICIAN = "clinician"
    PHARMACY = "pharmacy"
    OPS = "ops"
    SYSTEM = "system"
    THERAPIST = "therapist"
    PRIVACY_OFFICER = "privacy_officer"  # erases a patient's personal data (hearth.kit.erasure)


_ROLE_NAMES = frozenset(r.value for r in Role)


class AuthSettings(BaseModel):
    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = None
    jwt_issuer: str = "hearth"
    jwt_audience: str = "hearth-api"
    leeway_seconds: int = 30

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        # RFC 7518 3.2: an HS256 key must be at least as long as the hash output.
        if secret is not None and len(secret.get_secret_value().encode()) < 32:
            raise ValueError("jwt_secret must be at least 32 bytes")
        return secret

    @field_validator("jwt_public_key")
    @classmethod
    def _usable_key(cls, pem: str | None) -> str | None:
        if pem is None:
            return None
        pem = pem.replace("\\n", "\n")  # PEM passed through an environment variable on one line
        _public_key(pem)
        return pem


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: Role
    token_id: str | None = None


class AuthError(ApiError):
    """A refused token (401, with a `WWW-Authenticate` challenge) or a role that may not do this (403)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        if status == 401:
            challenge = "Bearer" if code == "missing_token" else 'Bearer error="invalid_token"'
        else:
            challenge = 'Bearer error="insufficient_scope"'
        super().__init__(status, code, message, headers={"WWW-Authenticate": challenge})


def _algorithm_for(key: Any) -> str:
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise ValueError("RSA keys must have at least 2048 bits")
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise ValueError("only RSA (RS256) and P-256 EC (ES256) keys are supported")


@lru_cache(maxsize=8)
def _public_key(pem: str) -> tuple[Any, str]:
    key = serialization.load_pem_public_key(pem.encode())
    return key, _algorithm_for(key)


def _verification_key(settings: AuthSettings) -> tuple[Any, str]:
    if settings.jwt_public_key is not None:
        return _public_key(settings.jwt_public_key)
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value(), "HS256"
    raise AuthError(401, "invalid_token", "token verification is not configured")


class _HmacKeyCheckedOnce(jwt.algorithms.HMACAlgorithm):
    """HS256 whose secret is vetted once per distinct secret, not on every token.  PyJWT refuses an asymmetric
    key or certificate used as an HMAC secret (algorithm confusion) by trying to parse the secret as PEM, SSH
    and DER and as a JWK — half of a request's token check.  The verdict depends on the secret alone, so it is
    kept; a refused secret is never kept (the refusal is raised again on each use)."""

    def prepare_key(self, key: str | bytes) -> bytes:
        return _vetted_hmac_secret(self, key if isinstance(key, bytes) else key.encode())


@lru_cache(maxsize=8)
def _vetted_hmac_secret(algorithm: _HmacKeyCheckedOnce, key: bytes) -> bytes:
    return jwt.algorithms.HMACAlgorithm.prepare_key(algorithm, key)


def _tokens() -> jwt.PyJWT:
    tokens = jwt.PyJWT()
    tokens._jws.unregister_algorithm("HS256")  # PyJWT has no public way to swap one algorithm's handler
    tokens._jws.register_algorithm("HS256", _HmacKeyCheckedOnce(jwt.algorithms.HMACAlgorithm.SHA256))
    return tokens


_TOKENS = _tokens()


# PyJWT's exceptions, most specific first (several derive from InvalidTokenError or DecodeError).
_REFUSALS: tuple[tuple[type[jwt.PyJWTError], str, str], ...] = (
    (jwt.ExpiredSignatureError, "token_expired", "the token has expired"),
    (jwt.ImmatureSignatureError, "token_not_yet_valid", "the token is not valid yet"),
    (jwt.InvalidIssuerError, "invalid_issuer", "the token was not issued by the expected issuer"),
    (jwt.InvalidAudienceError, "invalid_audience", "the token is not meant for this audience"),
    (jwt.MissingRequiredClaimError, "missing_claim", "the token lacks a required claim"),
    (jwt.InvalidSignatureError, "invalid_signature", "the token signature does not verify"),
    (jwt.InvalidAlgorithmError, "invalid_algorithm", "the token is signed with an algorithm not accepted"),
)


def verify_token(token: str, settings: AuthSettings) -> Principal:
    """Returns the principal of a valid token; raises AuthError (401) for anything else."""
    key, algorithm = _verification_key(settings)
    try:
        claims = _TOKENS.decode(
            token,
            key,
            algorithms=[algorithm],
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway=settings.leeway_seconds,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.InvalidAlgorithmError:  # the header names another algorithm ("none", HS512, HS256 for RS256 ...)
        raise AuthError(401, "invalid_algorithm", f"tokens must be signed with {algorithm}") from None
    except jwt.PyJWTError as exc:
        code, message = next(((c, m) for t, c, m in _REFUSALS if isinstance(exc, t)), ("invalid_token", ""))
        raise AuthError(401, code, message or "the token is not valid") from None
    subject, role, token_id = claims.get("sub"), claims.get("role"), claims.get("jti")
    if not isinstance(subject, str) or not subject or role is None:
        raise AuthError(401, "missing_claim", "the token lacks a required claim")
    # A signed token may still carry any JSON in `role` (a list, an object): only one known role name passes.
    if not isinstance(role, str) or role not in _ROLE_NAMES:
        raise AuthError(401, "unknown_role", "the token carries an unknown role")
    return Principal(subject=subject, role=Role(role), token_id=str(token_id) if token_id else None)


def mint_token(
    settings: AuthSettings,
    subject: str,
    role: Role | str,
    ttl_seconds: int = 3600,
    private_key: str | bytes | None = None,
) -> str:
    """A signed token for development and tests: HS256 with the secret, or RS256/ES256 with a private key."""
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "role": Role(role).value,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    if private_key is not None:
        pem = private_key.encode() if isinstance(private_key, str) else private_key
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError("only RSA and P-256 EC private keys are supported")
        return jwt.encode(claims, key, algorithm=_algorithm_for(key))
    if settings.jwt_public_key is not None:
        raise ValueError("these settings verify with a public key: pass the matching private_key")
    if settings.jwt_secret is None:
        raise ValueError("no jwt_secret configured to sign with")
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


_bearer = HTTPBearer(auto_error=False, description="A JWT issued for this API (see hearth.kit.auth)")


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency returning the caller's Principal: 401 without a valid bearer token, 403 when its
    role is not among `roles` (no roles: any authenticated caller)."""
    allowed = frozenset(roles)

    async def authorised(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        settings = getattr(request.app.state, "auth_settings", None)
        if not isinstance(settings, AuthSettings):
            raise RuntimeError("app.state.auth_settings is not set: the app factory must set it")
        try:
            if credentials is None:
                raise AuthError(401, "missing_token", "a bearer token is required")
            principal = verify_token(credentials.credentials, settings)
            if allowed and principal.role not in allowed:
                raise AuthError(403, "forbidden", f"the role {principal.role} may not do this")
        except AuthError as refused:
            # The route template (`/orders/{order_id}`), never the raw path: a path segment may hold anything.
            route = getattr(request.scope.get("route"), "path", "unmatched")
            _log.warning("request refused", code=refused.code, status=refused.status, route=route)
            raise
        return principal

    return authorised
