"""A plan for people: a text summary and an SVG drawing of the graph coloured by site."""

from __future__ import annotations

import textwrap
from html import escape

from openeo_dedl.formats import human_bytes
from openeo_dedl.planning.partition import Plan

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948")


def _names(nodes, limit: int = 6) -> str:
    shown = ", ".join(nodes[:limit])
    return shown if len(nodes) <= limit else f"{shown}, … ({len(nodes)} nodes)"


def explain(plan: Plan) -> str:
    """A short text report: partitions, transfers with estimated bytes, the naive baseline."""
    sites = sorted({p.site for p in plan.partitions})
    lines = [
        f"Plan: {len(plan.partitions)} partition(s) at {len(sites)} site(s) "
        f"({', '.join(sites)}); result '{plan.result_node}' saved at {plan.result_site} "
        f"(strategy: {plan.strategy})",
        f"Estimated bytes crossing sites: {human_bytes(plan.planned_bytes)} "
        f"(naive, all raw inputs shipped to {plan.naive_site}: "
        f"{human_bytes(plan.naive_bytes)})",
        "",
        "Partitions, in order:",
    ]
    width = max((len(p.site) for p in plan.partitions), default=4)
    for p in plan.partitions:
        line = f"  {p.id:<5} {p.site:<{width}}  {_names(list(p.nodes))}"
        if p.inputs:
            line += f"  ← {_names(list(p.inputs), 4)}"
        lines.append(line)
    lines.append("")
    if plan.transfers:
        lines.append("Transfers:")
        for t in plan.transfers:
            lines.append(
                f"  {t.node}: {t.from_site} → {t.to_site}  {human_bytes(t.bytes)}  "
                f"({t.from_partition} → {', '.join(t.to_partitions)})"
            )
    else:
        lines.append("Transfers: none (nothing crosses sites)")
    if plan.load_options:
        lines.append("")
        lines.append("Loads:")
        for node, options in plan.load_options.items():
            args = plan.graph.arguments(node)
            lines.append(
                f"  {node} ({args.get('id')}): at {plan.node_sites[node]}, "
                f"{human_bytes(plan.node_bytes.get(node, 0))}"
                + (f" (replicas: {', '.join(options)})" if len(options) > 1 else "")
            )
    for s in plan.splits:
        where = ", ".join(f"{site}: {node}" for site, node in s.parts)
        extra = f"; per site: {', '.join(s.pushed_down)}" if s.pushed_down else ""
        merge = f"; merged by {s.merge_node} ({s.combine})" if s.merge_node else ""
        lines.append(f"  split {s.node} ({s.collection}, {s.kind}): {where}{extra}{merge}")
    if plan.providers:
        lines.append("")
        lines.append("Sites of provider ids (federation:backends):")
        for cid, providers in sorted(plan.providers.items()):
            pairs = ", ".join(f"{p} → {site}" for p, site in sorted(providers.items()))
            lines.append(f"  {cid}: {pairs}")
    return "\n".join(lines)


# Approximate advance of a character of the SVG's sans-serif font: 11 px names, 9 px process ids.
_NAME_CHAR, _ID_CHAR = 6.6, 5.4
# Longer names are wrapped onto further lines (node ids have no spaces: cut anywhere).
_WRAP = 36
_ARROWS = {"#888": "arrow", "#d62728": "arrow-cross"}


def _wrapped(text: str) -> list[str]:
    return textwrap.wrap(text, _WRAP, break_on_hyphens=False) or [""]


def _arrow_markers() -> str:
    """Arrowheads for the edges (in user units: the same size on thin and thick lines)."""
    markers = "".join(
        f'<marker id="{name}" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" '
        f'markerWidth="8" markerHeight="8" orient="auto"><path d="M 0 0 L 10 5 L 0 10 z" '
        f'fill="{colour}"/></marker>'
        for colour, name in _ARROWS.items()
    )
    return f"<defs>{markers}</defs>"


