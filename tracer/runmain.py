"""Runs a program's main module the way ``python`` does, compiling it through hooks (as ``coverage run`` does).

Import hooks never see the file of ``python script.py`` (it is compiled by the interpreter itself), and a script's
functions and hot loop live there. So the trial runs (definition-time conversions) and the 3.10/3.11 tracer
(instrumentation) run the main program through :func:`run` instead: a real ``__main__`` module with the same
``sys.argv``, ``sys.path[0]``, ``__file__``, ``__spec__`` and ``__package__`` as a plain run, compiled from the
original file name (tracebacks, ``inspect.getsource``, linecache and AutoGraph keep working); an exception or
``sys.exit`` leaves the interpreter exactly as it would have.

Cold runs use ``python -m hybridize.tracer.runscript SCRIPT ARGS`` (or ``-m MODULE ARGS``, :func:`wrap_command`);
warm-started children call :func:`run` directly.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
import types
from collections.abc import Callable
from typing import Any

ENTRY = "hybridize.tracer.runscript"  # the ``-m`` entry (apart from this module, which boot hooks import first)

# hooks tried in order: (path, module name or "__main__") -> a code object for that file, or None to pass
CODE_HOOKS: list[Callable[[str, str], Any]] = []


def add_code_hook(hook: Callable[[str, str], Any]) -> None:
    if hook not in CODE_HOOKS:
        CODE_HOOKS.append(hook)


def compile_file(path: str, source: bytes | str, name: str) -> Any:
    """The code of the main file: the first hook's, else the plain compilation ``python`` itself would make."""
    for hook in CODE_HOOKS:
        try:
            code = hook(path, name)
        except SyntaxError:
            raise
        except Exception:  # a failing hook never breaks the program: it runs uninstrumented
            code = None
        if code is not None:
            return code
    return compile(source, path, "exec", dont_inherit=True)


_REPLACED: list[Any] = []  # the modules our __main__ replaced stay alive (their code may still be running)


def _fresh_main() -> types.ModuleType:
    _REPLACED.append(sys.modules.get("__main__"))
    main = types.ModuleType("__main__")
    main.__builtins__ = __builtins__  # type: ignore[attr-defined]
    sys.modules["__main__"] = main
    return main


def run(argv: list[str]) -> None:
    """Execute ``argv`` (``[SCRIPT, *ARGS]`` or ``["-m", MODULE, *ARGS]``) as the program's ``__main__``."""
    if argv[:1] == ["-m"]:
        _run_module(argv[1], argv[2:])
    else:
        _run_path(argv[0], argv[1:])


def _run_path(script: str, args: list[str]) -> None:
    path = os.path.abspath(script)
    with open(path, "rb") as fh:
        source = fh.read()
    sys.argv = [script, *args]
    sys.path[0] = os.path.dirname(os.path.realpath(path))
    main = _fresh_main()
    main.__file__ = path
    main.__cached__ = None  # type: ignore[attr-defined]
    main.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)
    main.__spec__ = None
    main.__package__ = None
    code = compile_file(path, source, "__main__")
    exec(code, main.__dict__)


def _run_module(name: str, args: list[str]) -> None:
    import runpy

    sys.argv = ["-m", *args]
    sys.path[0] = os.getcwd()
    # runpy's own lookup (packages run their __main__, the package is imported first, errors read as python's)
    mod_name, spec, plain = runpy._get_module_details(name)  # type: ignore[attr-defined]
    path = spec.origin
    main = _fresh_main()
    code = plain
    if isinstance(path, str) and path.endswith(".py") and spec.loader is not None:
        try:
            source = spec.loader.get_source(mod_name)
        except Exception:
            source = None
        if source is not None:
            code = compile_file(path, source, mod_name)
    sys.argv[0] = path if isinstance(path, str) else name
    main.__dict__.update(__name__="__main__", __file__=path, __cached__=spec.cached, __doc__=None,
                         __loader__=spec.loader, __package__=spec.parent, __spec__=spec)
    exec(code, main.__dict__)


def wrap_command(cmd: list[str]) -> list[str]:
    """``cmd`` run through this runner when it is ``PY SCRIPT``, ``PY -m MODULE`` or a Python console script
    (unchanged otherwise: interpreter flags, shell commands)."""
    from hybridize.process import split_command

    split = split_command(cmd)
    if split is None:
        return list(cmd)
    python, argv = split
    return [python, "-m", ENTRY, *argv]


def main_file(cmd: list[str], root: str | os.PathLike[str] | None = None) -> str | None:
    """The main file ``cmd`` would run (absolute), or None when it runs none we can tell."""
    from hybridize.process import split_command

    split = split_command(cmd)
    if split is None:
        return None
    argv = split[1]
    if argv[:1] == ["-m"]:
        extra = () if root is None else (os.fspath(root), os.path.join(os.fspath(root), "src"))
        return _module_file(argv[1], extra)
    return os.path.abspath(argv[0])


def run_as_main(argv: list[str]) -> None:
    """:func:`run`, with an uncaught exception reported as ``python`` reports it (our own frames left out) and
    the exit status 1 it gives."""
    try:
        run(argv)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
        raise SystemExit(1) from None


def _main() -> None:
    """Entry point of ``python -m hybridize.tracer.runscript``."""
    if len(sys.argv) < 2 or (sys.argv[1] == "-m" and len(sys.argv) < 3):
        print("usage: python -m hybridize.tracer.runscript (SCRIPT | -m MODULE) [ARGS...]", file=sys.stderr)
        raise SystemExit(2)
    run_as_main(sys.argv[1:])


def _module_file(name: str, extra: tuple[str, ...] = ()) -> str | None:
    """The source file ``python -m name`` would run, found on the current folder, ``PYTHONPATH`` and ``extra``
    (a project root and its ``src/``) only: never imported here, which would run the package's code in this
    process; None when it is not found there."""
    dirs = [os.getcwd(), *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p), *extra]
    parts = name.split(".")
    for base in dirs:
        stem = os.path.join(base, *parts)
        for candidate in (stem + ".py", os.path.join(stem, "__main__.py")):
            if os.path.isfile(candidate):
                return os.path.abspath(candidate)
    return None


def main_module(cmd: list[str], root: str | os.PathLike[str]) -> str | None:
    """The identity module name (``hybridize.identity.module_name_for``) of the main file ``cmd`` runs when that
    file is in the project under ``root``; None otherwise (a console script, ``python -c``, a file elsewhere)."""
    from hybridize.identity import module_name_for

    path = main_file(cmd, root)
    if path is None:
        return None
    real, base = os.path.realpath(path), os.path.realpath(root)
    if not real.startswith(base + os.sep):
        return None
    return module_name_for(os.path.relpath(real, base).replace(os.sep, "/"))


def traced_command(cmd: list[str], root: str | os.PathLike[str]) -> list[str]:
    """The profiled command: on 3.10/3.11 a project main file runs through this runner, so that the import-hook
    tracer instruments it like the modules it imports (3.12's ``sys.monitoring`` sees it anyway)."""
    if sys.version_info >= (3, 12) or main_module(cmd, root) is None:
        return list(cmd)
    return wrap_command(cmd)
