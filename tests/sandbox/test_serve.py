"""``sandbox serve`` writes a connections file that reads back exactly, whatever the paths hold."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from reconcile.sandbox.serve import serve_sandboxes

DATA = Path(__file__).resolve().parents[2] / "data" / "sandbox"


def test_the_connections_file_quotes_paths_with_quotes_and_backslashes(tmp_path: Path) -> None:
    folder = tmp_path / 'a "quoted" \\ folder'
    for name in ("exact", "poweroffice"):
        shutil.copytree(DATA / name, folder / name)
    text, env, close = serve_sandboxes(folder / "exact", folder / "poweroffice")
    close()
    tables = tomllib.loads(text)
    assert Path(tables["exact"]["token_file"]) == folder / "exact" / "served-tokens.json"
    assert tables["poweroffice"]["v1_base_url"] == tables["poweroffice"]["base_url"] + "/v1"
    assert set(env) == {
        tables["exact"]["client_secret_env"],
        *(tables["poweroffice"][key] for key in ("application_key_env", "client_key_env", "subscription_key_env")),
    }
