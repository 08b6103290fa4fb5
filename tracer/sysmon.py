"""The Python 3.12+ back end: a ``sys.monitoring`` tool.

``PY_START`` is the only global event that fires on every function: for code outside the project the callback
returns ``DISABLE`` once and that code location is never reported again. Project code objects get *local*
``PY_RETURN``/``PY_YIELD``/``PY_RESUME`` events for inclusive time. ``PY_UNWIND`` and ``PY_THROW`` can only be global
(and returning ``DISABLE`` from them switches them off for every location), so their callbacks just check a dict.

Two TensorFlow code objects are kept enabled on purpose: ``Function.__call__`` (to count calls of existing
``tf.function``s in the project) and AutoGraph's generated ``tf__name`` functions (which run in place of the
original while a ``tf.function`` traces: they count as graph calls of the original).
"""

from __future__ import annotations

import sys
import threading
from time import perf_counter
from types import CodeType
from typing import Any

from hybridize.tracer.state import AUTOGRAPH_MARK, Record, Recorder, bind_call

_mon: Any = getattr(sys, "monitoring", None)
TOOL_NAME = "hybridize"
PREFERRED_TOOL_IDS = (4, 3, 5, 2, 0)
_LOCAL = (_mon.events.PY_RETURN | _mon.events.PY_YIELD | _mon.events.PY_RESUME) if _mon is not None else 0


def _is_tf_function_call(code: CodeType) -> bool:
    return code.co_name == "__call__" and code.co_filename.endswith("polymorphic_function.py") and \
        "tensorflow" in code.co_filename


