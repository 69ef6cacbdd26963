from __future__ import annotations

import uuid

import pytest

from domain.synora.errors import SynoraError
from domain.synora.ids import new_operation_id, validate_operation_id, validate_package_id


@pytest.mark.parametrize("package_id", ["Git.Git", "Mozilla.Firefox", "python3.11", "7zip",
                                        "a+b@c-d_e", "x" * 128])
def test_good_package_ids(package_id: str) -> None:
    assert validate_package_id(package_id) == package_id


@pytest.mark.parametrize(("package_id", "exit_code"), [
    ("../x", 3), ("a/b", 3), ("a\\b", 3), ("..", 3), (".", 3), ("a..b", 3), ("a\x00b", 3),
    ("", 2), ("has space", 2), (".hidden", 2), ("x" * 129, 2), ("tab\there", 2), ("é", 2),
])
def test_bad_package_ids(package_id: str, exit_code: int) -> None:
    with pytest.raises(SynoraError) as caught:
        validate_package_id(package_id)
    assert caught.value.exit_code == exit_code


def test_operation_ids_are_random_uuid4() -> None:
    ids = {new_operation_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert {uuid.UUID(value).version for value in ids} == {4}


def test_operation_id_validation() -> None:
    value = new_operation_id()
    assert validate_operation_id(value.upper()) == value
    for bad in ("nope", "../../etc", "{" + value + "}", value.replace("-", "")):
        with pytest.raises(SynoraError) as caught:
            validate_operation_id(bad)
        assert caught.value.exit_code == 2
