"""Identity validation: RFC 4122 versions 1-5, missing apart from malformed."""

from __future__ import annotations

import pytest

from common.errors import ContractError
from domain.exam.identity import is_rfc4122, parse_session_id, validate_identity

USER = "550e8400-e29b-41d4-a716-446655440000"  # the contract's user id (v4)
SESSION = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"  # the contract's session id (v1)
ENV = "7c9e6679-7425-40de-944b-e07fc1f90ae7"  # the contract's environment id (v4)


def test_the_contract_example_ids_validate() -> None:
    identity = validate_identity(USER, SESSION, None)
    assert identity.as_json() == {"user_id": USER, "exam_session_id": SESSION,
                                  "environment_id": None}
    assert validate_identity(USER, SESSION, ENV).environment_id == ENV


def test_uppercase_is_accepted_and_canonicalized() -> None:
    assert validate_identity(USER.upper(), SESSION, None).user_id == USER


@pytest.mark.parametrize("value", [
    "6ba7b810-9dad-01d1-80b4-00c04fd430c8",  # version 0
    "6ba7b810-9dad-61d1-80b4-00c04fd430c8",  # version 6 is not RFC 4122
    "6ba7b810-9dad-11d1-c0b4-00c04fd430c8",  # Microsoft variant
    "6ba7b8109dad11d180b400c04fd430c8",  # no hyphens
    "{6ba7b810-9dad-11d1-80b4-00c04fd430c8}",
    "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    "6ba7b810-9dad-11d1-80b4-00c04fd430c8x",
    "../../etc/passwd",
])
def test_malformed_values_are_rejected(value: str) -> None:
    assert not is_rfc4122(value)


def test_missing_fields_lists_every_missing_component() -> None:
    with pytest.raises(ContractError) as caught:
        validate_identity(None, "  ", None)
    err = caught.value
    assert (err.code, err.exit_code) == ("INVALID_IDENTITY", 3)
    assert err.details == {"missing_fields": ["user_id", "exam_session_id"], "invalid_fields": []}
    assert err.message == "Missing required identity components: user_id, exam_session_id"


def test_the_contract_error_example() -> None:
    with pytest.raises(ContractError) as caught:
        validate_identity(None, SESSION, None)
    assert caught.value.message == "Missing required identity component: user_id"
    assert caught.value.details["missing_fields"] == ["user_id"]


def test_malformed_is_reported_apart_from_missing() -> None:
    with pytest.raises(ContractError) as caught:
        validate_identity(None, "not-a-uuid", "also-bad")
    assert caught.value.details == {"missing_fields": ["user_id"],
                                    "invalid_fields": ["exam_session_id", "environment_id"]}


def test_parse_session_id() -> None:
    assert parse_session_id(SESSION.upper()) == SESSION
    with pytest.raises(ContractError) as caught:
        parse_session_id("nope")
    assert caught.value.exit_code == 3 and caught.value.details["invalid_fields"] == ["session_id"]
