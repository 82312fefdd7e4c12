"""Configuration of the fulfillment service: the kit's HEARTH_* settings plus the box policy and the master key."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from hearth.kit.settings import KitSettings


class FulfillmentSettings(KitSettings):
    # A refused value is never repeated in the error: it may be (part of) the master key.
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    master_key: SecretStr = Field(  # required here (migrate too): shipping details are sealed with it
        description="Base64 of 32 random bytes: the key that wraps every patient's data key (envelope "
        "encryption of shipping details and notes). Keep it in a secret store; losing it makes every stored address "
        "unreadable. Generate with `python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())'`."
    )
    box_size: int = Field(
        default=8, ge=1, le=24, description="Doses per box of an Extended plan (the last box takes the rest)"
    )
    next_box_threshold: int = Field(
        default=2,
        ge=1,
        le=24,
        description="The next box of an Extended plan is created when the doses on hand fall below this",
    )
    rules_file: str | None = Field(
        default=None,
        description="Path of the clinical rules file (TOML); unset: the file shipped with the service. The Schedule"
        " III limits (fill window, refills) come from it; re-read when it changes",
    )
    carrier_clock_skew_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How far in the future a carrier's delivered_at may lie (clock skew) before it is refused",
    )
