"""The terminal report's layout: names and places are searchable tokens, so they are never broken across lines.

A qualified name or a ``path:line`` that rich wrapped at the column edge (``GradientsInputs.compute`` /
``_gradients``) is a name nobody can grep for. Here every name is printed whole on a line of its own when the
columns have no room for it, and a long path is shortened in the middle (``tf_explain/…/gradients_inputs.py:17``),
keeping its file name and line. The width is the console's: the terminal's on a TTY, 80 when piped (rich's rule).
"""

from __future__ import annotations

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from hybridize.identity import FunctionId
from hybridize.plan import Plan, Recommendation
from hybridize.planner.cellplace import Places

ELLIPSIS = "…"
NAME_MIN = 16  # below this the numbers go on a line of their own


def shorten_path(where: str, width: int) -> str:
    """``where`` (``dir/…/file.py:LINE``) in at most ``width`` characters by dropping whole folders from the middle;
    the file name and line are always kept (the result is longer than ``width`` only when they alone are)."""
    if len(where) <= width:
        return where
    parts = where.split("/")
    if len(parts) == 1:
        return where
    head, tail = parts[:-1], parts[-1]
    # keep as many leading and trailing folders as fit, alternating (the top folder says which package it is)
    keep_front: list[str] = []
    keep_back: list[str] = []
    middle = list(head)

    def text(front: list[str], back: list[str]) -> str:
        return "/".join([*front, ELLIPSIS, *back, tail])

    best = text([], [])
    take_front = True
    while middle:
        front, back = list(keep_front), list(keep_back)
        if take_front:
            front.append(middle[0])
        else:
            back.insert(0, middle[-1])
        candidate = "/".join([*front, *back, tail]) if len(front) + len(back) == len(head) else text(front, back)
        if len(candidate) > width:
            if take_front and len(middle) > 1:
                take_front = False  # the first folder did not fit: try the last one
                continue
            break
        keep_front, keep_back = front, back
        if take_front:
            middle.pop(0)
        else:
            middle.pop()
        best = candidate
        take_front = not take_front
    return best if len(best) <= width or len(best) < len(where) else where


def _qualname(function: str) -> str:
    return FunctionId.qualname_of(function) or function


def _line(console: Console, text: Text) -> None:
    """One physical line: never wrapped or cropped by rich (a longer line only happens for a longer name)."""
    console.print(text, soft_wrap=True)


def print_ranked(plan: Plan, console: Console, cells: list[list[str]]) -> None:
    """The ranked table. ``cells``: per recommendation the right-hand columns (action, speedup, ..., confidence)."""
    at = Places(plan).where  # `nb.ipynb[cell 6]:3` for notebook functions
    headers = ["action", "speedup", "saved s", "calls", "traces", "conf."]
    left = [True, False, False, False, False, True]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    rank_w = max(1, *(len(str(r.rank)) for r in plan.recommendations))
    right_w = sum(widths) + 2 * len(widths)
    width = console.width
    name_w = width - rank_w - 2 - right_w
    stacked = name_w < NAME_MIN

    def numbers(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if lj else c.rjust(w) for c, w, lj in zip(row, widths, left, strict=True))

    indent = " " * (rank_w + 2)
    if stacked:
        header = Text("#".rjust(rank_w) + "  function / where", style="bold")
        _line(console, header)
        _line(console, Text(indent + numbers(headers), style="bold"))
    else:
        _line(console, Text("#".rjust(rank_w) + "  " + "function / where".ljust(name_w) + "  " + numbers(headers),
                            style="bold"))
    _line(console, Text("─" * min(width, rank_w + 2 + max(name_w, NAME_MIN) + right_w)))
    for r, row in zip(plan.recommendations, cells, strict=True):
        name = _qualname(r.function)
        where = at(r.file, r.line)
        rank = str(r.rank).rjust(rank_w) + "  "
        if stacked:
            _line(console, Text(rank) + Text(name, style="bold"))
            _line(console, Text(indent + shorten_path(where, width - len(indent)), style="dim"))
            _line(console, Text(indent + numbers(row)))
        elif len(name) <= name_w:
            _line(console, Text(rank) + Text(name.ljust(name_w), style="bold") + Text("  " + numbers(row)))
            _line(console, Text(indent + shorten_path(where, width - len(indent)), style="dim"))
        else:  # the name alone on its line; the place and the numbers under it
            _line(console, Text(rank) + Text(name, style="bold"))
            _line(console, Text(indent) + Text(shorten_path(where, name_w).ljust(name_w), style="dim")
                  + Text("  " + numbers(row)))


def _name_and_place(console: Console, first: str, function: str, where: str, indent: str, style: str,
                    paren: bool = True) -> None:
    """``first + function  (where)`` on one line when it fits; else the function id whole on its own line (or, when
    even that is too wide, the qualname, then ``in module``), and the place shortened on the next."""
    width = console.width
    wrap = "({})" if paren else "{}"
    if len(first) + len(function) + len(where) + 4 <= width:
        _line(console, Text(f"{first}{function}", style=style) + Text("  " + wrap.format(where), style="dim"))
        return
    module, qualname = FunctionId.split_name(function)
    if len(first) + len(function) <= width or not module or not qualname:
        _line(console, Text(f"{first}{function}", style=style))
        _line(console, Text(indent + wrap.format(shorten_path(where, width - len(indent) - 2)), style="dim"))
        return
    _line(console, Text(f"{first}{qualname}", style=style))
    place = f"in {module}  {wrap.format(where)}"
    if len(indent) + len(place) <= width:
        _line(console, Text(indent + place, style="dim"))
    else:
        _line(console, Text(f"{indent}in {module}", style="dim"))
        _line(console, Text(indent + wrap.format(shorten_path(where, width - len(indent) - 2)), style="dim"))


def print_heading(console: Console, r: Recommendation, where: str | None = None) -> None:
    """``N. module:qualname  (path:line)``, the place on the next line when both do not fit."""
    where = where or f"{r.file}:{r.line}"
    _name_and_place(console, f"{r.rank}. ", r.function, where, " " * (len(str(r.rank)) + 2), "bold")


def print_rejected(plan: Plan, console: Console, why: list[Text]) -> None:
    """One line per rejection (name, place, reason) when the widest name and place leave room for the reason;
    else the name and place on one line (or two) and the reason indented under them."""
    width = console.width
    name_w = max(len(x.function) for x in plan.rejected)
    at = Places(plan).where  # `nb.ipynb[cell 6]:3` for notebook functions
    where_w = max(len(at(x.file, x.line)) for x in plan.rejected)
    if width >= 120 and name_w + where_w + 4 + 40 <= width:
        grid = Table.grid(padding=(0, 2), pad_edge=False)
        grid.add_column(no_wrap=True, min_width=name_w)
        grid.add_column(no_wrap=True, style="dim", min_width=where_w)
        grid.add_column(overflow="fold")
        for x, reason in zip(plan.rejected, why, strict=True):
            grid.add_row(Text(x.function), at(x.file, x.line), reason)
        console.print(grid)
        return
    for x, reason in zip(plan.rejected, why, strict=True):
        _name_and_place(console, "", x.function, at(x.file, x.line), "   ", "", paren=False)
        console.print(Padding(reason, (0, 0, 0, 3)))
