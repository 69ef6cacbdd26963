"""Bundle id and file name: known answers."""

from __future__ import annotations

import hashlib

from domain.oord.bundle import bundle_file_name, bundle_id, parse_bundle_file_name


def test_bundle_id_known_answer() -> None:
    entries = [("manifest.json", "aa" * 32), ("files/x", "bb" * 32)]
    # Sorted by name, each entry contributes its UTF-8 name and the raw 32-byte digest
    data = b"files/x" + b"\xbb" * 32 + b"manifest.json" + b"\xaa" * 32
    assert bundle_id(entries) == hashlib.sha256(data).hexdigest()[:16]
    assert bundle_id(entries) == "9a2d43c180326ba9"


def test_bundle_id_ignores_input_order_and_sees_every_byte() -> None:
    a = [("a", "00" * 32), ("b", "11" * 32)]
    assert bundle_id(a) == bundle_id(list(reversed(a)))
    assert bundle_id(a) != bundle_id([("a", "00" * 32), ("b", "10" * 32)])
    assert bundle_id(a) != bundle_id([("a", "00" * 32), ("c", "11" * 32)])


def test_file_name_round_trip() -> None:
    name = bundle_file_name("cid:sha256:" + "ab" * 32, "0123456789abcdef")
    assert name == "oord_bundle_abababababababab_0123456789abcdef.zip"
    assert parse_bundle_file_name(name) == ("abababababababab", "0123456789abcdef")
    assert parse_bundle_file_name("tampered.zip") is None
    assert parse_bundle_file_name("x" + name) is None
