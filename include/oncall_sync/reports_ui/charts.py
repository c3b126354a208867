"""The Sync reports charts, drawn on the server as inline SVG: no script, no library, no network.

- `outcomes_over_time`: one row per outcome (created, updated, skipped, failed, conflicts), one
  bar per run, oldest on the left. Each row has its own scale, so twelve failures stay visible
  next to a first import's thousand creates; each bar carries its number.
- `per_entity_type`: one horizontal bar per entity type, split by outcome, on a common scale;
  conflicts and invitations (flags on records counted in the bar) are written after it.

Decisions: small multiples rather than one stacked bar per run, since outcomes differ by orders
of magnitude; every bar has a <title> (a tooltip, and what a screen reader reads).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from oncall_sync.reports_ui.reader import CHARTED, EXCLUSIVE, FLAGS

COLOURS = {
    "created": "#2f9e44",
    "updated": "#1c7ed6",
    "unchanged": "#adb5bd",
    "skipped": "#f08c00",
    "tombstoned": "#495057",
    "conflicts": "#9c36b5",
    "failed": "#e03131",
    "quarantined": "#d9480f",
    "invited": "#0ca678",
}


@dataclass(frozen=True)
class RunBar:
    """One run in the chart over time: its label (a short date), tooltip and counts."""

    label: str
    title: str
    counts: Mapping[str, int]
    failed_run: bool = False


def _number(value: float) -> str:
    return f"{value:g}"


def outcomes_over_time(runs: Sequence[RunBar], width: int = 1200) -> str:
    """Small multiples: a row per charted outcome, a bar per run (oldest first)."""
    if not runs:
        return ""
    left, right, top, row_height, gap, axis = 118, 8, 6, 40, 8, 22
    height = top + len(CHARTED) * (row_height + gap) + axis
    slot = (width - left - right) / len(runs)
    bar = max(2.0, min(28.0, slot * 0.7))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Outcomes per run, oldest to newest" xmlns="http://www.w3.org/2000/svg">',
        "<title>Outcomes per run, oldest to newest</title>",
    ]
    for row, outcome in enumerate(CHARTED):
        y0 = top + row * (row_height + gap)
        peak = max((run.counts.get(outcome, 0) for run in runs), default=0)
        total = sum(run.counts.get(outcome, 0) for run in runs)
        base = y0 + row_height
        parts.append(
            f'<g class="row" data-outcome="{outcome}">'
            f'<text x="0" y="{y0 + 16}" class="label">{outcome}</text>'
            f'<text x="0" y="{y0 + 31}" class="muted">{total} in all</text>'
            f'<line x1="{left}" x2="{width - right}" y1="{base}" y2="{base}" class="axis"/>'
        )
        for index, run in enumerate(runs):
            count = run.counts.get(outcome, 0)
            x = left + index * slot + (slot - bar) / 2
            if count:
                h = max(2.0, (row_height - 12) * count / peak)
                parts.append(
                    f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                    f'fill="{COLOURS[outcome]}"><title>{escape(run.title)}: {count} {outcome}'
                    "</title></rect>"
                )
                if slot >= 22:
                    parts.append(
                        f'<text x="{x + bar / 2:.1f}" y="{base - h - 2:.1f}" class="count" '
                        f'text-anchor="middle">{count}</text>'
                    )
        parts.append("</g>")
    y_axis = top + len(CHARTED) * (row_height + gap) + 12
    step = max(1, len(runs) // 8)
    for index, run in enumerate(runs):
        if index % step and index != len(runs) - 1:
            continue
        x = left + index * slot + slot / 2
        css = "muted failed-run" if run.failed_run else "muted"
        parts.append(
            f'<text x="{x:.1f}" y="{y_axis}" class="{css}" text-anchor="middle">'
            f"{escape(run.label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def per_entity_type(table: Mapping[str, Mapping[str, int]], width: int = 520) -> str:
    """A horizontal bar per entity type, split by outcome, on one scale, with a legend."""
    rows = [(kind, counts) for kind, counts in table.items() if sum(counts.values())]
    if not rows:
        return ""
    used = [o for o in EXCLUSIVE if any(counts.get(o) for _, counts in rows)]
    left, right, legend_height, row_height = 128, 150, 26, 24
    height = legend_height + len(rows) * row_height + 4
    peak = max(max(sum(counts.get(o, 0) for o in EXCLUSIVE) for _, counts in rows), 1)
    scale = (width - left - right) / peak
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="Records per entity type and outcome" xmlns="http://www.w3.org/2000/svg">',
        "<title>Records per entity type and outcome</title>",
    ]
    x = 0.0
    for outcome in used:
        parts.append(
            f'<rect x="{x:.0f}" y="4" width="10" height="10" fill="{COLOURS[outcome]}"/>'
            f'<text x="{x + 14:.0f}" y="13" class="muted">{outcome}</text>'
        )
        x += 22 + 6.2 * len(outcome)
    for index, (kind, counts) in enumerate(rows):
        y = legend_height + index * row_height
        parts.append(
            f'<g class="row" data-entity-type="{escape(kind)}">'
            f'<text x="0" y="{y + 15}" class="label">{escape(kind)}</text>'
        )
        cursor = float(left)
        for outcome in used:
            count = counts.get(outcome, 0)
            if not count:
                continue
            w = max(1.0, count * scale)
            parts.append(
                f'<rect x="{cursor:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_height - 8}" '
                f'fill="{COLOURS[outcome]}"><title>{escape(kind)}: {count} {outcome}</title></rect>'
            )
            cursor += w
        flags = "".join(f" · {counts[flag]} {flag}" for flag in FLAGS if counts.get(flag))
        total = sum(counts.get(o, 0) for o in EXCLUSIVE)
        parts.append(
            f'<text x="{cursor + 6:.1f}" y="{y + 15}" class="count">{_number(total)}'
            f'<tspan class="muted">{flags}</tspan></text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
