"""The demo's cheap parts (the whole demo is the README's first command, run by hand: minutes of TensorFlow)."""

from __future__ import annotations

from hybridize.commands.demo import _perf_seconds, examples_dir


def test_the_example_project_is_found_with_its_perf_command() -> None:
    root = examples_dir()
    assert (root / "perf.py").is_file() and (root / "tests").is_dir()
    assert "perf-command" in (root / "pyproject.toml").read_text()


def test_workload_time_is_the_wall_time_perf_prints_not_cpu_time() -> None:
    line = "perf: 4.97 s wall (5.20 s CPU), 90 steps, final loss=0.1"
    assert _perf_seconds("noise 1 s\n" + line, fallback=99.0) == 4.97
    assert _perf_seconds("no timing printed", fallback=12.5) == 12.5


def test_every_file_of_the_example_project_ships_in_the_wheel() -> None:
    """`hybridize demo` from an installed wheel copies the packaged example: a file added to examples/ must be listed
    in pyproject.toml (a package for each folder of modules, package-data for the rest), or the demo breaks there."""
    import fnmatch
    from pathlib import Path

    import tomllib

    repo = Path(__file__).resolve().parents[1]
    setup = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs = {path: pkg for pkg, path in setup["package-dir"].items() if path.startswith("examples")}
    assert set(dirs.values()) <= set(setup["packages"])
    missing = []
    for f in sorted((repo / "examples").rglob("*")):
        rel = f.relative_to(repo)
        if f.is_dir() or any(part in ("__pycache__", ".hybridize") or part.startswith(".") for part in rel.parts):
            continue
        pkg = dirs.get(rel.parent.as_posix())
        data = setup["package-data"].get(pkg or "", []) + setup["package-data"].get("*", [])
        if pkg is None or (f.suffix != ".py" and not any(fnmatch.fnmatch(f.name, pat) for pat in data)):
            missing.append(rel.as_posix())
    assert not missing, f"not shipped with the wheel: {missing}"
