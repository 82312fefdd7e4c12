"""`hearth token ROLE`: a development bearer token, signed with HEARTH_JWT_SECRET."""

from __future__ import annotations

import argparse
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..auth import AuthSettings, Role, mint_token


class _TokenSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEARTH_", extra="ignore")
    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "hearth"
    jwt_audience: str = "hearth-api"


def register(commands: Any) -> None:
    token = commands.add_parser("token", help="mint a development bearer token")
    token.add_argument("role", choices=[r.value for r in Role])
    token.add_argument("--subject", default="dev-user", help="pseudonymous id of the caller")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    token.set_defaults(run=mint)


def mint(args: argparse.Namespace) -> int:
    config = _TokenSettings()
    if config.jwt_secret is None:
        print("HEARTH_JWT_SECRET is not set")
        return 2
    auth = AuthSettings(jwt_secret=config.jwt_secret, jwt_issuer=config.jwt_issuer, jwt_audience=config.jwt_audience)
    print(mint_token(auth, args.subject, Role(args.role), ttl_seconds=args.ttl))
    return 0
