"""The rules live in the project: every configuration key is named in ``docs/``.

A key is documented when a page of ``docs/`` names its dotted path in backticks, e.g.
`` `efs.window_days` ``; the items of a list of sections are written with ``[]``
(`` `dlt.rules[].min_grade` ``). A new key without its rule in the docs fails here.
"""

from __future__ import annotations

import typing
from pathlib import Path

from pydantic import BaseModel

from cart19.config import Config

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _section_of(annotation: object) -> type[BaseModel] | None:
    """The section model inside a field's type: ``X``, ``X | None``, ``tuple[X, ...]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _section_of(arg)
        if found is not None:
            return found
    return None


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        inner = _section_of(info.annotation)
        if inner is None:
            keys.append(path)
            continue
        is_list = typing.get_origin(info.annotation) in (tuple, list)
        if is_list:
            keys.append(path)
        keys.extend(_keys(inner, f"{path}[]." if is_list else f"{path}."))
    return keys


def test_the_key_walk_finds_nested_keys():
    keys = _keys(Config)
    assert "os.window_days" in keys
    assert "dlt.rules[].min_grade" in keys
    assert "efs.parameters[].failure_date" in keys


def test_every_configuration_key_is_documented():
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md")))
    missing = [key for key in _keys(Config) if f"`{key}`" not in text]
    assert not missing, f"configuration keys not named in docs/: {missing}"


def test_help_and_config_point_to_the_docs():
    from typer.testing import CliRunner

    from cart19.cli import app

    runner = CliRunner()
    assert "docs/" in runner.invoke(app, ["--help"]).output
    assert "docs/endpoints.md" in runner.invoke(app, ["config"]).output
