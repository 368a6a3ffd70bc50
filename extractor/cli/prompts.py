"""`extractor prompts`: list, show, render and diff versioned prompts."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from extractor.core.errors import ExtractorError

from .common import BaseUrlOpt, ModelOpt, app, fail, settings_from

prompts_app = typer.Typer(help="List, show, render and diff versioned prompts.", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")


@prompts_app.command("list")
def prompts_list() -> None:
    """Every prompt version with its hash and what changed."""
    from extractor.core.prompts import available, load_prompt

    for name, versions in available().items():
        for version in versions:
            prompt = load_prompt(f"{name}@v{version}")
            typer.echo(f"{prompt.id:<16} {prompt.hash}  {prompt.description}")


@prompts_app.command("show")
def prompts_show(prompt_id: Annotated[str, typer.Argument(help="NAME or NAME@vN")]) -> None:
    """Print a prompt file as stored."""
    from extractor.core.prompts import load_prompt

    try:
        prompt = load_prompt(prompt_id)
    except ExtractorError as exc:
        fail(str(exc))
    typer.echo(f"# {prompt.id}  hash {prompt.hash}  ({prompt.path})")
    typer.echo(prompt.path.read_text(encoding="utf-8"))


@prompts_app.command("render")
def prompts_render(
    prompt_id: Annotated[str, typer.Argument(help="NAME or NAME@vN")],
    path: Annotated[str, typer.Argument(help="A document (.txt .md .html .jsonl) or - for stdin.")],
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
) -> None:
    """Print the exact messages and JSON schema that would be sent for a document (to this model).

    The embedded default sends nothing (it reads the document by rules): `guided` shows what it answers.
    """
    from extractor.core.calls.strategies import render_preview
    from extractor.core.documents import iter_documents
    from extractor.core.pipeline import Extractor

    try:
        extractor = Extractor(settings_from(model=model, base_url=base_url), prompt=prompt_id)
    except ExtractorError as exc:
        fail(str(exc))
    for item in iter_documents([path]):
        if isinstance(item, ExtractorError):
            fail(str(item))
        answer = extractor.answer_model_for(item)
        preview = {"article_id": item.id, **render_preview(extractor.prompt, item, answer)}
        if extractor.guided:
            # The embedded default sends nothing: it reads the document by rules (calls/guided.py).
            from extractor.core.calls.guided import preview as guided_preview

            preview["guided"] = guided_preview(item)
        typer.echo(json.dumps(preview, indent=2, ensure_ascii=False))


@prompts_app.command("diff")
def prompts_diff(
    a: Annotated[str, typer.Argument(help="First prompt id")],
    b: Annotated[str, typer.Argument(help="Second prompt id")],
) -> None:
    """Unified diff of two prompt versions."""
    from extractor.core.prompts import diff_prompts, load_prompt

    try:
        pa, pb = load_prompt(a), load_prompt(b)
    except ExtractorError as exc:
        fail(str(exc))
    typer.echo(diff_prompts(pa, pb) or f"{pa.id} and {pb.id} are identical")
