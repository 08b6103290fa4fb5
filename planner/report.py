"""Rendering a plan: terminal table (rich), JSON (the plan itself), Markdown, and one self-contained HTML file.

Every format shows the same facts: per recommendation the rank, function and file:line, action, exact
decorator, measured speedup and seconds saved, calls, traces before/after, shapes seen, tests and
coverage, findings and assumptions, confidence; then the rejected candidates with their reasons.
The HTML escapes everything it shows and loads nothing from the network.
"""

from __future__ import annotations

import html
import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from hybridize.plan import Plan, Recommendation, Rejection
from hybridize.planner.outside import outside_notes

REASONS: dict[str, str] = {
    "blocker-finding": "static analysis found a construct that breaks or changes under tf.function",
    "measured-slower": "measured slower as a graph",
    "too-few-calls": "too few calls to pay back tracing",
    "not-exercised": "not exercised by the performance command",
    "test-failure": "a test that passed at baseline fails under conversion",
    "not-isolated": "a test failed with several conversions together; this one was never tried alone",
    "trial-error": "the trial run failed with this conversion",
    "result-mismatch": "outputs differ from eager on the same inputs",
    "covered-by-caller": "its caller is converted and measured better",
    "callees-better": "converting its callees saves more",
    "already-optimal": "the existing tf.function pays: keep it",
    "kept-few-calls": "kept: too few calls to judge whether removing the existing tf.function pays",
    "not-measured": "not measured (budget or interrupted)",
    "pass-through": "a wrapper that only forwards its arguments: convert the wrapped function",
    "output-mismatch": "replayed eagerly in the same run, its outputs differ from the graph's",
    "not-reachable": "cannot be tried in place (nested function, or hidden by another decorator)",
    "pure-python": "pure Python: no tensor input or no tensor computation",
    "baseline-failed": "the performance command failed at baseline",
    "retraces-per-instance": "called on a new object every call: a tf.function method would trace every call",
    "inconclusive": "a loop extraction whose interleaved eager/extracted pairs disagree (some faster, some slower)",
}


def _fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _fmt_x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _traces(r: Recommendation) -> str:
    before = "-" if r.traces_before is None else str(r.traces_before)
    after = "-" if r.traces_after is None else str(r.traces_after)
    return f"{before}->{after}"


def _shapes(r: Recommendation) -> str:
    shapes = r.evidence.get("shapes") or {}
    return "; ".join(f"{k}: {', '.join(v)}" for k, v in shapes.items())


def _tests(r: Recommendation) -> str:
    ev = r.evidence
    cov = ev.get("coverage") or {}
    covered, total = cov.get("lines_covered"), cov.get("lines_total")
    cov_text = f", lines {covered}/{total}" if covered is not None and total else ""
    return f"{ev.get('tests_count', 0)} test(s){cov_text}"


def _findings(r: Recommendation) -> list[str]:
    return [f"{f.get('code')} line {f.get('line')}: {f.get('message')}" for f in r.evidence.get("findings") or []]


def _summary(plan: Plan) -> str:
    saved = sum(r.saved_s or 0.0 for r in plan.recommendations)
    base = plan.meta.get("baseline_s")
    text = f"{len(plan.recommendations)} recommendation(s), {len(plan.rejected)} rejected; measured saving {saved:.3f} s"
    if base:
        text += f" on a {base:.2f} s performance run"
    return text


def _decorator_text(r: Recommendation) -> str:
    return r.decorator or "(remove @tf.function)"


