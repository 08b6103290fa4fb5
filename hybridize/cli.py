"""The ``hybridize`` command line.

Commands are loaded lazily from ``hybridize.commands.<name>`` so that ``hybridize --help`` and the
fast commands never import a stage they do not use (and nothing here imports TensorFlow). Every
user error surfaces as one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from hybridize import __version__
from hybridize.errors import HybridizeError

# name -> (module, attribute, one-line help shown in `hybridize --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "profile": ("hybridize.commands.profile", "profile", "Run a command under the tracer, then analyse, try and rank."),
    "functions": ("hybridize.commands.functions", "functions", "What the last profile saw, per function."),
    "combine": ("hybridize.commands.combine", "combine", "Merge profiles taken on several machines or CI shards."),
    "check": ("hybridize.commands.check", "check", "Lint graph-unsafe code in tf.functions (exit 1 on a blocker)."),
    "report": ("hybridize.commands.report", "report", "Show the ranked plan again (table, json, markdown, html)."),
    "apply": ("hybridize.commands.apply", "apply", "Rewrite the source with the plan's recommendations."),
    "extract": ("hybridize.commands.extract", "extract", "Extract a loop's tensor work into a @tf.function step (unmeasured)."),
    "demo": ("hybridize.commands.demo", "demo", "Run the whole pipeline on a copy of the bundled example project."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module_name, attr, _ = spec
        module = importlib.import_module(module_name)
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing must not import every stage: use the static help lines.
        with formatter.section("Commands"):
            formatter.write_dl([(name, spec[2]) for name, spec in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hybridize")
def cli() -> None:
    """Profiler-guided tf.function placement for TensorFlow 2 programs.

    \b
    hybridize profile -- pytest tests/        trace, analyse, try, rank
    hybridize report --format html -o r.html  review
    hybridize apply --top 3                   rewrite the source (preview with --diff)
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point: turns every expected failure into one line and an exit status."""
    try:
        rv: Any = cli.main(args=argv, prog_name="hybridize", standalone_mode=False)
    except HybridizeError as exc:
        click.echo(f"hybridize: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:  # bare `hybridize` / `hybridize <group>`: the help is the answer
        click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
        sys.exit(exc.exit_code)
    except click.exceptions.ClickException as exc:
        click.echo(f"hybridize: error: {one_line(exc)}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("hybridize: interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("hybridize: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)


def one_line(exc: click.exceptions.ClickException) -> str:
    """Click's message on one line (click prints usage, a hint and the error on three), with where to find help."""
    message = " ".join(exc.format_message().split())
    if isinstance(exc, click.exceptions.UsageError) and exc.ctx is not None:
        return f"{message.rstrip('.')} (see `{exc.ctx.command_path} --help`)"
    return message