def to_svg(plan: Plan) -> str:
    """The graph left to right by depth, nodes coloured by site, cross-site edges dashed red,
    arrows from each producer to its consumers; every node's full name and process id."""
    graph = plan.graph
    order = graph.topological_order()
    layer: dict[str, int] = {}
    for n in order:
        layer[n] = 1 + max((layer[p] for p in graph.producers(n)), default=-1)
    names = {n: _wrapped(n) for n in order}
    ids = {n: _wrapped(graph.process_id(n)) for n in order}
    gap_x, gap_y, margin, top = 60.0, 18.0, 20.0, 40.0
    # Each column as wide as its widest label, each box as high as its lines.
    col_w: dict[int, float] = {}
    for n in order:
        text_w = max(
            max(_NAME_CHAR * len(line) for line in names[n]),
            max(_ID_CHAR * len(line) for line in ids[n]),
        )
        col_w[layer[n]] = max(col_w.get(layer[n], 150.0), text_w + 14)
    size: dict[str, tuple[float, float]] = {
        n: (col_w[layer[n]], 12.0 + 14 * len(names[n]) + 12 * len(ids[n])) for n in order
    }
    col_x: dict[int, float] = {}
    x = margin
    for col in sorted(col_w):
        col_x[col] = x
        x += col_w[col] + gap_x
    graph_width = x - gap_x + margin
    col_y: dict[int, float] = {}
    pos: dict[str, tuple[float, float]] = {}
    for n in order:
        y = col_y.get(layer[n], margin + top)
        pos[n] = (col_x[layer[n]], y)
        col_y[layer[n]] = y + size[n][1] + gap_y
    sites = list(dict.fromkeys(plan.node_sites[n] for n in order))
    colour = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(sorted(sites))}
    legend = []
    x = margin
    for s in sorted(sites):
        legend.append(f'<rect x="{x}" y="{margin}" width="14" height="14" fill="{colour[s]}"/>')
        legend.append(f'<text x="{x + 18}" y="{margin + 11}">{escape(s)}</text>')
        x += 30 + 7 * len(s)
    summary = f"planned {human_bytes(plan.planned_bytes)}, naive {human_bytes(plan.naive_bytes)}"
    legend.append(f'<text x="{x + 10}" y="{margin + 11}">{escape(summary)}</text>')
    width = max(graph_width, x + 10 + 7 * len(summary) + margin)
    height = max(col_y.values(), default=margin + top) - gap_y + margin
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="11">',
        _arrow_markers(),
        '<rect width="100%" height="100%" fill="white"/>',
        *legend,
    ]
    for n in order:
        for p in graph.producers(n):
            out.extend(_svg_edge(plan, p, n, pos, size))
    for n in order:
        out.extend(_svg_node(plan, n, pos[n], size[n], colour, names[n], ids[n]))
    out.append("</svg>")
    return "\n".join(out)


def _svg_edge(plan: Plan, p: str, n: str, pos, size) -> list[str]:
    """The arrow from producer ``p`` to consumer ``n``; cross-site ones dashed red, labelled
    with the bytes that cross."""
    (x1, y1), (x2, y2) = pos[p], pos[n]
    (w1, h1), (_, h2) = size[p], size[n]
    cross = plan.node_sites[p] != plan.node_sites[n]
    stroke = "#d62728" if cross else "#888"
    style = (
        f'stroke="{stroke}" stroke-width="2" stroke-dasharray="6 3"'
        if cross
        else f'stroke="{stroke}" stroke-width="1"'
    )
    out = [
        f'<line x1="{x1 + w1:.0f}" y1="{y1 + h1 / 2:.0f}" x2="{x2:.0f}" '
        f'y2="{y2 + h2 / 2:.0f}" {style} marker-end="url(#{_ARROWS[stroke]})"/>'
    ]
    if cross:
        mx, my = (x1 + w1 + x2) / 2, (y1 + h1 / 2 + y2 + h2 / 2) / 2 - 4
        label = escape(human_bytes(plan.node_bytes.get(p, 0)))
        out.append(
            f'<text x="{mx:.0f}" y="{my:.0f}" fill="#d62728" text-anchor="middle">{label}</text>'
        )
    return out


def _svg_node(plan: Plan, n: str, at, box, colour, names, ids) -> list[str]:
    """Node ``n``'s box in its site's colour with its full name and process id."""
    (x, y), (w, h) = at, box
    site = plan.node_sites[n]
    stroke = ' stroke="black" stroke-width="2"' if n == plan.result_node else ""
    out = [
        f'<rect x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" height="{h:.0f}" rx="6" '
        f'fill="{colour[site]}"{stroke}><title>{escape(n)} at {escape(site)}</title></rect>'
    ]
    line_y = y + 16
    for line in names:
        out.append(f'<text x="{x + 6:.0f}" y="{line_y:.0f}" fill="white">{escape(line)}</text>')
        line_y += 14
    line_y += 1
    for line in ids:
        out.append(
            f'<text x="{x + 6:.0f}" y="{line_y:.0f}" fill="white" font-size="9">'
            f"{escape(line)}</text>"
        )
        line_y += 12
    return out