def _measured(r: Recommendation) -> str:
    ev = r.evidence
    if r.action == "dehybridize":  # from the graph as decorated to the eager body
        return (f"as a graph {_fmt_s(ev.get('graph_s'))} s (tracing {_fmt_s(ev.get('trace_s'))} s) -> eager "
                f"{_fmt_s(ev.get('eager_s'))} s; per call {ev.get('graph_per_call_us', '-')} µs -> "
                f"{ev.get('eager_per_call_us', '-')} µs")
    if r.action == "extract" and r.extract:  # issue #17: a loop region moved into a new step
        x = r.extract
        base = ev.get("baseline_s")
        after = None if base is None or r.saved_s is None else base - r.saved_s
        pairs = ev.get("pairs_s") or []
        agreed = f"{len(pairs)} agreeing eager/extracted pairs" if pairs else ""
        said = "; ".join(str(t) for t in (ev.get("setting", "plain"), agreed, ev.get("numbers")) if t)
        return (f"lines {x.get('start')}-{x.get('end')} of the loop at line {x.get('loop_line')} into "
                f"{ev.get('signature', x.get('name'))}; whole run eager {_fmt_s(base)} s -> extracted "
                f"{_fmt_s(after)} s ({said})")
    before, after = ("as decorated", "retuned") if r.action == "tune" else ("eager", "graph")
    return (f"{before} {_fmt_s(ev.get('eager_s'))} s -> {after} {_fmt_s(ev.get('graph_s'))} s "
            f"(tracing {_fmt_s(ev.get('trace_s'))} s); per call {ev.get('eager_per_call_us', '-')} µs -> "
            f"{ev.get('graph_per_call_us', '-')} µs; break-even {ev.get('break_even_calls', '-')} calls")


def detail_lines(r: Recommendation) -> list[tuple[str, str]]:
    """The per-recommendation evidence as (label, text) pairs: everything the table has no room for."""
    ev = r.evidence
    verb = {"convert": "add", "tune": "change to", "dehybridize": "remove"}.get(r.action, r.action)
    lines: list[tuple[str, str]] = [(verb, _decorator_text(r) if r.action != "dehybridize" else "@tf.function"),
                                    ("measured", _measured(r)), ("shapes", _shapes(r) or "-")]
    back = ev.get("backward")
    if back and back.get("saved_s"):
        lines.insert(2, ("backward", f"tape.gradient outside it {_fmt_s(back.get('gradient_before_s'))} s -> "
                                     f"{_fmt_s(back.get('gradient_after_s'))} s over {back.get('gradient_calls')} "
                                     f"call(s); {back.get('share', 1):.0%} of that credited here: "
                                     f"{back['saved_s']:+.3f} s (in the saving)"))
    check = ev.get("results_check")
    tests = _tests(r) + (f"; results vs eager: {check}" if check else "")
    if ev.get("results_detail"):
        tests += f" ({ev['results_detail']})"
    lines.append(("tests", tests))
    static = f"{ev.get('static_verdict', '-')}; confidence {r.confidence}"
    if ev.get("confidence_notes"):
        static += f" ({', '.join(ev['confidence_notes'])})"
    lines.append(("static", static))
    sc = ev.get("scalene") or {}
    if sc.get("python_share") is not None:
        lines.append(("scalene", f"{sc['python_share']:.0%} of its CPU time in Python"))
    nested = ev.get("nested")
    if nested:
        lines.append(("covers", f"{', '.join(nested.get('covers', []))} (converting them too is redundant)"))
    inside = ev.get("inside")
    if inside:
        lines.append(("inside", str(inside.get("note", ""))))
    xla = ev.get("xla")
    if xla:
        lines.append(("xla", (f"eager {_fmt_s(xla.get('eager_s'))} s, graph {_fmt_s(xla.get('graph_s'))} s, XLA "
                              f"{_fmt_s(xla.get('xla_s'))} s: {'kept' if xla.get('kept') else 'not kept'}"
                              if xla.get("tried", True) else "not tried") + f" ({xla.get('why', '')})"))
    lines += [("note", str(n)) for n in ev.get("notes") or []]
    lines += [("finding", f) for f in _findings(r)]
    lines += [("assumption", str(a)) for a in ev.get("assumptions") or []]
    return lines


def runs_line(plan: Plan) -> str:
    """Where the planning time went: each trial run's label and seconds (from the plan's meta)."""
    runs = plan.meta.get("runs") or []
    if not runs:
        return ""
    total = sum(float(x.get("duration_s") or 0.0) for x in runs)
    parts = ", ".join(f"{x.get('label')} {float(x.get('duration_s') or 0.0):.1f}" for x in runs)
    text = f"{len(runs)} trial run(s), {total:.1f} s: {parts}"
    if plan.meta.get("planning_s") is not None:
        text += f"; planning {float(plan.meta['planning_s']):.1f} s"
    if plan.meta.get("profile_duration_s") is not None:
        text += f", traced run {float(plan.meta['profile_duration_s']):.1f} s"
    return text


