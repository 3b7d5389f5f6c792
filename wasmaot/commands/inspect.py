"""The report of `wasmaot inspect`: a module's structure as plain data, and its text form.

`inspect_module` returns a JSON-ready dict (the `--json` output); `format_report`
renders the same dict as text.  Index spaces follow the spec (imports first), and
every entity says whether it is imported (`"import": "module.name"`) or defined.
"""

from __future__ import annotations

import json
from typing import Any

from wasmaot.wasm.module import Module

LARGEST_FUNCTIONS = 10

_SECTION_NAMES = {
    0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
    6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
    12: "datacount", 13: "tag",
}


def _limits(limits: Any) -> dict[str, Any]:
    return {
        "address_type": "i64" if limits.is64 else "i32",
        "min": limits.min,
        "max": limits.max,
    }


def _limits_str(limits: Any, unit: str = "") -> str:
    rng = f"{limits.min}..{'' if limits.max is None else limits.max}"
    return f"{'i64' if limits.is64 else 'i32'} {rng}{unit}"


def _functype_str(module: Module, typeidx: int) -> str:
    try:
        comp = module.types[typeidx].comp
    except (IndexError, AttributeError):
        return f"type {typeidx}"
    return f"type {typeidx} {comp}"


def _export_names(module: Module, kind: str, index: int) -> list[str]:
    return [exp.name for exp in module.exports if exp.kind == kind and exp.index == index]


def _entities(module: Module, kind: str, defined: list, describe) -> list[dict[str, Any]]:
    """One dict per entity of `kind`'s index space: imports first, then `defined`."""
    imported = [imp for imp in module.imports if imp.kind == kind]
    rows = []
    for index, (source, desc) in enumerate(
        [(f"{imp.module}.{imp.name}", imp.desc) for imp in imported] + [(None, d) for d in defined]
    ):
        row = {"index": index, "import": source}
        row.update(describe(desc))
        row["exports"] = _export_names(module, kind, index)
        rows.append(row)
    return rows


def _memory(memtype: Any) -> dict[str, Any]:
    limits = memtype.limits
    row = _limits(limits)
    row["shared"] = bool(getattr(limits, "shared", False))
    row["page_size"] = 1 << getattr(limits, "page_size_log2", 16)
    return row


def _table(tabletype: Any) -> dict[str, Any]:
    row = {"reftype": str(tabletype.reftype)}
    row.update(_limits(tabletype.limits))
    return row


def _global(globaltype: Any) -> dict[str, Any]:
    return {"type": str(globaltype.valtype), "mutable": bool(globaltype.mutable)}


def inspect_module(module: Module, *, file: str | None = None) -> dict[str, Any]:
    """The structure of `module` as a JSON-ready dict."""
    sections = [
        {"id": s.id, "name": _SECTION_NAMES.get(s.id, s.name or "unknown"), "offset": s.offset, "size": s.size}
        for s in module.sections
    ]
    known = {(s["offset"], s["size"]) for s in sections}
    for custom in module.customs:  # list custom sections too, if the decoder keeps them apart
        if (custom.offset, custom.size) not in known:
            sections.append({"id": 0, "name": "custom", "offset": custom.offset, "size": custom.size})
    sections.sort(key=lambda s: s["offset"])
    for s in sections:
        if s["id"] == 0:
            match = next((c for c in module.customs if c.offset == s["offset"]), None)
            s["custom_name"] = match.name if match else None

    num_imported = module.num_imported_funcs
    imports = []
    for imp in module.imports:
        if imp.kind == "func":
            desc = _functype_str(module, imp.desc)
        elif imp.kind == "memory":
            desc = _limits_str(imp.desc.limits, " pages")
        elif imp.kind == "table":
            desc = f"{imp.desc.reftype} {_limits_str(imp.desc.limits)}"
        elif imp.kind == "global":
            desc = f"{'mut ' if imp.desc.mutable else ''}{imp.desc.valtype}"
        elif imp.kind == "tag":
            desc = _functype_str(module, imp.desc.typeidx)
        else:
            desc = str(imp.desc)
        imports.append({"module": imp.module, "name": imp.name, "kind": imp.kind, "type": desc})

    largest = sorted(
        ((code.size, num_imported + i) for i, code in enumerate(module.codes)),
        key=lambda pair: (-pair[0], pair[1]),
    )[:LARGEST_FUNCTIONS]

    return {
        "file": file,
        "module_name": module.names.module,
        "size": len(module.data),
        "sections": sections,
        "types": len(module.types),
        "imports": imports,
        "exports": [{"name": e.name, "kind": e.kind, "index": e.index} for e in module.exports],
        "functions": {
            "imported": num_imported,
            "defined": len(module.funcs),
            "total": num_imported + len(module.funcs),
        },
        "memories": _entities(module, "memory", list(module.memories), _memory),
        "tables": _entities(module, "table", [t.type for t in module.tables], _table),
        "globals": _entities(module, "global", [g.type for g in module.globals], _global),
        "tags": _entities(
            module, "tag", list(module.tags),
            lambda tag: {"type_index": tag.typeidx, "type": _functype_str(module, tag.typeidx)},
        ),
        "start": module.start,
        "largest_functions": [
            {"index": index, "name": module.func_name(index), "size": size} for size, index in largest
        ],
        "custom_sections": [{"name": c.name, "offset": c.offset, "size": c.size} for c in module.customs],
    }


