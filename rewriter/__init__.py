"""hybridize.rewriter: apply a plan's recommendations to the source, safely.

Public API (see ``docs`` in each module):

- ``apply.apply_plan(root, data_dir, plan, *, ids=None, top=None, diff_only=False, strict=False) -> ApplyResult``
- ``apply.undo_last(root, data_dir, *, force=False) -> list[str]``
- ``apply.verify(root, data_dir, command, timeout_s=None) -> int`` (runs ``command``; undoes the last apply if it fails)
- ``edits.convert / tune / dehybridize(module, qualname, line, ...)`` for single libcst edits.
"""