def _why(x: Rejection) -> Text:
    why = Text(x.reason, style="yellow")
    why.append(f": {x.detail}" if x.detail else "")
    return why


def print_table(plan: Plan, console: Console, verbose: bool = False) -> None:
    """The terminal report, readable at 80 columns: a compact ranked table, then a block per recommendation
    (exact decorator and evidence, wrapped under a label), then one entry per rejected candidate; names and
    ``path:line`` are never split across lines (planner/table.py)."""
    from hybridize.planner import table as layout  # names and places never split: see planner/table.py

    for note in plan.meta.get("workload_notes") or []:  # before the numbers: how far to trust them
        console.print(Text(f"hybridize: {note}", style="yellow"))
    for note in outside_notes(plan.meta):  # a hot loop no decorator reaches (planner/outside.py)
        console.print(Text(f"hybridize: {note}", style="yellow"))
    console.print(Text("hybridize: recommendations (ranked by measured seconds saved)", style="bold"))
    if plan.recommendations:
        layout.print_ranked(plan, console, [[r.action, _fmt_x(r.speedup), _fmt_s(r.saved_s), str(r.calls), _traces(r),
                                             r.confidence] for r in plan.recommendations])
        from hybridize.planner.cellplace import Places

        at = Places(plan).where
        for r in plan.recommendations:
            console.print()
            layout.print_heading(console, r, at(r.file, r.line))
            grid = Table.grid(padding=(0, 1), pad_edge=False)
            grid.add_column(no_wrap=True, style="dim", width=13)
            grid.add_column(overflow="fold")
            for label, text in detail_lines(r):
                grid.add_row("   " + label, Text(text, style="cyan" if label in ("add", "change to") else ""))
            console.print(grid)
    else:
        console.print("No conversion was measured to pay.", markup=False, highlight=False)
    if plan.rejected:
        console.print()
        console.print(Text(f"rejected candidates ({len(plan.rejected)})", style="bold"))
        layout.print_rejected(plan, console, [_why(x) for x in plan.rejected])
    console.print()
    console.print(_summary(plan), markup=False, highlight=False)
    for note in plan.meta.get("notes") or []:
        console.print(f"note: {note}", markup=False, highlight=False)
    runs = runs_line(plan)
    if runs and verbose:
        console.print(f"runs: {runs}", markup=False, highlight=False)


def render_json(plan: Plan) -> str:
    from hybridize.planner.cellplace import with_cells  # notebook functions: their cell

    return json.dumps(with_cells(plan, plan.to_json()), indent=2) + "\n"


