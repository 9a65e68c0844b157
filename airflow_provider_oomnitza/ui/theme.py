"""The sync view's look: one stylesheet, inlined into every page (no file, font or script from
elsewhere; the system's sans-serif font). Colours follow the state colours of Airflow's UI."""

SERIES_COLORS = {
    "extracted": "#4c78a8",
    "sent": "#2e9e5b",
    "unchanged": "#9aa5b1",
    "refused": "#d64545",
    "skipped": "#e8890c",
}
STATE_COLORS = {
    "success": "#2e7d32",
    "failed": "#c62828",
    "running": "#0288d1",
    "queued": "#78909c",
    "upstream_failed": "#ef6c00",
}
UNKNOWN_STATE_COLOR = "#b0bec5"

CSS = """
:root {
  --bg: #f5f7fa; --card: #ffffff; --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --grid: #edf0f3;
  --link: #0b63ce; --head: #f0f4f8;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #14181d; --card: #1e242b; --ink: #e4e7eb; --muted: #9aa5b1; --line: #323a44; --grid: #2a3139;
          --link: #6fb1ff; --head: #262d35; }
}
* { box-sizing: border-box; }
body { margin: 0; padding: 20px 24px 32px; background: var(--bg); color: var(--ink);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Liberation Sans", "DejaVu Sans", sans-serif; }
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
header.page { display: flex; align-items: baseline; justify-content: space-between; gap: 16px; margin-bottom: 16px; }
header.page h1 { font-size: 20px; margin: 0; font-weight: 650; }
header.page .who { color: var(--muted); font-size: 12px; }
.sub { color: var(--muted); font-size: 13px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px;
        margin-bottom: 16px; box-shadow: 0 1px 2px rgba(16, 24, 40, .04); }
.card h2 { font-size: 16px; margin: 0; font-weight: 650; }
.card h3 { font-size: 14px; margin: 18px 0 8px; font-weight: 650; }
.card-head { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 8px 16px; }
.card-head .id { color: var(--muted); font-size: 12px; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.last { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 12px; font-size: 13px; color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
         color: #fff; background: #b0bec5; white-space: nowrap; }
.badge.quiet { background: var(--head); color: var(--muted); border: 1px solid var(--line); font-weight: 500; }
.section-body { display: grid; grid-template-columns: minmax(260px, 340px) 1fr; gap: 18px; margin-top: 12px; }
@media (max-width: 900px) { .section-body { grid-template-columns: 1fr; } }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(100px, 1fr)); gap: 8px; align-content: start; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; border-top: 3px solid var(--c, #999); }
.tile .n { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; line-height: 1.2; }
.tile .l { font-size: 12px; color: var(--muted); }
.tile.alert .n { color: var(--c); }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; color: var(--muted); margin-bottom: 4px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
svg.chart { width: 100%; height: auto; display: block; overflow: visible; }
svg.chart text { fill: var(--muted); font-size: 10px; font-family: inherit; }
svg.chart .grid { stroke: var(--grid); stroke-width: 1; }
svg.chart .axis { stroke: var(--line); stroke-width: 1; }
svg.chart polyline { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
svg.chart .panel-label { font-weight: 600; }
.empty { color: var(--muted); font-style: italic; padding: 8px 0; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--head); font-weight: 600; color: var(--muted); font-size: 12px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; word-break: break-word; }
td.reason { color: var(--ink); }
details summary { cursor: pointer; color: var(--link); font-size: 12px; }
details pre { margin: 6px 0 0; padding: 8px; background: var(--head); border-radius: 6px; white-space: pre-wrap;
              word-break: break-word; font-size: 12px; max-height: 260px; overflow: auto; }
.pager { display: flex; gap: 12px; align-items: center; margin-top: 8px; font-size: 13px; color: var(--muted); }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; font-size: 13px; margin: 10px 0 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
.crumbs { font-size: 13px; margin-bottom: 10px; }
.card h2 + table { margin-top: 10px; }
.warn { border-left: 3px solid #e8890c; padding: 6px 10px; background: var(--head); border-radius: 4px; font-size: 13px; }
/* the config page */
.listing { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; border: 1px solid var(--line);
           border-radius: 6px; overflow: auto; margin: 6px 0; }
.listing .ln { display: grid; grid-template-columns: 44px 1fr; }
.listing .no { color: var(--muted); text-align: right; padding: 0 8px; background: var(--head); user-select: none; }
.listing .tx { white-space: pre; padding: 0 8px; }
.listing .ln.error { background: rgba(214, 69, 69, .14); }
.listing .ln.warning { background: rgba(232, 137, 12, .14); }
.listing .msg { grid-column: 2; padding: 1px 8px 3px; font-family: system-ui, sans-serif; white-space: normal; }
.listing .msg.error { color: #d64545; }
.listing .msg.warning { color: #b86a00; }
.issues { margin: 8px 0 0; padding-left: 18px; font-size: 13px; }
.issues li.error { color: #d64545; }
.issues li.warning { color: #b86a00; }
textarea.editor { width: 100%; min-height: 260px; font: 12px/1.5 ui-monospace, "DejaVu Sans Mono", monospace;
                  padding: 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--card); color: var(--ink); }
.actions { display: flex; gap: 8px; flex-wrap: wrap; margin-top: 8px; align-items: center; }
button { font: inherit; padding: 5px 14px; border-radius: 6px; border: 1px solid var(--line); background: var(--head);
         color: var(--ink); cursor: pointer; }
button.primary { background: #1f6fd1; border-color: #1f6fd1; color: #fff; }
.ok { border-left: 3px solid #2e9e5b; padding: 6px 10px; background: var(--head); border-radius: 4px; font-size: 13px; }
.bad { border-left: 3px solid #d64545; padding: 6px 10px; background: var(--head); border-radius: 4px; font-size: 13px; }
"""
