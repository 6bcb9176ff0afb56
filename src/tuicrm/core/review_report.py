"""The review as a report a manager can mail: Markdown, HTML (charts as inline SVG) or
JSON, in the layout of the strategy-review report — data comparison, problem analysis,
improvement plan."""

from __future__ import annotations

import html
import json
from collections import defaultdict
from collections.abc import Sequence

from tuicrm.core.review import METRICS, Review, format_metric, meets

BAR_WIDTH = 360


def bar_chart_svg(title: str, bars: Sequence[tuple[str, float]]) -> str:
    """A horizontal bar chart as standalone SVG; labels are escaped text."""
    row, left = 22, 150
    height = 30 + row * max(len(bars), 1)
    top = max((value for _, value in bars), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + BAR_WIDTH + 80}" '
        f'height="{height}" font-family="sans-serif" font-size="12" role="img" '
        f'aria-label="{html.escape(title)}">',
        f'<text x="4" y="16" font-weight="bold">{html.escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(bars):
        y = 26 + i * row
        width = round(BAR_WIDTH * value / top)
        parts += [
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{html.escape(label)}</text>',
            f'<rect x="{left}" y="{y + 2}" width="{width}" height="{row - 6}" fill="#4a7ab5"/>',
            f'<text x="{left + width + 4}" y="{y + 14}">{value:,.0f}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts)


def charts(review: Review) -> dict[str, tuple[str, list[tuple[str, float]]]]:
    """The report's charts: name → (title, bars)."""
    per_owner: dict[str, int] = defaultdict(int)
    for _, owner, count in review.period.weekly_followups:
        per_owner[owner or "-"] += count
    trend = [(q.name, (q.overall.conversion_rate or 0) * 100)
             for q in review.quarterly.quarters]
    return {
        "tiers": ("Customers by tier", [(t or "-", float(n))
                                        for t, n in review.period.tier_distribution]),
        "followups": ("Follow-ups per owner, last 8 weeks",
                      sorted(((o, float(n)) for o, n in per_owner.items()),
                             key=lambda bar: -bar[1])[:15]),
        "conversion": ("Conversion of potential customers by quarter (%)", trend),
    }


def _metric_rows(review: Review) -> list[list[str]]:
    targets = review.quarterly.targets
    quarters = review.quarterly.quarters
    rows = []
    for metric, label in METRICS.items():
        current = quarters[-1].overall.value(metric)
        verdict = {True: "met", False: "missed", None: "–"}[meets(metric, current, targets)]
        rows.append([label, *(format_metric(metric, q.overall.value(metric)) for q in quarters),
                     format_metric(metric, float(getattr(targets, metric))), verdict])
    return rows


def _group_rows(review: Review, groups: str) -> list[list[str]]:
    current = review.quarterly.current
    table = current.by_segment if groups == "segment" else current.by_owner
    return [[name, *(format_metric(m, figures.value(m)) for m in METRICS)]
            for name, figures in sorted(table.items())]


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    return ["| " + " | ".join(cell(h) for h in header) + " |",
            "|" + "---|" * len(header),
            *("| " + " | ".join(cell(c) for c in row) + " |" for row in rows), ""]


def _text_bars(bars: list[tuple[str, float]]) -> list[str]:
    top = max((v for _, v in bars), default=0) or 1
    return ["```", *(f"{label[:14]:<14} {'█' * round(30 * value / top)} {value:,.0f}"
                     for label, value in bars), "```", ""]


def _sections(review: Review) -> tuple[list[str], list[list[str]], list[list[str]]]:
    period = review.period
    figure_rows = [[f.label, str(f.count), ", ".join(map(str, f.customer_ids[:20]))
                    + (" …" if f.count > 20 else "")] for f in period.figures]
    owner_rows = [[o.owner or "-", str(o.done), str(o.due),
                   "–" if not o.due else f"{o.done / o.due:.0%}"] for o in period.owners]
    move_rows = [[m.kind, m.old, m.new, str(m.count)] for m in period.moves]
    return [q.name for q in review.quarterly.quarters], figure_rows, owner_rows + move_rows


def to_markdown(review: Review, *, chart_files: dict[str, str] | None = None) -> str:
    """The review as Markdown; with ``chart_files`` (name → SVG file) the charts are
    linked images, else text bars."""
    period = review.period
    quarter_names, figure_rows, _ = _sections(review)
    lines = [f"# Review {period.start} – {period.end}", "",
             f"As of {period.today}.", "", "## 1. Data comparison", "",
             "### This period", ""]
    lines += _markdown_table(["Figure", "Customers", "Customer ids"], figure_rows)
    lines += ["### Follow-ups done vs due, per owner", ""]
    lines += _markdown_table(["Owner", "Done", "Due", "Done %"],
                             [[o.owner or "-", str(o.done), str(o.due),
                               "–" if not o.due else f"{o.done / o.due:.0%}"]
                              for o in period.owners])
    if period.moves:
        lines += ["### Tier and lifecycle moves", ""]
        lines += _markdown_table(["Kind", "From", "To", "Customers"],
                                 [[m.kind, m.old, m.new, str(m.count)]
                                  for m in period.moves])
    lines += ["### Quarterly metrics against targets", ""]
    lines += _markdown_table(["Metric", *quarter_names, "Target", "Now"],
                             _metric_rows(review))
    header = ["", *METRICS.values()]
    lines += [f"### {review.quarterly.current.name} by segment", ""]
    lines += _markdown_table(["Segment", *header[1:]], _group_rows(review, "segment"))
    lines += [f"### {review.quarterly.current.name} by owner", ""]
    lines += _markdown_table(["Owner", *header[1:]], _group_rows(review, "owner"))
    lines += ["### Charts", ""]
    for name, (title, bars) in charts(review).items():
        if chart_files and name in chart_files:
            lines += [f"![{title}]({chart_files[name]})", ""]
        else:
            lines += [f"**{title}**", "", *_text_bars(bars)]
    lines += ["## 2. Problem analysis", ""]
    lines += [f"- {p}" for p in review.problems] or ["- No target missed."]
    lines += ["", "## 3. Improvement plan", ""]
    lines += [f"{i}. {p}" for i, p in enumerate(review.plan, 1)] or ["- Keep the course."]
    return "\n".join(lines) + "\n"


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(review: Review) -> str:
    """The review as one HTML page with its charts inline (SVG); all text escaped."""
    period = review.period
    quarter_names, figure_rows, _ = _sections(review)
    parts = [
        "<!DOCTYPE html>", '<html lang="zh"><head><meta charset="utf-8">',
        f"<title>Review {period.start} – {period.end}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;"
        "padding:2px 8px;text-align:left}</style></head><body>",
        f"<h1>Review {period.start} – {period.end}</h1><p>As of {period.today}.</p>",
        "<h2>1. Data comparison</h2><h3>This period</h3>",
        _html_table(["Figure", "Customers", "Customer ids"], figure_rows),
        "<h3>Follow-ups done vs due, per owner</h3>",
        _html_table(["Owner", "Done", "Due"], [[o.owner or "-", str(o.done), str(o.due)]
                                               for o in period.owners]),
    ]
    if period.moves:
        parts += ["<h3>Tier and lifecycle moves</h3>",
                  _html_table(["Kind", "From", "To", "Customers"],
                              [[m.kind, m.old, m.new, str(m.count)]
                               for m in period.moves])]
    parts += ["<h3>Quarterly metrics against targets</h3>",
              _html_table(["Metric", *quarter_names, "Target", "Now"], _metric_rows(review)),
              f"<h3>{review.quarterly.current.name} by segment</h3>",
              _html_table(["Segment", *METRICS.values()], _group_rows(review, "segment")),
              f"<h3>{review.quarterly.current.name} by owner</h3>",
              _html_table(["Owner", *METRICS.values()], _group_rows(review, "owner")),
              "<h3>Charts</h3>"]
    parts += [f"<figure>{bar_chart_svg(title, bars)}</figure>"
              for title, bars in charts(review).values()]
    parts += ["<h2>2. Problem analysis</h2><ul>",
              *(f"<li>{html.escape(p)}</li>" for p in review.problems or ["No target missed."]),
              "</ul><h2>3. Improvement plan</h2><ol>",
              *(f"<li>{html.escape(p)}</li>" for p in review.plan or ["Keep the course."]),
              "</ol></body></html>"]
    return "\n".join(parts) + "\n"


def to_json(review: Review) -> str:
    """The review as JSON: every figure with its count and first customer ids, every
    quarter's counts."""
    data = review.model_dump(mode="json")
    for quarter, model in zip(data["quarterly"]["quarters"], review.quarterly.quarters,
                              strict=True):
        quarter["name"] = model.name
        quarter["metrics"] = {m: model.overall.value(m) for m in METRICS}
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
