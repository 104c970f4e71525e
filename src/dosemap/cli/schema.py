"""``dosemap schema``: the JSON Schema of the files dosemap reads and writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel

from dosemap.domain.errors import UnknownNameError

app = typer.Typer(help="Print or write the JSON Schema of dosemap's file formats.")


def _models() -> dict[str, type[BaseModel]]:
    from dosemap.domain.plan import Plan

    models: dict[str, type[BaseModel]] = {"plan": Plan}
    try:
        from dosemap.domain.intake import Intake
        from dosemap.domain.safety import SessionContext
    except ImportError:  # pragma: no cover - present once the safety module lands
        return models
    models["intake"] = Intake
    models["context"] = SessionContext
    return models


@app.callback(invoke_without_command=True)
def schema(
    name: Annotated[
        str | None, typer.Argument(help="Which format (plan, intake, context); all if omitted.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write <name>.schema.json files into this folder.")
    ] = None,
) -> None:
    """Print (or write) the JSON Schema of the plan, intake and session-context files."""
    models = _models()
    if name is not None and name not in models:
        raise UnknownNameError("name", name, models)
    chosen = {name: models[name]} if name else models
    documents = {key: model.model_json_schema() for key, model in chosen.items()}
    if out is None:
        payload = documents[name] if name else documents
        typer.echo(json.dumps(payload, indent=2, sort_keys=True))
        return
    out.mkdir(parents=True, exist_ok=True)
    for key, document in documents.items():
        target = out / f"{key}.schema.json"
        target.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        typer.echo(str(target))
