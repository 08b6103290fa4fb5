"""``python -m hybridize.nbrun NB.ipynb``: execute a notebook the way ``jupyter nbconvert --execute`` does.

This is the command ``hybridize profile NB.ipynb`` traces (and the performance command of its trial runs):
the cells run in a Jupyter kernel started by ``nbclient``, from the notebook's folder, top to bottom. The
notebook file is only read, never written (outputs are discarded). Exit status 1 when a cell raises, with
the cell's number and the error on one line; 2 when the notebook cannot be run at all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hybridize.errors import HybridizeError
from hybridize.notebook import INSTALL_HINT
from hybridize.project import resolve_project_root

SHUTDOWN_WAIT_S = 120.0  # seconds a kernel has to exit (and write its records) once the notebook has run


def shorthand(command: list[str]) -> tuple[list[str], Path] | None:
    """``hybridize profile NB.ipynb``: the command that executes it and the folder to look for the root from."""
    if len(command) != 1 or not command[0].endswith(".ipynb"):
        return None
    path = Path(command[0])
    if not path.is_file():
        raise HybridizeError(f"no such notebook: {path}")
    try:
        import nbclient  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError:
        raise HybridizeError(f"running a notebook needs nbformat, nbclient and ipykernel ({INSTALL_HINT})") from None
    return [sys.executable, "-m", "hybridize.nbrun", str(path.resolve())], path.resolve().parent


def project_root_for(folder: Path) -> Path:
    """The project holding a notebook; a folder with only notebooks in it is its own project."""
    return resolve_project_root(None, folder, start_is_project=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hybridize.nbrun", description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--timeout", type=float, default=None, help="seconds per cell (default: none)")
    parser.add_argument("--kernel", default=None, help="kernel name (default: the notebook's, else python3)")
    args = parser.parse_args(argv)
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError:
        print(f"hybridize: error: running a notebook needs nbclient and ipykernel ({INSTALL_HINT})", file=sys.stderr)
        return 2
    path: Path = args.notebook
    try:
        nb = nbformat.read(str(path), as_version=4)
    except (OSError, ValueError) as exc:
        print(f"hybridize: error: cannot read notebook {path}: {exc}", file=sys.stderr)
        return 2
    kernel = args.kernel or (nb.metadata.get("kernelspec") or {}).get("name") or "python3"
    if args.kernel is None and not _kernel_exists(kernel):
        print(f"hybridize: note: kernel {kernel!r} named by the notebook is not installed; using python3", file=sys.stderr)
        kernel = "python3"
    client = NotebookClient(nb, timeout=args.timeout, kernel_name=kernel, config=_config(),
                            resources={"metadata": {"path": str(path.resolve().parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        index = next((i for i, c in enumerate(nb.cells) if any(o.get("output_type") == "error" for o in c.get("outputs", []))),
                     None)
        where = f"cell {index + 1}" if index is not None else "a cell"
        last = f"{exc.ename}: {exc.evalue}" if getattr(exc, "ename", None) else type(exc).__name__
        print(f"hybridize: error: {path}: {where} raised: {last}", file=sys.stderr)
        return 1
    except Exception as exc:  # kernel died, timeout, missing kernel: one line, no traceback
        print(f"hybridize: error: {path}: could not run the notebook ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    return 0


def _config() -> Any:
    """The kernel gets ``SHUTDOWN_WAIT_S`` to exit after the last cell. Why: its exit handlers write what the
    tracer and the trial hook recorded, and jupyter_client's default (SIGTERM 2.5 s after the shutdown request,
    SIGKILL at 5 s) killed a loaded kernel before they ran: the run then looked as if no function was called."""
    from traitlets.config import Config

    config = Config()
    config.KernelManager.shutdown_wait_time = SHUTDOWN_WAIT_S
    return config


def _kernel_exists(name: str) -> bool:
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        return True
    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return False
    except Exception:
        return True
    return True


if __name__ == "__main__":
    sys.exit(main())
