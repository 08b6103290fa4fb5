"""The plan: the planner's output and the rewriter's input (``.hybridize/plan.json``).

Both stages import these types and nothing of each other. The JSON keys are a public contract
(scripts read them); add keys freely, never rename or remove one without bumping
``SCHEMA_VERSION``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from hybridize.errors import HybridizeError
from hybridize.fileio import write_text_atomic as write_text_atomic  # re-exported for the stages
from hybridize.planfile import Checker, check_plan, check_settings

SCHEMA_VERSION = 1
PLAN_FILE = "plan.json"

Action = Literal["convert", "tune", "dehybridize", "extract"]
ACTIONS: tuple[str, ...] = ("convert", "tune", "dehybridize", "extract")


@dataclass(frozen=True)
class TensorSpecModel:
    """One ``tf.TensorSpec``: ``shape`` uses ``None`` for a dimension that varied; ``None`` shape = unknown rank."""

    shape: list[int | None] | None
    dtype: str  # TensorFlow dtype name: "float32", "int64", ...
    name: str | None = None

    def render(self, tf: str = "tf") -> str:
        shape = "None" if self.shape is None else "[" + ", ".join(
            "None" if d is None else str(d) for d in self.shape) + "]"
        text = f"{tf}.TensorSpec(shape={shape}, dtype={tf}.{self.dtype}"
        if self.name:
            text += f", name={self.name!r}"
        return text + ")"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TensorSpecModel:
        """From a spec already checked by ``planfile.check_spec`` (through ``Plan.from_json``)."""
        return cls(shape=data.get("shape"), dtype=str(data["dtype"]), name=data.get("name"))


@dataclass(frozen=True)
class Settings:
    """The ``tf.function`` arguments a recommendation asks for; ``None`` means "leave unset"."""

    reduce_retracing: bool | None = None
    input_signature: list[TensorSpecModel] | None = None
    jit_compile: bool | None = None
    autograph: bool | None = None

    def decorator_args(self, tf: str = "tf") -> list[str]:
        """The keyword arguments as source text, rendered only from values that pass the plan schema.

        Settings built in code skip the loader, so they are checked again here: a string where a boolean
        belongs would otherwise become code in the user's file.
        """
        check_settings(Checker("settings"), "", self.to_json())
        args: list[str] = []
        if self.input_signature is not None:
            specs = ", ".join(s.render(tf) for s in self.input_signature)
            args.append(f"input_signature=[{specs}]")
        if self.reduce_retracing is not None:
            args.append(f"reduce_retracing={self.reduce_retracing}")
        if self.jit_compile is not None:
            args.append(f"jit_compile={self.jit_compile}")
        if self.autograph is not None:
            args.append(f"autograph={self.autograph}")
        return args

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.input_signature is not None:
            data["input_signature"] = [asdict(s) for s in self.input_signature]
        for key in ("reduce_retracing", "jit_compile", "autograph"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Settings:
        """From settings checked by ``planfile.check_settings`` (or ``settings_from_decorator``)."""
        sig = data.get("input_signature")
        return cls(
            reduce_retracing=data.get("reduce_retracing"),
            input_signature=None if sig is None else [TensorSpecModel.from_json(s) for s in sig],
            jit_compile=data.get("jit_compile"),
            autograph=data.get("autograph"),
        )


def render_decorator(settings: Settings, tf: str = "tf", function_name: str = "function") -> str:
    """The decorator text, e.g. ``@tf.function(reduce_retracing=True)``; ``tf=""`` for a bare ``function``."""
    target = f"{tf}.{function_name}" if tf else function_name
    args = settings.decorator_args(tf or "tf")
    return f"@{target}({', '.join(args)})" if args else f"@{target}"


@dataclass
class Recommendation:
    rank: int
    id: int
    function: str  # "module:qualname"
    file: str  # relative to the project root
    line: int
    action: Action
    decorator: str  # exact text to add (convert) or the new decorator (tune); "" for dehybridize
    settings: Settings = field(default_factory=Settings)
    speedup: float | None = None  # measured per-call eager/graph ratio
    saved_s: float | None = None  # measured seconds saved on the performance command
    calls: int = 0
    traces_before: int | None = None
    traces_after: int | None = None
    confidence: str = "medium"  # "high" | "medium" | "low"
    evidence: dict[str, Any] = field(default_factory=dict)
    # action "extract" only: the loop region moved into a new step (``planfile.check_extract`` lists the keys)
    extract: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["settings"] = self.settings.to_json()
        if self.extract is None:
            del data["extract"]  # plans without extractions keep their exact earlier shape
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Recommendation:
        fields = dict(data)
        fields["settings"] = Settings.from_json(fields.get("settings") or {})
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in fields.items() if k in known})


@dataclass
class Rejection:
    function: str
    file: str
    line: int
    reason: str  # stable code, e.g. "blocker-finding", "measured-slower", "test-failure"
    detail: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rejection:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Plan:
    recommendations: list[Recommendation] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    # sha256 of every file a recommendation touches, as the planner saw it: the rewriter refuses stale ones.
    file_hashes: dict[str, str] = field(default_factory=dict)
    project_root: str = ""
    perf_command: list[str] = field(default_factory=list)
    created: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "project_root": self.project_root,
            "created": self.created,
            "perf_command": self.perf_command,
            "file_hashes": self.file_hashes,
            "meta": self.meta,
            "recommendations": [r.to_json() for r in self.recommendations],
            "rejected": [r.to_json() for r in self.rejected],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = "plan.json") -> Plan:
        """A plan from its JSON document; every field is checked first (``planfile``), one-line errors."""
        version = data.get("schema_version") if isinstance(data, dict) else None
        if version != SCHEMA_VERSION:
            raise HybridizeError(
                f"{where}: plan has schema version {str(version)[:20]!r}, this hybridize reads {SCHEMA_VERSION}: "
                "run `hybridize profile` again"
            )
        data = check_plan(data, where)
        return cls(
            recommendations=[Recommendation.from_json(r) for r in data.get("recommendations", [])],
            rejected=[Rejection.from_json(r) for r in data.get("rejected", [])],
            file_hashes=dict(data.get("file_hashes", {})),
            project_root=str(data.get("project_root", "")),
            perf_command=list(data.get("perf_command", [])),
            created=str(data.get("created", "")),
            meta=dict(data.get("meta", {})),
        )

    def save(self, path: Path) -> None:
        write_text_atomic(path, json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n")

    @classmethod
    def load(cls, path: Path) -> Plan:
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise HybridizeError(f"plan {path} is not UTF-8 text: run `hybridize profile` again") from None
        except FileNotFoundError:
            raise HybridizeError(f"no plan at {path}: run `hybridize profile -- CMD` first") from None
        except OSError as exc:
            raise HybridizeError(f"cannot read plan {path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except RecursionError:
            raise HybridizeError(f"plan {path} is nested too deeply to be a plan") from None
        except json.JSONDecodeError as exc:
            raise HybridizeError(f"plan {path} is not valid JSON (line {exc.lineno}): run `hybridize profile` again") from None
        except ValueError as exc:  # an integer of more digits than Python converts
            raise HybridizeError(f"plan {path} is not a plan ({str(exc)[:80]})") from None
        if not isinstance(data, dict):
            raise HybridizeError(f"plan {path} is not a plan object")
        return cls.from_json(data, path.name)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
