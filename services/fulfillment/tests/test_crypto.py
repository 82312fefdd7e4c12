"""Envelope encryption: a data key opens only its own values in their own place; the master key wraps keys."""

from __future__ import annotations

import base64
import os
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hearth.fulfillment.settings import FulfillmentSettings
from hearth.kit.crypto import MasterKey, Unreadable

KEY_ID = uuid.uuid4()


def test_a_value_opens_with_its_key_in_its_place_only():
    master = MasterKey(os.urandom(32))
    key, wrapped = master.new_data_key("pt-001", KEY_ID)
    sealed = key.seal("742 Evergreen Terrace", "ord-1", "address_line1", str(KEY_ID))
    assert b"Evergreen" not in sealed and b"742" not in sealed
    assert master.unwrap(wrapped, "pt-001", KEY_ID).open(sealed, "ord-1", "address_line1", str(KEY_ID)) == (
        "742 Evergreen Terrace"
    )
    for place in (("ord-2", "address_line1", str(KEY_ID)), ("ord-1", "city", str(KEY_ID))):
        with pytest.raises(Unreadable):
            key.open(sealed, *place)
    other, _ = master.new_data_key("pt-001", uuid.uuid4())
    with pytest.raises(Unreadable):
        other.open(sealed, "ord-1", "address_line1", str(KEY_ID))


def test_a_wrapped_key_opens_only_with_its_master_key_for_its_patient():
    master = MasterKey(os.urandom(32))
    _, wrapped = master.new_data_key("pt-001", KEY_ID)
    with pytest.raises(Unreadable):
        MasterKey(os.urandom(32)).unwrap(wrapped, "pt-001", KEY_ID)
    with pytest.raises(Unreadable):
        master.unwrap(wrapped, "pt-002", KEY_ID)
    assert MasterKey(b"k" * 32).key_id == MasterKey(b"k" * 32).key_id != master.key_id


@given(st.text(max_size=300), st.integers(0, 200))
def test_sealing_round_trips_and_any_altered_byte_is_detected(text, position):
    master = MasterKey(b"m" * 32)
    key, _ = master.new_data_key("pt-001", KEY_ID)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return
    sealed = key.seal(text, "ord-1", "city")
    assert key.open(sealed, "ord-1", "city") == text
    altered = bytearray(sealed)
    altered[position % len(sealed)] ^= 0x01
    with pytest.raises(Unreadable):
        key.open(bytes(altered), "ord-1", "city")


def test_the_same_value_seals_differently_each_time():
    key, _ = MasterKey(b"m" * 32).new_data_key("pt-001", KEY_ID)
    assert key.seal("Johanna", "o", "c") != key.seal("Johanna", "o", "c")
    assert "secret" in repr(key)


@pytest.mark.parametrize(
    "value", ["", "not base64!", base64.b64encode(b"short").decode(), base64.b64encode(os.urandom(33)).decode()]
)
def test_an_unusable_master_key_is_refused_without_echoing_it(value):
    with pytest.raises(ValueError, match="master_key") as refused:
        FulfillmentSettings(database_url="postgresql://x/y", master_key=value)
    if value:
        assert value not in str(refused.value)


def test_the_master_key_is_a_secret_in_the_settings():
    key = base64.b64encode(os.urandom(32)).decode()
    settings = FulfillmentSettings(database_url="postgresql://x/y", master_key=key)
    assert key not in repr(settings) and settings.master_key_bytes() == base64.b64decode(key)