def _md(text: Any) -> str:
    """Plain Markdown text: HTML is escaped (renderers pass raw HTML through), table pipes and newlines too."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _code(text: Any) -> str:
    """A Markdown code span (no HTML is rendered inside one; a backtick would end it, so none gets in)."""
    return "`" + str(text).replace("`", "'").replace("|", "\\|").replace("\n", " ").replace("\r", " ") + "`"


def render_markdown(plan: Plan) -> str:
    from hybridize.planner.cellplace import Places

    at = Places(plan).where  # `nb.ipynb[cell 6]:3` for notebook functions
    out = ["# hybridize report", "", _summary(plan), ""]
    if plan.perf_command:
        out += [f"Performance command: {_code(' '.join(plan.perf_command))}", ""]
    out += [f"> **Workload:** {_md(str(n))}\n" for n in plan.meta.get("workload_notes") or []]
    out += [f"> **Outside functions:** {_md(str(n))}\n" for n in outside_notes(plan.meta)]
    out += ["## Recommendations", ""]
    if plan.recommendations:
        out += ["| # | function | where | action | decorator | speedup | saved s | calls | traces | confidence |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        for r in plan.recommendations:
            out.append(f"| {_md(r.rank)} | {_code(r.function)} | {_md(at(r.file, r.line))} | {_md(r.action)} | "
                       f"{_code(r.decorator or 'remove @tf.function')} | {_fmt_x(r.speedup)} | {_fmt_s(r.saved_s)} | "
                       f"{_md(r.calls)} | {_md(_traces(r))} | {_md(r.confidence)} |")
        out.append("")
        for r in plan.recommendations:
            ev = r.evidence
            out += [f"### {_md(r.rank)}. {_code(r.function)} ({_md(at(r.file, r.line))})", "",
                    f"- action: **{_md(r.action)}** {_code(r.decorator or 'remove @tf.function')}",
                    f"- measured: {_md(_measured(r))}",
                    f"- shapes: {_md(_shapes(r) or '-')}",
                    f"- tests: {_md(_tests(r))}; results vs eager: {_md(ev.get('results_check'))} "
                    f"{_md(ev.get('results_detail', ''))}",
                    f"- static verdict: {_md(ev.get('static_verdict'))}; confidence {_md(r.confidence)}"
                    + (f" ({_md(', '.join(ev.get('confidence_notes') or []))})" if ev.get("confidence_notes") else "")]
            if (ev.get("scalene") or {}).get("python_share") is not None:
                out.append(f"- scalene: {ev['scalene']['python_share']:.0%} of its CPU time in Python")
            if ev.get("nested"):
                covers = ", ".join(ev["nested"].get("covers", []))
                out.append(f"- covers callees: {_md(covers)} (converting them too is redundant)")
            if ev.get("inside"):
                out.append(f"- {_md(str(ev['inside'].get('note', '')))}")
            out += [f"- note: {_md(n)}" for n in ev.get("notes") or []]
            out += [f"- finding: {_md(f)}" for f in _findings(r)]
            out += [f"- assumption: {_md(a)}" for a in ev.get("assumptions") or []]
            out.append("")
    else:
        out += ["No conversion was measured to pay.", ""]
    if runs_line(plan):
        out += [f"Trial runs: {_md(runs_line(plan))}", ""]
    out += ["## Rejected", ""]
    if plan.rejected:
        out += ["| function | where | reason | detail |", "|---|---|---|---|"]
        out += [f"| {_code(x.function)} | {_md(at(x.file, x.line))} | {_md(x.reason)} | {_md(x.detail)} |"
                for x in plan.rejected]
    else:
        out.append("None.")
    out.append("")
    return "\n".join(out)


def _chart(plan: Plan) -> str:
    """Inline SVG bars of seconds saved (recommendations) and lost (measured-slower rejections)."""
    rows: list[tuple[str, float]] = [(r.function, r.saved_s or 0.0) for r in plan.recommendations]
    for x in plan.rejected:
        ev = x.evidence or {}
        if x.reason in ("measured-slower", "too-few-calls") and ev.get("graph_s") is not None:
            rows.append((x.function, float(ev.get("eager_s") or 0.0) - float(ev["graph_s"])))
    if not rows:
        return "<p>No measurements to chart.</p>"
    rows = rows[:30]
    scale = max(abs(v) for _, v in rows) or 1.0
    label_w, bar_w, row_h = 340, 360, 22
    zero = label_w + (bar_w // 2 if any(v < 0 for _, v in rows) else 0)
    half = bar_w // 2 if zero != label_w else bar_w
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 90}" height="{row_h * len(rows) + 10}" '
             'role="img" aria-label="seconds saved per function">']
    for i, (name, value) in enumerate(rows):
        y = 5 + i * row_h
        w = abs(value) / scale * half
        left = zero if value >= 0 else zero - w
        color = "#2e7d32" if value >= 0 else "#c62828"
        short = name if len(name) <= 48 else "…" + name[-47:]
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">{html.escape(short)}</text>')
        parts.append(f'<rect x="{left:.1f}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row_h - 8}" fill="{color}">'
                     f'<title>{html.escape(name)}: {value:+.4f} s</title></rect>')
        parts.append(f'<text x="{zero + (w if value >= 0 else 0) + 4:.1f}" y="{y + 15}" font-size="11">{value:+.3f} s</text>')
    parts.append(f'<line x1="{zero}" y1="0" x2="{zero}" y2="{row_h * len(rows) + 10}" stroke="#555"/>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}
code{background:#f6f6f6;padding:1px 3px}details{margin:.4em 0}.high{color:#2e7d32}.medium{color:#e65100}.low{color:#c62828}"""