class Monitor:
    """One sys.monitoring tool feeding a Recorder."""

    def __init__(self, recorder: Recorder) -> None:
        self.rec = recorder
        self.tool: int | None = None
        self.special: dict[CodeType, str] = {}  # "tf_call" | "autograph"
        self.enabled: set[CodeType] = set()  # project code objects with local return/yield/resume events on
        self.line_mask = 0  # LINE when measuring lines: each line location reports once, then is DISABLEd
        self.project_mask = _LOCAL
        self.lines: set[tuple[CodeType, int]] = set()
        self.stacks: dict[int, tuple[list[tuple[CodeType, Record | None, float | None]], dict[Any, int]]] = {}

    def start(self) -> bool:
        """Take a free tool id and switch the events on; False (and no effect) when no id is free."""
        if _mon is None:
            return False
        for tool in PREFERRED_TOOL_IDS:
            try:
                _mon.use_tool_id(tool, TOOL_NAME)
            except ValueError:
                continue
            self.tool = tool
            break
        else:
            return False
        ev = _mon.events
        _mon.register_callback(self.tool, ev.PY_START, self._on_start)
        _mon.register_callback(self.tool, ev.PY_RESUME, self._on_resume)
        _mon.register_callback(self.tool, ev.PY_THROW, self._on_resume)
        _mon.register_callback(self.tool, ev.PY_RETURN, self._on_leave)
        _mon.register_callback(self.tool, ev.PY_YIELD, self._on_leave)
        _mon.register_callback(self.tool, ev.PY_UNWIND, self._on_leave)
        _mon.set_events(self.tool, ev.PY_START | ev.PY_UNWIND | ev.PY_THROW)
        return True

    def measure_lines(self) -> None:
        """Line coverage of project functions: local LINE events, each location disabled after its first report."""
        if self.tool is None:
            return
        _mon.register_callback(self.tool, _mon.events.LINE, self._on_line)
        self.line_mask = _mon.events.LINE
        self.project_mask = _LOCAL | _mon.events.LINE

    def after_fork(self) -> None:
        self.stacks.clear()

    def _on_line(self, code: CodeType, line: int) -> Any:
        self.lines.add((code, line))
        return _mon.DISABLE

    def executed_lines(self) -> dict[str, list[int]]:
        """The shard's ``coverage``: executed lines per project file."""
        out: dict[str, set[int]] = {}
        for code, line in list(self.lines):
            rec = self.rec.records.get(code)
            if rec is not None:
                out.setdefault(rec.file, set()).add(line + self.rec.cells.offset(code.co_filename))
        return {file: sorted(lines) for file, lines in out.items()}

    def stop(self) -> None:
        if self.tool is None or _mon is None:
            return
        tool, self.tool = self.tool, None
        try:
            _mon.set_events(tool, 0)
            for event in (_mon.events.PY_START, _mon.events.PY_RESUME, _mon.events.PY_THROW, _mon.events.PY_RETURN,
                          _mon.events.PY_YIELD, _mon.events.PY_UNWIND, _mon.events.LINE):
                _mon.register_callback(tool, event, None)
            _mon.free_tool_id(tool)
        except Exception as exc:
            self.rec.internal_error(exc)

    # -- callbacks: each catches everything ------------------------------------------------------------------------
    def _on_start(self, code: CodeType, offset: int) -> Any:
        try:
            rec = self.rec.records.get(code)
            if rec is not None and rec.light:  # the hot path: a busy pure-Python function
                if self.rec.light_call(rec, self.rec.is_graph()):
                    self.rec.capture(rec, sys._getframe(1).f_locals)
                    if not rec.light:  # a tensor-like argument showed up: time it again from the next call
                        _mon.set_local_events(self.tool, code, self.project_mask)
                        self.enabled.add(code)
                return None
            frame = sys._getframe(1)
            if rec is None:
                kind = self.special.get(code)
                if kind is None:
                    kind = self._first_sight(code, frame)
                    if kind is None:
                        return _mon.DISABLE
                    if kind == "project":
                        rec = self.rec.records[code]
                if kind == "tf_call":
                    self._tf_call(code, frame)
                    return None
                if kind == "autograph":
                    target = self.rec.record_for_autograph(code, frame)
                    if target is not None:
                        self.rec.add_call(target, frame.f_locals, True, count_call=not target.hybrid)
                    return None
                if rec is None:
                    return None
            if code not in self.enabled:  # a record first made from a tf.function or AutoGraph frame
                _mon.set_local_events(self.tool, code, self.project_mask)
                self.enabled.add(code)
            self.rec.add_call(rec, frame.f_locals, self.rec.is_graph(), count_call=not rec.hybrid)
            if rec.light:  # just went light: stop timing it (this call is not pushed)
                _mon.set_local_events(self.tool, code, self.line_mask)
                self.enabled.discard(code)
                return None
            self._push(code, rec)
        except BaseException as exc:
            self.rec.internal_error(exc)
        return None

    def _first_sight(self, code: CodeType, frame: Any) -> str | None:
        """Classify a code object seen for the first time (or again after someone's ``restart_events``)."""
        filename = code.co_filename
        if AUTOGRAPH_MARK in filename:
            if code.co_name.startswith("tf__"):
                self.special[code] = "autograph"
                return "autograph"
            return None
        if _is_tf_function_call(code):
            self.special[code] = "tf_call"
            _mon.set_local_events(self.tool, code, _LOCAL)
            return "tf_call"
        if self.rec.record_for(code, frame.f_globals) is None:
            return None
        return "project"

    def _tf_call(self, code: CodeType, frame: Any) -> None:
        loc = frame.f_locals
        fn = loc.get("self")
        rec = self.rec.record_for_function_object(fn) if fn is not None else None
        if rec is not None:
            self.rec.add_call(rec, bind_call(fn, rec, loc.get("args", ()), loc.get("kwds", {})), self.rec.is_graph())
        self._push(code, rec)

    def _on_resume(self, code: CodeType, offset: int, *exc: Any) -> Any:
        try:
            rec = self.rec.records.get(code)
            if rec is not None:
                self._push(code, rec)
        except BaseException as e:
            self.rec.internal_error(e)
        return None

    def _on_leave(self, code: CodeType, offset: int, value: Any) -> Any:
        try:
            st = self.stacks.get(threading.get_ident())
            if st is None:
                return None
            stack, active = st
            if not stack:
                return None
            if stack[-1][0] is not code:
                # tolerate a missed leave event: drop entries above a matching one, else ignore this event
                for i in range(len(stack) - 2, max(-1, len(stack) - 9), -1):
                    if stack[i][0] is code:
                        while len(stack) > i + 1:
                            c, r, _ = stack.pop()
                            active[r if r is not None else c] -= 1
                        break
                else:
                    return None
            _, rec, t0 = stack.pop()
            key = rec if rec is not None else code
            active[key] -= 1
            if t0 is not None and rec is not None:
                rec.total_s += perf_counter() - t0
        except BaseException as exc:
            self.rec.internal_error(exc)
        return None

    def _push(self, code: CodeType, rec: Record | None) -> None:
        tid = threading.get_ident()
        st = self.stacks.get(tid)
        if st is None:
            st = self.stacks[tid] = ([], {})
        stack, active = st
        key = rec if rec is not None else code
        n = active.get(key, 0)
        active[key] = n + 1
        stack.append((code, rec, perf_counter() if n == 0 else None))
