"""How many distinct objects a method was called on: a ``tf.function`` method traces once per object.

The counter itself, the recorder both back ends feed, the profile store, and one real profile (the 3.12+
``sys.monitoring`` back end or the 3.11 import hook, whichever interpreter runs these tests)."""

from __future__ import annotations

import gc
import sqlite3
from pathlib import Path

from hybridize.tracer.describe import InstanceOf
from hybridize.tracer.instances import MAX_LIVE, Instances
from hybridize.tracer.state import Record, Recorder, param_names
from hybridize.tracer.store import load_profile

from .conftest import PY, functions_json, hybridize, make_project


class Plain:
    def step(self, x: int) -> int:
        return x


class Slotted:  # no __weakref__ slot: weakref.ref() raises TypeError
    __slots__ = ("v",)

    def __init__(self) -> None:
        self.v = 0


def test_one_object_called_ten_times_is_one_instance() -> None:
    inst = Instances()
    obj = Plain()
    for _ in range(10):
        inst.add(obj)
    assert (inst.count, inst.capped) == (1, False)


def test_ten_fresh_objects_freed_in_a_loop_are_ten_even_when_ids_are_recycled() -> None:
    inst = Instances()
    ids = []
    for _ in range(10):
        obj = Plain()
        ids.append(id(obj))
        inst.add(obj)
        del obj  # freed here: the next Plain() usually takes the same address
    assert len(set(ids)) < len(ids), "CPython reused no address: the test would not check recycling"
    assert inst.count == 10


def test_objects_without_weakref_support_are_counted_by_id() -> None:
    inst = Instances()
    alive = [Slotted() for _ in range(10)]  # alive, so their ids are distinct
    for obj in alive:
        inst.add(obj)
        inst.add(obj)
    assert inst.count == 10 and not inst.capped


def test_tracking_is_capped_and_then_a_lower_bound() -> None:
    inst = Instances()
    alive = [Plain() for _ in range(MAX_LIVE + 10)]
    for obj in alive:
        inst.add(obj)
    assert inst.capped and inst.count == MAX_LIVE + 1
    assert len(inst._seen) == 0  # nothing more is held
    inst.add(Plain())
    assert inst.count == MAX_LIVE + 1


def test_dead_entries_make_room_before_the_cap() -> None:
    inst = Instances()
    for _ in range(3 * MAX_LIVE):
        keep = [Plain() for _ in range(2)]  # two at a time, all freed after the round: never 64 alive at once
        for obj in keep:
            inst.add(obj)
        del keep, obj
        gc.collect()
    assert not inst.capped and inst.count == 6 * MAX_LIVE


def _method_record(qualname: str = "Plain.step") -> Record:
    return Record("m", qualname, "m.py", 1, param_names(Plain.step.__code__), None)


def test_recorder_counts_instances_of_methods_only(tmp_path: Path) -> None:
    rec_obj = Recorder(tmp_path, None)
    method = _method_record()
    for _ in range(10):
        rec_obj.add_call(method, {"self": Plain(), "x": 1}, False)
    same = _method_record()
    obj = Plain()
    for _ in range(10):
        rec_obj.add_call(same, {"self": obj, "x": 1}, False)
    weak = _method_record()
    rec_obj.add_call(weak, {"self": InstanceOf(Plain), "x": 1}, False)  # a tf.function's unreachable instance
    func = Record("m", "f", "m.py", 1, ("self", "x"), None)  # a function named like a method is not one
    rec_obj.add_call(func, {"self": obj, "x": 1}, False)
    assert method.to_json()["instances"] == 10 and method.to_json()["calls"] == 10
    assert same.to_json()["instances"] == 1
    assert weak.to_json()["instances"] == 0
    assert "instances" not in func.to_json()
    assert rec_obj.errors == 0


INSTANCE_MODULE = '''
class Posterior:
    def __init__(self, k):
        self.k = k

    def predict(self, x):
        return x * self.k


class Slotted:
    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def predict(self, x):
        return x + self.k


class Model:
    def posterior(self):
        return Posterior(2)

    def predict_f(self, x):
        return self.posterior().predict(x)  # a new object per call, freed at once (GPflow's SVGP.predict_f)


def run():
    m = Model()
    for i in range(12):
        m.predict_f(i)
    keep = [Slotted(i) for i in range(5)]
    for s in keep:
        s.predict(1)
        s.predict(2)
'''


def test_profile_records_instances_per_method(tmp_path: Path) -> None:
    root = make_project(tmp_path, "proj", {"pyproject.toml": '[project]\nname = "instpkg"\nversion = "0"\n',
                                           "instpkg/__init__.py": "", "instpkg/mod.py": INSTANCE_MODULE})
    proc = hybridize("profile", "--no-measure", "--", PY, "-c", "import instpkg.mod as m; m.run()", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fns = functions_json(root)
    assert (fns["instpkg.mod:Model.predict_f"]["calls"], fns["instpkg.mod:Model.predict_f"]["instances"]) == (12, 1)
    predict = fns["instpkg.mod:Posterior.predict"]
    assert (predict["calls"], predict["instances"], predict["instances_capped"]) == (12, 12, False)
    assert (fns["instpkg.mod:Slotted.predict"]["calls"], fns["instpkg.mod:Slotted.predict"]["instances"]) == (10, 5)
    assert fns["instpkg.mod:run"]["instances"] is None  # not a method
    prof = load_profile(root / ".hybridize")
    assert prof.meta["internal_errors"] == 0
    assert prof.by_name()["instpkg.mod:Posterior.predict"].instances == 12


def test_a_profile_without_the_instance_columns_still_loads(tmp_path: Path) -> None:
    root = make_project(tmp_path, "proj", {"pyproject.toml": '[project]\nname = "instpkg"\nversion = "0"\n',
                                           "instpkg/__init__.py": "", "instpkg/mod.py": INSTANCE_MODULE})
    assert hybridize("profile", "--no-measure", "--", PY, "-c", "import instpkg.mod as m; m.run()",
                     cwd=root).returncode == 0
    db = root / ".hybridize" / "profile.db"
    con = sqlite3.connect(db)
    con.execute("ALTER TABLE functions DROP COLUMN instances")
    con.execute("ALTER TABLE functions DROP COLUMN instances_capped")
    con.commit()
    con.close()
    fn = load_profile(root / ".hybridize").by_name()["instpkg.mod:Posterior.predict"]
    assert fn.calls == 12 and fn.instances is None
