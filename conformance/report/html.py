"""One self-contained HTML page: summary, then every id with its evidence (sent, expected, got).

No scripts, fonts or links to fetch: the page works from a CI artifact or an e-mail. Every
value that came from the target is escaped.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from dhi.models.conformance import Report, ResultStatus, TestResult

_COLOURS = {
    ResultStatus.PASS: "#1a7f37",
    ResultStatus.FAIL: "#cf222e",
    ResultStatus.ERROR: "#8250df",
    ResultStatus.WARNING: "#9a6700",
    ResultStatus.NOT_APPLICABLE: "#6e7781",
}

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1f2328}
h1{font-size:1.5rem;margin-bottom:.2rem}.meta{color:#59636e}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{border-bottom:1px solid #d1d9e0;padding:.35rem .5rem;text-align:left;vertical-align:top}
.badge{display:inline-block;border-radius:1rem;padding:0 .6rem;color:#fff;font-weight:600;font-size:.85em}
.counts span{margin-right:1rem;font-weight:600}
details{margin:.2rem 0}summary{cursor:pointer}
pre{background:#f6f8fa;padding:.5rem;overflow-x:auto;white-space:pre-wrap;word-break:break-word;margin:.3rem 0}
code{font-size:.9em}
"""


def _badge(status: ResultStatus) -> str:
    label = status.value.replace("_", "-")
    return f'<span class="badge" style="background:{_COLOURS[status]}">{escape(label)}</span>'


def _pretty(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _evidence(r: TestResult) -> str:
    ev = r.evidence
    rows = []
    for key in ("sent", "expected", "got"):
        value = getattr(ev, key)
        if value is not None:
            rows.append(f"<div><b>{key}</b><pre><code>{escape(_pretty(value))}</code></pre></div>")
    message = escape(ev.message or "")
    if not rows:
        return message
    return f"<details><summary>{message or 'evidence'}</summary>{''.join(rows)}</details>"


def render_html(report: Report) -> str:
    c, s = report.claims, report.summary
    verdict = "PASSED" if s.fail == 0 and s.error == 0 else "FAILED"
    target = ", ".join(f"{escape(str(k))}: {escape(str(v))}" for k, v in sorted(report.target.items()))
    counts = "".join(
        f'<span style="color:{_COLOURS[st]}">{escape(st.value.replace("_", "-"))} {n}</span>'
        for st, n in (
            (ResultStatus.PASS, s.pass_),
            (ResultStatus.FAIL, s.fail),
            (ResultStatus.ERROR, s.error),
            (ResultStatus.WARNING, s.warning),
            (ResultStatus.NOT_APPLICABLE, s.not_applicable),
        )
    )
    rows = "\n".join(
        f'<tr id="{escape(r.id)}"><td><code>{escape(r.id)}</code></td><td>{_badge(r.status)}</td>'
        f"<td>{escape(r.title)}</td><td>{escape(r.section or '')}</td>"
        f"<td>{escape(r.profile.value if r.profile else '')}</td><td>{_evidence(r)}</td></tr>"
        for r in report.results
    )
    title = f"DHI v{report.dhi_version} conformance — {c.vendor} {c.product}: {verdict}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{escape(title)}</h1>
<p class="meta">{escape(c.target.value)} · profiles {escape(", ".join(p.value for p in c.profiles))}
· version {escape(c.version or "—")} · {target}<br>
claimed capabilities: {escape(", ".join(c.capabilities) or "—")}
· features: {escape(", ".join(f"{k}={v}" for k, v in sorted(c.features.items())) or "—")}<br>
run {escape(report.started.isoformat())} → {escape(report.finished.isoformat())} · {escape(report.tool)}</p>
<p class="counts">{counts}</p>
<table><thead><tr><th>id</th><th>result</th><th>title</th><th>spec</th><th>profile</th><th>evidence</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""
