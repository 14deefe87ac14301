"""A plan for people: a text summary and an SVG drawing of the graph coloured by site."""

from __future__ import annotations

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
    return "\n".join(lines)


def to_svg(plan: Plan) -> str:
    """The graph left to right by depth, nodes coloured by site, cross-site edges dashed red."""
    graph = plan.graph
    order = graph.topological_order()
    layer: dict[str, int] = {}
    for n in order:
        layer[n] = 1 + max((layer[p] for p in graph.producers(n)), default=-1)
    rows: dict[int, int] = {}
    pos: dict[str, tuple[float, float]] = {}
    box_w, box_h, gap_x, gap_y, margin = 150.0, 40.0, 60.0, 18.0, 20.0
    for n in order:
        col = layer[n]
        row = rows.get(col, 0)
        rows[col] = row + 1
        pos[n] = (margin + col * (box_w + gap_x), margin + 40 + row * (box_h + gap_y))
    sites = list(dict.fromkeys(plan.node_sites[n] for n in order))
    colour = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(sorted(sites))}
    width = margin * 2 + (max(layer.values(), default=0) + 1) * (box_w + gap_x)
    height = margin * 2 + 40 + max(rows.values(), default=1) * (box_h + gap_y)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    x = margin
    for s in sorted(sites):
        out.append(f'<rect x="{x}" y="{margin}" width="14" height="14" fill="{colour[s]}"/>')
        out.append(f'<text x="{x + 18}" y="{margin + 11}">{escape(s)}</text>')
        x += 30 + 7 * len(s)
    out.append(
        f'<text x="{x + 10}" y="{margin + 11}">planned {human_bytes(plan.planned_bytes)}, '
        f"naive {human_bytes(plan.naive_bytes)}</text>"
    )
    for n in order:
        for p in graph.producers(n):
            (x1, y1), (x2, y2) = pos[p], pos[n]
            cross = plan.node_sites[p] != plan.node_sites[n]
            style = (
                'stroke="#d62728" stroke-width="2" stroke-dasharray="6 3"'
                if cross
                else ('stroke="#888" stroke-width="1"')
            )
            out.append(
                f'<line x1="{x1 + box_w:.0f}" y1="{y1 + box_h / 2:.0f}" x2="{x2:.0f}" '
                f'y2="{y2 + box_h / 2:.0f}" {style}/>'
            )
            if cross:
                mx, my = (x1 + box_w + x2) / 2, (y1 + y2 + box_h) / 2 - 4
                label = escape(human_bytes(plan.node_bytes.get(p, 0)))
                out.append(f'<text x="{mx:.0f}" y="{my:.0f}" fill="#d62728">{label}</text>')
    for n in order:
        x, y = pos[n]
        site = plan.node_sites[n]
        stroke = ' stroke="black" stroke-width="2"' if n == plan.result_node else ""
        out.append(
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{box_w:.0f}" height="{box_h:.0f}" rx="6" '
            f'fill="{colour[site]}"{stroke}><title>{escape(n)} at {escape(site)}</title></rect>'
        )
        out.append(f'<text x="{x + 6:.0f}" y="{y + 16:.0f}" fill="white">{escape(n[:22])}</text>')
        out.append(
            f'<text x="{x + 6:.0f}" y="{y + 31:.0f}" fill="white" font-size="9">'
            f"{escape(graph.process_id(n)[:26])}</text>"
        )
    out.append("</svg>")
    return "\n".join(out)