def render_html(plan: Plan) -> str:
    from hybridize.planner.cellplace import Places

    e = html.escape
    at = Places(plan).where  # `nb.ipynb[cell 6]:3` for notebook functions
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8"><title>hybridize report</title>',
           f"<style>{_CSS}</style></head><body>", "<h1>hybridize report</h1>", f"<p>{e(_summary(plan))}</p>"]
    if plan.perf_command:
        out.append(f"<p>Performance command: <code>{e(' '.join(plan.perf_command))}</code>; created {e(plan.created)}</p>")
    out += [f"<p><strong>Workload:</strong> {e(str(n))}</p>" for n in plan.meta.get("workload_notes") or []]
    out += [f"<p><strong>Outside functions:</strong> {e(str(n))}</p>" for n in outside_notes(plan.meta)]
    out += ["<h2>Time saved per function</h2>", _chart(plan), "<h2>Recommendations</h2>"]
    if plan.recommendations:
        out.append("<table><tr><th>#</th><th>function</th><th>action</th><th>decorator</th><th>speedup</th>"
                   "<th>saved s</th><th>calls</th><th>traces</th><th>confidence</th></tr>")
        for r in plan.recommendations:
            out.append(f"<tr><td>{e(str(r.rank))}</td><td><code>{e(r.function)}</code><br>{e(at(r.file, r.line))}</td>"
                       f"<td>{e(r.action)}</td><td><code>{e(r.decorator or 'remove @tf.function')}</code></td>"
                       f"<td>{e(_fmt_x(r.speedup))}</td><td>{e(_fmt_s(r.saved_s))}</td><td>{e(str(r.calls))}</td>"
                       f"<td>{e(_traces(r))}</td><td class=\"{e(r.confidence)}\">{e(r.confidence)}</td></tr>")
        out.append("</table>")
        for r in plan.recommendations:
            ev = r.evidence
            items = [_measured(r),
                     f"shapes: {_shapes(r) or '-'}", f"tests: {_tests(r)}",
                     f"results vs eager: {ev.get('results_check')} {ev.get('results_detail', '')}",
                     f"static verdict: {ev.get('static_verdict')}"]
            if (ev.get("scalene") or {}).get("python_share") is not None:
                items.append(f"scalene: {ev['scalene']['python_share']:.0%} of its CPU time in Python")
            if ev.get("nested"):
                items.append(f"covers callees: {', '.join(ev['nested'].get('covers', []))} (converting them too is redundant)")
            if ev.get("inside"):
                items.append(str(ev["inside"].get("note", "")))
            items += [f"note: {n}" for n in ev.get("notes") or []]
            items += [f"finding: {f}" for f in _findings(r)]
            items += [f"assumption: {a}" for a in ev.get("assumptions") or []]
            items += [f"confidence: {n}" for n in ev.get("confidence_notes") or []]
            tests = ev.get("tests") or []
            if tests:
                items.append("exercised by: " + ", ".join(tests[:10]))
            out.append(f"<details><summary>{e(str(r.rank))}. {e(r.function)}</summary><ul>"
                       + "".join(f"<li>{e(str(i))}</li>" for i in items) + "</ul></details>")
    else:
        out.append("<p>No conversion was measured to pay.</p>")
    out.append("<h2>Rejected</h2>")
    if plan.rejected:
        out.append("<table><tr><th>function</th><th>where</th><th>reason</th><th>detail</th></tr>")
        for x in plan.rejected:
            out.append(f"<tr><td><code>{e(x.function)}</code></td><td>{e(at(x.file, x.line))}</td>"
                       f"<td title=\"{e(REASONS.get(x.reason, x.reason))}\">{e(x.reason)}</td><td>{e(x.detail)}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>None.</p>")
    notes = plan.meta.get("notes") or []
    if notes:
        out.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(str(n))}</li>" for n in notes) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
