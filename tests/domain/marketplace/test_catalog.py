"""marketplace.json: loading from folders and URLs, validation, where sources may point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.errors import ContractError
from domain.marketplace.catalog import load_marketplace, parse_plugins
from tests.domain.marketplace.conftest import RecordingFetcher
from tests.support.plugin_market import Market, serve

SHA = "a" * 64


def entry(**changes: object) -> dict[str, object]:
    base = {"id": "p", "version": "1.0.0",
            "versions": [{"version": "1.0.0", "source": "p.tgz", "sha256": SHA}]}
    base.update(changes)
    return base


@pytest.mark.parametrize(("plugin", "where"), [
    (entry(id="Not Kebab"), "plugins[0].id"),
    (entry(version="1.0"), "plugins[0].version"),
    (entry(versions=[]), "plugins[0].versions"),
    (entry(version="2.0.0"), "plugins[0].version"),
    (entry(versions=[{"version": "1.0.0", "source": "p.tgz", "sha256": "xyz"}]),
     "plugins[0].versions[0].sha256"),
    (entry(versions=[{"version": "1.0.0", "sha256": SHA}]), "plugins[0].versions[0].source"),
])
def test_invalid_entries_name_the_place(plugin: dict[str, object], where: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_plugins({"plugins": [plugin]}, "m")
    assert caught.value.code == "ERROR-DISC-002"
    assert caught.value.details["context"]["at"] == where


def test_duplicates_are_refused() -> None:
    with pytest.raises(ContractError):
        parse_plugins({"plugins": [entry(), entry()]}, "m")


def test_sha256_prefix_and_case_are_normalised() -> None:
    plugins = parse_plugins({"plugins": [entry(versions=[
        {"version": "1.0.0", "source": "p.tgz", "sha256": "sha256:" + "A" * 64}])]}, "m")
    assert plugins["p"].versions["1.0.0"].sha256 == "a" * 64


def test_folder_layouts(tmp_path: Path, fetcher: RecordingFetcher) -> None:
    (tmp_path / ".claude-plugin").mkdir()
    (tmp_path / ".claude-plugin" / "marketplace.json").write_text(
        json.dumps({"plugins": [entry()]}))
    market = load_marketplace(str(tmp_path), fetcher)
    assert market.base == str(tmp_path) and not market.remote
    assert market.resolve("p.tgz").location == str((tmp_path / "p.tgz").resolve())


def test_local_sources_stay_inside(tmp_path: Path, fetcher: RecordingFetcher) -> None:
    market = Market(tmp_path / "m")
    market.add("p", "1.0.0", fmt="folder")
    (tmp_path / "secret").mkdir()
    (market.root / "escape").symlink_to(tmp_path / "secret")
    loaded = load_marketplace(str(market.root), fetcher)
    assert loaded.resolve("plugins/p/1.0.0").kind == "folder"
    for source in ("../secret", "/etc", "escape", "plugins/../../secret", "file:///etc/x",
                   "plugins\\..\\..\\x", "%2e%2e/secret"):
        with pytest.raises(ContractError) as caught:
            loaded.resolve(source)
        assert caught.value.code == "ERROR-PERM-002", source


def test_remote_sources_resolve_against_the_url(tmp_path: Path,
                                                fetcher: RecordingFetcher) -> None:
    Market(tmp_path / "m").add("p", "1.0.0")
    with serve(tmp_path / "m") as server:
        market = load_marketplace(f"{server.url}/?token=t0k", fetcher)
        assert server.hits["/marketplace.json"] == 1
    source = market.resolve("archives/p-1.0.0.tar.gz")
    assert source.location == f"{server.url}/archives/p-1.0.0.tar.gz?token=t0k"
    assert source.shown.endswith("?token=***")
    assert market.resolve("https://cdn.example/p.zip").location == "https://cdn.example/p.zip"
    for bad, code in (("../p.tgz", "ERROR-PERM-002"), ("archives/p", "ERROR-INST-001")):
        with pytest.raises(ContractError) as caught:
            market.resolve(bad)
        assert caught.value.code == code


def test_not_json(tmp_path: Path, fetcher: RecordingFetcher) -> None:
    (tmp_path / "marketplace.json").write_text("{")
    with pytest.raises(ContractError) as caught:
        load_marketplace(str(tmp_path), fetcher)
    assert caught.value.code == "ERROR-DISC-002"
