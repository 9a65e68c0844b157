"""HTML of the config page: the sync view's page shell and style, a card per INI section, and a
section's editor (a plain form: validate, preview, save or download; no script)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import quote

from airflow_provider_oomnitza.config.loader import Issue
from airflow_provider_oomnitza.ui.config_data import Preview, SectionView
from airflow_provider_oomnitza.ui.config_file import SECRET_PLACEHOLDER
from airflow_provider_oomnitza.ui.render import Links, page

MASK = "••••••••"


@dataclass
class Outcome:
    """What a posted form did: its headline, and the edited block numbered as in the saved file."""

    action: str
    ok: bool
    message: str
    lines: list[tuple[int, str]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    preview: Preview | None = None


def config_url(links: Links, section: str | None = None) -> str:
    base = f"{links.view_root}/config/"
    return base if section is None else f"{base}sections/{quote(section, safe='')}"


def _issue_list(issues: list[Issue]) -> str:
    if not issues:
        return '<p class="ok">ok: no errors or warnings</p>'
    return '<ul class="issues">' + "".join(
        f'<li class="{i.severity}" data-line="{i.line or ""}">{i.severity}: {escape(str(i))}</li>' for i in issues) + "</ul>"


def listing(lines: list[tuple[int, str]], issues: list[Issue] | None = None) -> str:
    """Numbered lines (file line numbers), each followed by the issues that name it."""
    by_line: dict[int, list[Issue]] = {}
    for issue in issues or []:
        if issue.line:
            by_line.setdefault(issue.line, []).append(issue)
    out = []
    for number, text in lines:
        found = by_line.get(number, [])
        kind = "error" if any(i.severity == "error" for i in found) else "warning" if found else ""
        msgs = "".join(f'<div class="msg {i.severity}">{i.severity}: {escape(i.message)}</div>' for i in found)
        out.append(f'<div class="ln {kind}" data-line="{number}"><span class="no">{number}</span>'
                   f'<span class="tx">{escape(text) or " "}</span>{msgs}</div>')
    return f'<div class="listing">{"".join(out)}</div>'


def _connection_link(links: Links, conn_id: str) -> str:
    target = f"{links.airflow_root}/connections" + (f"?search={quote(conn_id)}" if conn_id else "")
    label = f"connection {escape(conn_id)}" if conn_id else "Airflow's connections (set conn_id)"
    return f'<a href="{escape(target)}" target="_top">{label}</a>'


def section_card(view: SectionView, links: Links, dags: set[str], detail: bool = False) -> str:
    state = ('<span class="badge" style="background:#2e7d32">enabled</span>' if view.enabled
             else '<span class="badge quiet">disabled</span>') if view.dag_id else ""
    health = ('<span class="badge" style="background:#c62828">errors</span>' if view.errors
              else '<span class="badge" style="background:#e8890c">warnings</span>' if view.issues
              else '<span class="badge" style="background:#2e9e5b">ok</span>')
    dag = ""
    if view.dag_id:
        dag = (f'<a href="{escape(links.airflow_dag(view.dag_id))}" target="_top" data-dag-link="{escape(view.dag_id)}">'
               f"DAG {escape(view.dag_id)}</a>" if view.dag_id in dags
               else f'<span class="sub" data-no-dag="{escape(view.dag_id)}">no DAG {escape(view.dag_id)} yet</span>')
    edit = "" if detail else f'<a href="{escape(config_url(links, view.name))}">open / edit</a>'
    head = (f'<div class="card-head"><h2>[{escape(view.name)}]</h2><div class="last">'
            f'<span class="id">{escape(view.kind)} · line {view.line}</span>{state}{health}{dag}{edit}</div></div>')
    body = [_issue_list(view.issues)]
    if view.settings:
        rows = "".join(
            f"<tr><td><code>{escape(s.key)}</code></td><td>"
            + (f'<span data-secret="{escape(s.key)}">{MASK}</span> <span class="sub">secret, not shown or edited here: '
               f"{_connection_link(links, view.conn_id)}</span>" if s.secret else f"<code>{escape(s.value)}</code>")
            + f'</td><td class="num">{s.line or ""}</td></tr>' for s in view.settings)
        body.append(f"<h3>Settings</h3><table><tr><th>key</th><th>value</th><th class=num>line</th></tr>{rows}</table>")
    if view.mappings is not None:
        rows = "".join(f"<tr><td><code>{escape(k)}</code></td><td><code>{escape(json.dumps(v, sort_keys=True))}</code></td></tr>"
                       for k, v in sorted(view.mappings.items()))
        problems = "".join(f'<li class="{p.split(":")[0]}">{escape(p)}</li>' for p in view.mapping_problems)
        body.append(f'<h3>Effective mappings</h3><p class="sub">{escape(view.mapping_origin)}; sync_field: '
                    f'{escape(", ".join(view.sync_fields) or "–")}</p>'
                    + (f'<ul class="issues">{problems}</ul>' if problems else "")
                    + f"<details{' open' if detail else ''}><summary>{len(view.mappings)} fields</summary>"
                    f'<table class="mappings">{rows}</table></details>')
    for key, lines in view.code:
        body.append(f"<h3><code>{escape(key)}</code></h3>" + listing(lines, view.issues))
    return f'<section class="card" data-section="{escape(view.name)}">{head}{"".join(body)}</section>'


def file_header(path: str, writable: Any, can_edit: bool, file_issues: list[Issue]) -> str:
    if not can_edit:
        mode = "You may read this file; changing it needs Airflow's permission to change the configuration."
    elif writable.ok:
        mode = "You may edit sections; a save is validated first and the previous file kept as config.ini.bak."
    else:
        mode = f"The API server cannot write this file ({escape(writable.reason)}): edits are offered as a download."
    issues = _issue_list(file_issues) if file_issues else ""
    return (f'<div class="card"><dl class="facts"><dt>file</dt><dd class="mono" data-ini>{escape(path)}</dd></dl>'
            f'<p class="sub" data-mode="{"edit" if can_edit and writable.ok else "download" if can_edit else "read"}">'
            f"{mode}</p>{issues}</div>")


def overview_page(views: list[SectionView], path: str, writable: Any, can_edit: bool, links: Links, user: str,
                  dags: set[str], file_issues: list[Issue]) -> str:
    nav = f'<p class="crumbs"><a href="{escape(links.overview())}">Syncs</a> · config.ini</p>'
    cards = "".join(section_card(v, links, dags) for v in views)
    return page("Oomnitza config", nav + file_header(path, writable, can_edit, file_issues) + cards, user)


def section_page(view: SectionView | None, name: str, text: str, path: str, writable: Any, can_edit: bool,
                 token: str, links: Links, user: str, dags: set[str], outcome: Outcome | None = None) -> str:
    nav = (f'<p class="crumbs"><a href="{escape(links.overview())}">Syncs</a> · '
           f'<a href="{escape(config_url(links))}">config.ini</a> · [{escape(name)}]</p>')
    parts = [nav, file_header(path, writable, can_edit, [])]
    if outcome is not None:
        parts.append(_outcome(outcome))
    if view is not None:
        parts.append(section_card(view, links, dags, detail=True))
    secrets = ""
    if view is not None and view.secrets:
        secrets = (f'<p class="sub">Secrets ({escape(", ".join(view.secrets))}) show as <code>{SECRET_PLACEHOLDER}</code>: '
                   f"leave that line as it is to keep the file's value; secrets are set in "
                   f"{_connection_link(links, view.conn_id)}, never here.</p>")
    buttons = ['<button name="action" value="validate" class="primary">Validate</button>',
               '<button name="action" value="preview">Preview records</button>' if can_edit else ""]
    if can_edit:
        buttons.append('<button name="action" value="save">Save</button>' if writable.ok
                       else '<button name="action" value="download">Download the edited file</button>')
    parts.append(
        f'<section class="card"><h2>Edit [{escape(name)}]</h2>'
        f'<p class="sub">Settings, <code>mapping.*</code>, <code>recordfilter</code> or the converters: the text of this '
        f"section only. Validate checks the whole file with this section in place, as <code>oomnitza-airflow validate</code> "
        f"does; nothing is saved unless it validates.</p>{secrets}"
        f'<form method="post" action="{escape(config_url(links, name))}">'
        f'<input type="hidden" name="csrf" value="{escape(token)}">'
        f'<textarea class="editor" name="text" spellcheck="false">{escape(text)}</textarea>'
        f'<div class="actions">{"".join(buttons)}</div></form></section>')
    return page(f"Oomnitza config · [{name}]", "".join(parts), user)


def _outcome(outcome: Outcome) -> str:
    css = "ok" if outcome.ok else "bad"
    out = [f'<section class="card" data-outcome="{escape(outcome.action)}" data-ok="{str(outcome.ok).lower()}">'
           f'<p class="{css}">{escape(outcome.message)}</p>']
    if outcome.lines:
        out.append(listing(outcome.lines, outcome.issues))
    others = [i for i in outcome.issues if not any(i.line == n for n, _ in outcome.lines)]
    if others:
        out.append(_issue_list(others))
    if outcome.preview is not None:
        p = outcome.preview
        out += [f'<ul class="issues">{"".join(f"<li>{escape(n)}</li>" for n in p.notes)}</ul>' if p.notes else "",
                f'<p class="sub" data-preview-count="{len(p.records)}">{p.read} read, {len(p.records)} would be sent, '
                f"{len(p.skipped)} skipped (nothing is sent)</p>"]
        out += [f'<details open><summary>record {i + 1}</summary><pre class="preview-record">'
                f"{escape(json.dumps(r, indent=2, sort_keys=True, default=str))}</pre></details>"
                for i, r in enumerate(p.records)]
        out += [f'<p class="warn">skipped {escape(s)}</p>' for s in p.skipped]
    out.append("</section>")
    return "".join(out)
