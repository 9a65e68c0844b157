"""HTML of the sync view: server-rendered pages with inline SVG charts, no script at all.

The pages work in Airflow's plugin iframe and on their own; links inside stay in the view,
links to Airflow's own pages open in the whole window (``target="_top"``).
"""
from __future__ import annotations

import json
import math
from datetime import datetime
from html import escape
from typing import Any, Callable, Sequence
from urllib.parse import quote, urlencode

from airflow_provider_oomnitza.ui.data import HEADLINE, HEADLINE_HELP, REPORT_LABELS, Page, RunInfo, SectionInfo
from airflow_provider_oomnitza.ui.theme import CSS, SERIES_COLORS, STATE_COLORS, UNKNOWN_STATE_COLOR

VOLUME = ("extracted", "sent", "unchanged")
# Extracted is drawn wide and pale under sent: on a good night the two lines coincide.
LINE_STYLE = {"extracted": 'style="stroke-width:6;stroke-opacity:.35"', "unchanged": 'style="stroke-dasharray:5 3"'}
PROBLEMS = ("refused", "skipped")


class Links:
    """URLs of the view (under its mount point) and of Airflow's UI (the API server's root)."""

    def __init__(self, view_root: str, airflow_root: str):
        self.view_root = view_root.rstrip("/")
        self.airflow_root = airflow_root.rstrip("/")

    def overview(self, runs: int | None = None) -> str:
        return f"{self.view_root}/" + (f"?{urlencode({'runs': runs})}" if runs else "")

    def run(self, dag_id: str, run_id: str, **query: Any) -> str:
        url = f"{self.view_root}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
        query = {k: v for k, v in query.items() if v}
        return url + (f"?{urlencode(query)}" if query else "")

    def airflow_run(self, dag_id: str, run_id: str) -> str:
        return f"{self.airflow_root}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"

    def airflow_dag(self, dag_id: str) -> str:
        return f"{self.airflow_root}/dags/{quote(dag_id, safe='')}"


# -- small pieces ------------------------------------------------------------------------------------
def fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "–"


def fmt_duration(run: RunInfo) -> str:
    if not (run.start_date and run.end_date):
        return "–"
    seconds = int((run.end_date - run.start_date).total_seconds())
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {seconds:02d}s" if hours else f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def fmt_number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return f"{value:,}"
    return escape(str(value))


def state_badge(state: str | None) -> str:
    color = STATE_COLORS.get(state or "", UNKNOWN_STATE_COLOR)
    return f'<span class="badge" style="background:{color}">{escape(state or "no state")}</span>'


def tiles(counts: dict[str, Any]) -> str:
    out = []
    for name in HEADLINE:
        value = counts.get(name)
        alert = " alert" if name in PROBLEMS and value else ""
        out.append(f'<div class="tile{alert}" style="--c:{SERIES_COLORS[name]}" title="{escape(HEADLINE_HELP[name])}">'
                   f'<div class="n" data-count="{name}">{fmt_number(value)}</div><div class="l">{name}</div></div>')
    return f'<div class="tiles">{"".join(out)}</div>'


def legend(names: Sequence[str]) -> str:
    return '<div class="legend">' + "".join(
        f'<span><i style="background:{SERIES_COLORS[n]}"></i>{n}</span>' for n in names) + "</div>"


def page(title: str, body: str, user: str | None = None) -> str:
    who = f'<span class="who">signed in as {escape(user)}</span>' if user else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
            f'<header class="page"><h1>{escape(title)}</h1>{who}</header>{body}</body></html>')


def error_page(status: int, message: str, login: str | None = None) -> str:
    link = f' <a href="{escape(login)}" target="_top">Log in to Airflow</a>.' if login else ""
    return page(f"Oomnitza sync · {status}", f'<div class="card"><p>{escape(message)}.{link}</p></div>')