# --- text rendering ------------------------------------------------------------


def _table_lines(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """Rows aligned in columns; columns in `right` are right-aligned (numbers)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for row in [header, *rows]:
        cells = [
            str(cell).rjust(widths[i]) if i in right else str(cell).ljust(widths[i]) for i, cell in enumerate(row)
        ]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def _quote(name: str) -> str:
    """A name as a one-line quoted string (names may hold any Unicode)."""
    return json.dumps(name, ensure_ascii=False)


def _origin(row: dict[str, Any]) -> str:
    parts = []
    if row.get("import"):
        parts.append(f"import {row['import']}")
    for name in row.get("exports", []):
        parts.append(f"export {_quote(name)}")
    return ", ".join(parts)


def _limits_text(row: dict[str, Any]) -> str:
    return f"{row['address_type']} {row['min']}..{'' if row['max'] is None else row['max']}"


def format_report(report: dict[str, Any]) -> str:
    """`report` (from `inspect_module`) as human-readable text, without a final newline."""
    lines = [f"{report['file']}: {report['size']} bytes"]
    if report["module_name"] is not None:
        lines.append(f"module name: {_quote(report['module_name'])}")

    lines.append(f"sections ({len(report['sections'])}):")
    if report["sections"]:
        lines += _table_lines(
            ["id", "name", "offset", "size"],
            [
                [
                    s["id"],
                    s["name"] + (f" {_quote(s['custom_name'])}" if s.get("custom_name") is not None else ""),
                    f"{s['offset']:#x}",
                    s["size"],
                ]
                for s in report["sections"]
            ],
            right={0, 2, 3},
        )

    lines.append(f"types: {report['types']}")
    funcs = report["functions"]
    lines.append(f"functions: {funcs['total']} ({funcs['imported']} imported, {funcs['defined']} defined)")
    if report["start"] is not None:
        lines.append(f"start: func {report['start']}")

    lines.append(f"imports ({len(report['imports'])}):")
    if report["imports"]:
        lines += _table_lines(
            ["kind", "name", "type"],
            [[i["kind"], f"{i['module']}.{i['name']}", i["type"]] for i in report["imports"]],
            right=set(),
        )

    lines.append(f"exports ({len(report['exports'])}):")
    if report["exports"]:
        lines += _table_lines(
            ["kind", "index", "name"],
            [[e["kind"], e["index"], _quote(e["name"])] for e in report["exports"]],
            right={1},
        )

    lines.append(f"memories ({len(report['memories'])}):")
    if report["memories"]:
        lines += _table_lines(
            ["index", "limits (pages)", "page size", "shared", "origin"],
            [
                [m["index"], _limits_text(m), m["page_size"], "yes" if m["shared"] else "no", _origin(m)]
                for m in report["memories"]
            ],
            right={0, 2},
        )

    lines.append(f"tables ({len(report['tables'])}):")
    if report["tables"]:
        lines += _table_lines(
            ["index", "type", "limits", "origin"],
            [[t["index"], t["reftype"], _limits_text(t), _origin(t)] for t in report["tables"]],
            right={0},
        )

    lines.append(f"globals ({len(report['globals'])}):")
    if report["globals"]:
        lines += _table_lines(
            ["index", "type", "origin"],
            [[g["index"], ("mut " if g["mutable"] else "") + g["type"], _origin(g)] for g in report["globals"]],
            right={0},
        )

    lines.append(f"tags ({len(report['tags'])}):")
    if report["tags"]:
        lines += _table_lines(
            ["index", "type", "origin"],
            [[t["index"], t["type"], _origin(t)] for t in report["tags"]],
            right={0},
        )

    largest = report["largest_functions"]
    lines.append(f"largest functions ({len(largest)} of {funcs['defined']} defined):")
    if largest:
        lines += _table_lines(
            ["index", "size", "name"],
            [[f["index"], f["size"], _quote(f["name"]) if f["name"] is not None else "-"] for f in largest],
            right={0, 1},
        )

    customs = report["custom_sections"]
    lines.append(f"custom sections ({len(customs)}):")
    if customs:
        lines += _table_lines(
            ["name", "offset", "size"],
            [[_quote(c["name"]), f"{c['offset']:#x}", c["size"]] for c in customs],
            right={1, 2},
        )
    return "\n".join(lines)
