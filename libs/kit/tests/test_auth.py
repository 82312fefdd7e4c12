"""Bearer tokens and roles: every kind of bad token is refused with 401 (or 403) and the JSON error body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Annotated, Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, FastAPI
from httpx import ASGITransport, AsyncClient, Response
from pydantic import SecretStr, ValidationError

from hearth.kit.auth import AuthError, AuthSettings, Principal, Role, mint_token, require_roles, verify_token
from hearth.kit.http_errors import install_error_handlers

SECRET = "dev-secret-that-is-at-least-32-bytes-long"
DEV = AuthSettings(jwt_secret=SecretStr(SECRET))


def make_app(settings: AuthSettings | None) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    if settings is not None:
        app.state.auth_settings = settings

    @app.get("/screenings")
    async def screenings(
        principal: Annotated[Principal, Depends(require_roles(Role.CLINICIAN, Role.OPS))],
    ) -> dict[str, str | None]:
        return {"subject": principal.subject, "role": principal.role, "token_id": principal.token_id}

    @app.get("/me")
    async def me(principal: Annotated[Principal, Depends(require_roles())]) -> dict[str, str]:
        return {"role": principal.role}

    return app


async def get(app: FastAPI, path: str, headers: dict[str, str]) -> Response:
    transport = ASGITransport(app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path, headers=headers)


async def call(token: str | None, settings: AuthSettings | None = DEV, path: str = "/screenings") -> Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return await get(make_app(settings), path, headers)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": "hearth",
        "aud": "hearth-api",
        "sub": "clin-1",
        "role": "clinician",
        "iat": now,
        "exp": now + 600,
    }
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(alg: str) -> str:
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(claims()).encode())}."


def assert_refused(response: Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["fields"] == []
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_valid_token_for_an_allowed_role_passes() -> None:
    response = await call(mint_token(DEV, "clin-1", Role.CLINICIAN))

    assert response.status_code == 200
    body = response.json()
    assert (body["subject"], body["role"]) == ("clin-1", "clinician")
    assert body["token_id"]


async def test_missing_token_is_401_with_a_bare_challenge() -> None:
    response = await call(None)

    assert_refused(response, 401, "missing_token")
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_another_scheme_counts_as_missing() -> None:
    response = await get(make_app(DEV), "/screenings", {"Authorization": "Basic dXNlcjpwYXNz"})

    assert_refused(response, 401, "missing_token")


@pytest.mark.parametrize(
    ("token", "code"),
    [
        pytest.param(mint_token(DEV, "clin-1", Role.CLINICIAN, ttl_seconds=-120), "token_expired", id="expired"),
        pytest.param(unsigned("none"), "invalid_algorithm", id="alg-none"),
        pytest.param(unsigned("None"), "invalid_algorithm", id="alg-None"),
        pytest.param(jwt.encode(claims(), "", algorithm="none"), "invalid_algorithm", id="alg-none-pyjwt"),
        pytest.param(jwt.encode(claims(iss="someone-else"), SECRET), "invalid_issuer", id="wrong-issuer"),
        pytest.param(jwt.encode(claims(aud="other-api"), SECRET), "invalid_audience", id="wrong-audience"),
        pytest.param(
            jwt.encode(claims(), "another-secret-that-is-32-bytes-long!!"),
            "invalid_signature",
            id="other-key",
        ),
        pytest.param(jwt.encode(claims(), SECRET * 2, algorithm="HS512"), "invalid_algorithm", id="other-hmac-alg"),
        pytest.param(jwt.encode(claims(nbf=int(time.time()) + 600), SECRET), "token_not_yet_valid", id="not-yet-valid"),
        pytest.param(jwt.encode(claims(exp=None), SECRET), "missing_claim", id="no-exp"),
        pytest.param(jwt.encode(claims(sub=None), SECRET), "missing_claim", id="no-sub"),
        pytest.param(jwt.encode(claims(role=None), SECRET), "missing_claim", id="no-role"),
        pytest.param(jwt.encode(claims(role="admin"), SECRET), "unknown_role", id="unknown-role"),
        pytest.param(jwt.encode(claims(role=["clinician"]), SECRET), "unknown_role", id="role-list"),
        pytest.param(jwt.encode(claims(role={"name": "clinician"}), SECRET), "unknown_role", id="role-object"),
        pytest.param(jwt.encode(claims(role=1), SECRET), "unknown_role", id="role-number"),
        pytest.param(jwt.encode(claims(sub=["clin-1"]), SECRET), "invalid_token", id="sub-list"),
        pytest.param("not-a-jwt", "invalid_token", id="garbage"),
        pytest.param(mint_token(DEV, "clin-1", Role.CLINICIAN)[:-3] + "abc", "invalid_signature", id="tampered"),
    ],
)
async def test_bad_tokens_are_401_with_the_error_body(token: str, code: str) -> None:
    response = await call(token)

    assert_refused(response, 401, code)
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


async def test_a_refusal_logs_the_route_template_never_the_raw_path(capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(DEV)

    @app.get("/orders/{order_id}")
    async def order(order_id: str, principal: Annotated[Principal, Depends(require_roles(Role.OPS))]) -> str:
        return order_id

    planted = "Johanna-Quixbury-742-Evergreen-Terrace"
    refused = await get(app, f"/orders/{planted}", {"Authorization": "Bearer not-a-jwt"})
    forbidden = await get(
        app, f"/orders/{planted}", {"Authorization": f"Bearer {mint_token(DEV, 'pt-1', Role.PATIENT)}"}
    )

    assert (refused.status_code, forbidden.status_code) == (401, 403)
    lines = [line for line in capsys.readouterr().out.splitlines() + capsys.readouterr().err.splitlines()]
    refusals = [line for line in lines if "request refused" in line]
    assert len(refusals) == 2, lines
    assert all("/orders/{order_id}" in line for line in refusals)
    # (the test's own HTTP client logs the URL it called when logging is configured: that line is not the app's)
    assert not [line for line in lines if planted in line and "HTTP Request:" not in line]


async def test_expiry_within_the_leeway_is_accepted() -> None:
    response = await call(mint_token(DEV, "clin-1", Role.CLINICIAN, ttl_seconds=-5))
    assert response.status_code == 200


async def test_a_role_not_allowed_is_403() -> None:
    response = await call(mint_token(DEV, "pt-1", Role.PATIENT))

    assert_refused(response, 403, "forbidden")
    anyone = await call(mint_token(DEV, "pt-1", Role.PATIENT), path="/me")
    assert anyone.json() == {"role": "patient"}


async def test_without_auth_settings_on_the_app_nothing_passes() -> None:
    response = await call(mint_token(DEV, "clin-1", Role.CLINICIAN), settings=None)

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"


def rsa_pair(bits: int = 2048) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return pem_pair(key)


def pem_pair(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> tuple[str, str]:
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private.decode(), public.decode()


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[str, str]:
    return rsa_pair()


async def test_production_keys_accept_rs256_and_refuse_hs256(rsa_keys: tuple[str, str]) -> None:
    private, public = rsa_keys
    production = AuthSettings(jwt_secret=SecretStr(SECRET), jwt_public_key=public)

    accepted = await call(mint_token(production, "ops-1", Role.OPS, private_key=private), production)
    assert accepted.status_code == 200
    assert_refused(await call(mint_token(DEV, "ops-1", Role.OPS), production), 401, "invalid_algorithm")


async def test_the_public_key_used_as_an_hmac_secret_is_refused(rsa_keys: tuple[str, str]) -> None:
    # The classic algorithm-confusion forgery: HS256 "signed" with the verifier's own public key.
    _, public = rsa_keys
    production = AuthSettings(jwt_public_key=public)
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{b64(json.dumps(claims()).encode())}"
    signature = hmac.new(public.encode(), signing_input.encode(), hashlib.sha256).digest()

    assert_refused(await call(f"{signing_input}.{b64(signature)}", production), 401, "invalid_algorithm")


def test_a_public_key_configured_as_the_hmac_secret_is_refused_on_every_token(rsa_keys: tuple[str, str]) -> None:
    # The secret's vetting is kept once it passed; a refused secret is vetted (and refused) again each time.
    _, public = rsa_keys
    misconfigured = AuthSettings(jwt_secret=SecretStr(public))
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims()).encode())}"
    forged = f"{signing_input}.{b64(hmac.new(public.encode(), signing_input.encode(), hashlib.sha256).digest())}"
    for _ in range(3):
        with pytest.raises(AuthError) as refused:
            verify_token(forged, misconfigured)
        assert refused.value.status == 401 and refused.value.code == "invalid_token"
    assert verify_token(mint_token(DEV, "clin-1", Role.CLINICIAN), DEV).subject == "clin-1"  # a good secret still works
    other = AuthSettings(jwt_secret=SecretStr(SECRET + "-other"))
    with pytest.raises(AuthError) as wrong:
        verify_token(mint_token(DEV, "clin-1", Role.CLINICIAN), other)
    assert wrong.value.code == "invalid_signature"


async def test_a_token_signed_by_another_private_key_is_refused(rsa_keys: tuple[str, str]) -> None:
    _, public = rsa_keys
    other_private, _ = rsa_pair()
    production = AuthSettings(jwt_public_key=public)

    token = mint_token(production, "ops-1", Role.OPS, private_key=other_private)
    assert_refused(await call(token, production), 401, "invalid_signature")


def test_es256_keys_work_and_the_pem_may_come_on_one_line() -> None:
    private, public = pem_pair(ec.generate_private_key(ec.SECP256R1()))
    production = AuthSettings(jwt_public_key=public.replace("\n", "\\n"))

    principal = verify_token(mint_token(production, "rx-1", "pharmacy", private_key=private), production)
    assert (principal.subject, principal.role) == ("rx-1", Role.PHARMACY)


def test_unusable_settings_are_refused_at_startup() -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        AuthSettings(jwt_secret=SecretStr("short"))
    with pytest.raises(ValidationError, match="2048 bits"):
        AuthSettings(jwt_public_key=rsa_pair(1024)[1])
    with pytest.raises(ValidationError):
        AuthSettings(jwt_public_key="not a pem")


def test_no_key_configured_refuses_every_token() -> None:
    with pytest.raises(AuthError) as refused:
        verify_token(mint_token(DEV, "clin-1", Role.CLINICIAN), AuthSettings())
    assert refused.value.status == 401


def test_minting_needs_a_key_that_the_settings_accept(rsa_keys: tuple[str, str]) -> None:
    with pytest.raises(ValueError, match="private_key"):
        mint_token(AuthSettings(jwt_secret=SecretStr(SECRET), jwt_public_key=rsa_keys[1]), "x", Role.OPS)
    with pytest.raises(ValueError, match="jwt_secret"):
        mint_token(AuthSettings(), "x", Role.OPS)
    with pytest.raises(ValueError, match="admin"):
        mint_token(DEV, "x", "admin")
