"""One mutating command at a time per plugin folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.errors import ContractError
from domain.marketplace.layout import PluginLayout
from domain.marketplace.lock import folder_lock


def test_second_holder_gives_up_with_err_cache_002(tmp_path: Path) -> None:
    layout = PluginLayout(tmp_path / ".claude-plugin")
    waited: list[float] = []
    with folder_lock(layout, 1.0):
        with pytest.raises(ContractError) as caught, \
                folder_lock(layout, 0.0, sleep=waited.append):
            pass
        assert caught.value.code == "ERR-CACHE-002"
    with folder_lock(layout, 0.0):  # released: free again
        pass
