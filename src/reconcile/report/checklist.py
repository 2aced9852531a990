"""A flow's documentation: a Markdown checklist an integration consultant goes through with the customer.

For every mapping it says what is linked to what and how (stored links, merge rules), which values travel
in which direction, what is fixed on create, what the policies are, and what the checker warns about, each
warning a box to tick once the customer has agreed.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingType

from reconcile.config.check import check_flow
from reconcile.model.catalogue import Catalogue
from reconcile.model.flow import Flow


def flow_doc(flow: Flow, catalogues: MappingType[str, Catalogue]) -> str:
    """The Markdown checklist of ``flow``."""
    findings = check_flow(flow, catalogues)
    lines = [f"# {flow.name}", "", f"{flow.source} -> {flow.target}. {flow.description}".strip(), ""]
    blank = "overwrites" if flow.defaults.blank_overwrites else "never overwrites"
    lines += [
        f"Defaults: conflicts settled by `{flow.defaults.conflict}`, deletes `{flow.defaults.delete}`, "
        f"a blank {blank} a filled value.",
        "",
    ]
    kept = {f"mapping[{m.index}]" for m in flow.mappings}
    general = [f for f in findings if f.path.split(".")[0] not in kept]
    if general:
        lines += ["## The flow", ""] + [f"- [ ] {f.level}: {f.message}" for f in general] + [""]
    for m in flow.mappings:
        lines += [f"## {m.name}: {flow.source} {m.source} -> {flow.target} {m.target}", ""]
        merge = " or ".join(" and ".join(f"`{s}` = `{t}`" for s, t in combo) for combo in m.merge)
        lines.append(f"- Linked by: stored links{', then ' + merge if merge else ' only (no merge rule)'}.")
        lines.append(f"- Conflicts: `{m.conflict}`; deletes: `{m.delete}`.")
        if m.refs:
            lines.append(f"- Runs after: {', '.join(m.refs)}.")
        if m.properties:
            lines += ["", "| source | target | type | direction |", "|---|---|---|---|"]
            for p in m.properties:
                source = f"`{p.source}`" if p.source is not None else f"fixed `{p.value}` on create"
                direction = "create only" if p.is_fixed else ("both ways" if p.syncs_back else "source -> target")
                target = f"`{p.target}`" + (f" (via {p.ref})" if p.ref else "")
                lines.append(f"| {source} | {target} | {p.type} | {direction} |")
        else:
            lines.append("- No properties: records are linked and created, no values travel.")
        mine = [f for f in findings if f.path.split(".")[0] == f"mapping[{m.index}]"]
        if mine:
            lines += ["", "To agree with the customer:", ""] + [f"- [ ] {f.level}: {f.message}" for f in mine]
        lines.append("")
    return "\n".join(lines)