# -- chart ----------------------------------------------------------------------------------------------
def nice_ceiling(value: float) -> float:
    """The smallest round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k) at or above ``value``, at
    least 1: the top of an axis that the lines nearly fill."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if step * power >= value - 1e-9)


def trend_chart(runs: Sequence[RunInfo], run_link: Callable[[RunInfo], str]) -> str:
    """Counts of the last runs (oldest left) in two panels, each on its own scale: what arrived
    (extracted, sent, unchanged) and what did not (refused, skipped), so a drop or a spike
    shows at a glance. Below them one square per run in its state's colour, linking to the run."""
    width, left, right = 720, 46, 14
    top_h, bottom_h, gap, state_h = 120, 64, 30, 30
    plot_w = width - left - right
    n = len(runs)

    def x(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    grid: list[str] = []  # drawn first, then the lines, then points and run squares over them
    lines: list[str] = []
    marks: list[str] = []

    def panel(y0: float, height: float, names: Sequence[str], label: str) -> None:
        values = [r.counts.get(name) for r in runs for name in names]
        top = nice_ceiling(max((v for v in values if v is not None), default=0))

        def y(v: float) -> float:
            return y0 + height - height * v / top

        grid.append(f'<text class="panel-label" x="{left + 4}" y="{y0 - 9:.1f}">{escape(label)}</text>')
        for frac in (0, 0.5, 1):
            yy = y(top * frac)
            tick = top * frac
            grid.append(f'<line class="{"axis" if frac == 0 else "grid"}" x1="{left}" x2="{width - right}" '
                         f'y1="{yy:.1f}" y2="{yy:.1f}"/>')
            grid.append(f'<text x="{left - 6}" y="{yy + 3:.1f}" text-anchor="end">{_tick(tick)}</text>')
        for name in names:
            color = SERIES_COLORS[name]
            segment: list[str] = []
            segments: list[list[str]] = []
            for i, run in enumerate(runs):
                value = run.counts.get(name)
                if value is None:
                    if segment:
                        segments.append(segment)
                    segment = []
                    continue
                segment.append(f"{x(i):.1f},{y(value):.1f}")
                marks.append(f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3" fill="{color}">'
                             f"<title>{escape(run.run_id)}: {name} {value:,}</title></circle>")
            if segment:
                segments.append(segment)
            for seg in segments:
                if len(seg) > 1:
                    lines.append(f'<polyline stroke="{color}" {LINE_STYLE.get(name, "")} points="{" ".join(seg)}"/>')

    panel(22, top_h, VOLUME, "records read and sent")
    panel(22 + top_h + gap, bottom_h, PROBLEMS, "refused and skipped")
    ys = 22 + top_h + gap + bottom_h + 10
    for i, run in enumerate(runs):
        color = STATE_COLORS.get(run.state or "", UNKNOWN_STATE_COLOR)
        tip = f"{run.run_id} · {run.state or 'no state'} · {fmt_time(run.when)}"
        marks.append(f'<a href="{escape(run_link(run))}"><rect x="{x(i) - 5:.1f}" y="{ys}" width="10" height="10" '
                     f'rx="2" fill="{color}"><title>{escape(tip)}</title></rect></a>')
    if runs:
        grid.append(f'<text x="{x(0):.1f}" y="{ys + 24}" text-anchor="{"middle" if n == 1 else "start"}">'
                     f"{escape(fmt_time(runs[0].when))}</text>")
        if n > 1:
            grid.append(f'<text x="{x(n - 1):.1f}" y="{ys + 24}" text-anchor="end">'
                         f"{escape(fmt_time(runs[-1].when))}</text>")
    height = ys + state_h
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="counts of the last {n} runs">{"".join(grid + lines + marks)}</svg>')


def _tick(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


# -- pages ---------------------------------------------------------------------------------------------
def overview_page(sections: list[SectionInfo], links: Links, runs: int, user: str | None, hidden: int) -> str:
    cards = [section_card(s, links) for s in sections]
    note = (f'<p class="sub">Last {runs} runs of each Oomnitza sync DAG you may read. '
            f'Counts come from each run\'s report.json in the run storage; states from Airflow. '
            f'Show <a href="{escape(links.overview(10))}">10</a> · <a href="{escape(links.overview(30))}">30</a> · '
            f'<a href="{escape(links.overview(100))}">100</a> runs. '
            f'The sections themselves: <a href="{escape(links.view_root)}/config/">config.ini</a>.</p>')
    if hidden:
        note += f'<p class="sub">{hidden} more sync DAG(s) are not shown: you may not read them.</p>'
    if not cards:
        cards = ['<div class="card"><p class="empty">No Oomnitza sync DAG yet: enable a section in config.ini '
                 "and let Airflow parse the DAG files.</p></div>"]
    return page("Oomnitza sync", note + "".join(cards), user)


def section_card(section: SectionInfo, links: Links) -> str:
    last = section.last
    paused = '<span class="badge quiet">paused</span>' if section.is_paused else ""
    head = (f'<div class="card-head"><div><h2>{escape(section.title)}</h2>'
            f'<a class="id" href="{escape(links.airflow_dag(section.dag_id))}" target="_top">'
            f"{escape(section.dag_id)}</a> {paused}</div>")
    if last is None:
        return (f'<section class="card" data-dag="{escape(section.dag_id)}">{head}</div>'
                '<p class="empty">No runs yet.</p></section>')
    head += (f'<div class="last">last run {state_badge(last.state)} {escape(fmt_time(last.when))}'
             f' · <a href="{escape(links.run(section.dag_id, last.run_id))}">details</a>'
             f' · <a href="{escape(links.airflow_run(section.dag_id, last.run_id))}" target="_top">in Airflow</a>'
             "</div></div>")
    reported = section.last_report
    if reported is None:
        counts_html = '<p class="empty">No run has written a report yet.</p>'
    else:
        source = "" if reported is last else (
            f'<p class="sub">Counts of the last run with a report: '
            f'<a href="{escape(links.run(section.dag_id, reported.run_id))}">{escape(fmt_time(reported.when))}</a>'
            f" ({escape(reported.state or 'no state')}).</p>")
        counts_html = tiles(reported.counts) + source
    oldest_first = list(reversed(section.runs))
    chart = legend(HEADLINE) + trend_chart(oldest_first, lambda r: links.run(section.dag_id, r.run_id))
    return (f'<section class="card" data-dag="{escape(section.dag_id)}">{head}'
            f'<div class="section-body"><div>{counts_html}</div><div>{chart}</div></div></section>')


def run_page(section: SectionInfo, run: RunInfo, refused: Page, skipped: Page, links: Links,
             user: str | None, offsets: dict[str, int]) -> str:
    crumbs = f'<div class="crumbs"><a href="{escape(links.overview())}">← All sections</a></div>'
    facts = [
        ("Section", f"{escape(section.title)} <span class='sub mono'>{escape(section.dag_id)}</span>"),
        ("Run", f"<span class='mono'>{escape(run.run_id)}</span> {state_badge(run.state)}"),
        ("Type", escape(run.run_type or "–")),
        ("Started", escape(fmt_time(run.start_date))),
        ("Ended", escape(fmt_time(run.end_date))),
        ("Duration", escape(fmt_duration(run))),
        ("Airflow", f'<a href="{escape(links.airflow_run(section.dag_id, run.run_id))}" target="_top">'
                    "open this run in Airflow (tasks, logs)</a>"),
    ]
    head = ('<div class="card"><dl class="facts">'
            + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl></div>")
    report = run.report
    if report is None:
        body = ('<div class="card"><p class="warn">This run has no report.json in the run storage: it is still '
                "running, its extract task failed, or its folder was removed (keep_runs_days). The task logs in "
                "Airflow tell more.</p></div>")
    elif "_error" in report:
        body = f'<div class="card"><p class="warn">report.json cannot be read: {escape(report["_error"])}</p></div>'
    else:
        body = f'<div class="card"><h2>Counts</h2><div style="margin-top:10px">{tiles(run.counts)}</div></div>'
    body += records_card("Refused records", "refused", refused, section, run, links, offsets,
                         "Oomnitza refused these (from dead_letter.jsonl): on upload, or marked failed in its run log.",
                         ("stage", "record", "reason"))
    body += records_card("Skipped records", "skipped", skipped, section, run, links, offsets,
                         "Not sent (from the map task's skipped files and unreadable source records).",
                         ("kind", "record", "reason"))
    if report and "_error" not in report:
        body += f'<div class="card" id="report"><h2>Everything report.json says</h2>{report_table(report)}</div>'
    return page(f"Oomnitza sync · {section.title}", crumbs + head + body, user)


def report_table(report: dict[str, Any]) -> str:
    rows = []
    for key, value in report.items():
        label = REPORT_LABELS.get(key, key.replace("_", " "))
        if isinstance(value, (dict, list)):
            shown = f"<code>{escape(json.dumps(value, default=str)[:500])}</code>"
        else:
            shown = fmt_number(value)
        rows.append(f'<tr><td>{escape(label)}</td><td class="mono sub">{escape(key)}</td>'
                    f'<td class="num">{shown}</td></tr>')
    return ('<table class="report"><thead><tr><th>What</th><th>Key</th><th class="num">Records</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def records_card(title: str, kind: str, found: Page, section: SectionInfo, run: RunInfo, links: Links,
                 offsets: dict[str, int], note: str, columns: Sequence[str]) -> str:
    head = f'<div class="card" id="{kind}"><h2>{escape(title)} <span class="sub">({found.total:,})</span></h2>'
    head += f'<p class="sub">{escape(note)}</p>'
    if not found.total:
        return head + '<p class="empty">None.</p></div>'
    rows = []
    for item in found.items:
        cells = []
        for column in columns:
            value = item.get(column)
            if column == "record":
                cells.append(f"<td><code>{escape(_short(value))}</code></td>")
            elif column == "reason":
                cells.append(f'<td class="reason">{escape(str(value if value is not None else "–"))}</td>')
            else:
                cells.append(f"<td>{escape(str(value if value is not None else '–'))}</td>")
        full = json.dumps(item, indent=2, default=str, ensure_ascii=False)
        cells.append(f"<td><details><summary>all</summary><pre>{escape(full[:4000])}</pre></details></td>")
        rows.append(f'<tr class="{kind}-row">{"".join(cells)}</tr>')
    table = ("<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in columns) + "<th></th></tr></thead>"
             f"<tbody>{''.join(rows)}</tbody></table>")
    return head + table + pager(kind, found, section, run, links, offsets) + "</div>"


def pager(kind: str, found: Page, section: SectionInfo, run: RunInfo, links: Links, offsets: dict[str, int]) -> str:
    def link(offset: int, text: str) -> str:
        query = {**{f"{k}_offset": v for k, v in offsets.items()}, f"{kind}_offset": offset}
        return f'<a href="{escape(links.run(section.dag_id, run.run_id, **query))}#{kind}">{text}</a>'

    parts = [f"{found.offset + 1:,}–{found.offset + len(found.items):,} of {found.total:,}"]
    if found.offset > 0:
        parts.insert(0, link(max(found.offset - found.limit, 0), "← previous"))
    if found.has_next:
        parts.append(link(found.offset + found.limit, "next →"))
    return f'<div class="pager">{"".join(f"<span>{p}</span>" for p in parts)}</div>'


def _short(value: Any, limit: int = 160) -> str:
    if value is None:
        return "–"
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
