"""``reconcile flows``: list the flows, hold them against the catalogues, show one, write its checklist."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconcile.cli.options import FlowsArg

flows_app = typer.Typer(help="List, check and show flow files.", no_args_is_help=True)


@flows_app.command("list")
def flows_list(folder: Annotated[Path, typer.Argument(help="Folder of flow files.")] = Path("flows")) -> None:
    """List the flows in a folder: name, source -> target, mappings."""
    from reconcile.app.flows import flow_files  # when it runs (reconcile.cli.main says why)
    from reconcile.config.flow import load_flow

    for path in flow_files([folder]):
        flow = load_flow(path)
        typer.echo(f"{flow.name:<32} {flow.source} -> {flow.target}  ({len(flow.mappings)} mappings)  {path}")


@flows_app.command("check")
def flows_check(flows: FlowsArg) -> None:
    """Hold flows against the systems' catalogues: errors exit 2, warnings are printed."""
    from reconcile.app.flows import check_flow_file, flow_files

    errors = 0
    for path in flow_files(flows):
        checked = check_flow_file(path)
        errors += checked.errors
        if checked.problem is not None:
            typer.echo(checked.problem, err=True)
            continue
        for finding in checked.findings:
            typer.echo(f"{finding.level}: {finding}", err=finding.level == "error")
        if not checked.errors and checked.flow is not None:
            typer.echo(f"ok: {path} ({len(checked.flow.mappings)} mappings, {checked.warnings} warnings)")
    if errors:
        raise typer.Exit(2)


@flows_app.command("show")
def flows_show(flow_path: Annotated[Path, typer.Argument(help="A flow file.")]) -> None:
    """Show a flow's mappings, merge rules, properties and policies."""
    from reconcile.config.flow import load_flow

    flow = load_flow(flow_path)
    typer.echo(f"{flow.name}: {flow.source} -> {flow.target}")
    if flow.description:
        typer.echo(flow.description.strip())
    for m in flow.mappings:
        merge = " or ".join(" and ".join(f"{s} = {t}" for s, t in c) for c in m.merge) or "-"
        typer.echo(
            f"\n[{m.name}] {m.source} -> {m.target}   merge: {merge}   conflict: {m.conflict}   delete: {m.delete}"
        )
        for p in m.properties:
            left = p.source if p.source is not None else f"= {p.value!r}"
            extra = "".join([f"  ref {p.ref}" if p.ref else "", "  (forward only)" if p.direction == "forward" else ""])
            typer.echo(f"    {left} -> {p.target} ({p.type}){extra}")


@flows_app.command("doc")
def flows_doc(
    flow_path: Annotated[Path, typer.Argument(help="A flow file.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the Markdown here.")] = None,
) -> None:
    """Write a flow's documentation: a Markdown checklist of its mappings, values, policies and warnings."""
    from reconcile.app.flows import catalogues_of
    from reconcile.config.flow import load_flow
    from reconcile.report.checklist import flow_doc

    flow = load_flow(flow_path)
    text = flow_doc(flow, catalogues_of(flow, flow_path))
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"written: {output}")
