import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from hysupp.errors import UnknownMethodError
from hysupp.methods import SupervisedUnmixer, available, get_method, register
from hysupp.methods import registry


def test_builtin_methods_are_registered_case_insensitively():
    assert get_method("fcls").name == "FCLS"
    assert get_method("Vca", "extractor").name == "VCA"
    tasks = {c.task for c in available()}
    assert {"supervised", "extractor"} <= tasks
    assert all(c.task == "extractor" for c in available("extractor"))


def test_unknown_method_and_task_errors_list_the_choices():
    with pytest.raises(UnknownMethodError, match=r"unknown method 'nosuch'; `hysupp list` shows all \d+ methods"):
        get_method("nosuch")
    with pytest.raises(UnknownMethodError, match="FCLS is a supervised method, not an extractor one; extractor "
                                                 "methods: .*VCA"):
        get_method("FCLS", "extractor")
    with pytest.raises(UnknownMethodError, match="no extractor method named 'nosuch'; extractor methods: .*VCA"):
        get_method("nosuch", "extractor")
    with pytest.raises(UnknownMethodError, match="unknown task 'bogus'"):
        available("bogus")


def test_register_validates_the_class():
    with pytest.raises(TypeError, match="Method subclass"):
        register(object)

    class NoTask(SupervisedUnmixer):
        name = "NoTaskDemo"
        task = "nonsense"

    with pytest.raises(TypeError, match="task = 'nonsense'"):
        register(NoTask)


def test_same_name_in_two_tasks_needs_the_task(monkeypatch):
    registry.ensure_loaded()   # built-ins first: a copy taken before loading would be empty after the test
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    class Twin(SupervisedUnmixer):
        """A demo twin of VCA under another task."""
        name = "VCA"

    register(Twin)
    with pytest.raises(UnknownMethodError, match="several tasks"):
        get_method("vca")
    assert get_method("vca", "supervised") is Twin


def test_method_parameters_are_validated_on_construction():
    cls = get_method("FCLS")
    with pytest.raises(Exception, match="FCLS: unknown parameter"):
        cls(not_a_parameter=1)


PLUGIN_MODULE = '''
"""A third-party plugin for hysupp's tests."""
import numpy as np
from hysupp.methods import Param, SupervisedUnmixer, UnmixingResult, register


@register
class UniformAbundances(SupervisedUnmixer):
    """Every pixel gets equal abundances (a plugin test method)."""

    name = "UniformDemo"
    params = (Param("scale", float, 1.0, "multiplier of the uniform abundances", low=0.0),)
    reference = "hysupp test suite"

    def unmix(self, Y, E):
        Y, E = self.check_inputs(Y, E)
        p = E.shape[1]
        A = np.full((p, Y.shape[1]), self.scale / p, dtype=np.float32)
        return UnmixingResult(abundances=A, endmembers=E, info={"plugin": True})
'''


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory) -> Path:
    """Build and install a real plugin distribution (entry point group hysupp.methods) into a folder."""
    src = tmp_path_factory.mktemp("plugin-src")
    (src / "hysupp_demo_plugin").mkdir()
    (src / "hysupp_demo_plugin" / "__init__.py").write_text(PLUGIN_MODULE)
    (src / "pyproject.toml").write_text(textwrap.dedent('''
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "hysupp-demo-plugin"
        version = "0.0.1"

        [project.entry-points."hysupp.methods"]
        uniform = "hysupp_demo_plugin"
    '''))
    target = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                           "--no-index", "--target", str(target), str(src)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"could not build/install the test plugin:\n{proc.stdout}\n{proc.stderr}")
    assert list(target.glob("hysupp_demo_plugin-*.dist-info"))
    return target


def _env_with(path: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(path), env.get("PYTHONPATH", "")])
    return env


def test_plugin_is_discovered_through_its_entry_point(installed_plugin):
    env = _env_with(installed_plugin)
    cli = [sys.executable, "-c", "from hysupp.cli import main; main()"]
    listed = subprocess.run(cli + ["list", "--task", "supervised", "--json"], capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    names = {m["name"]: m for m in json.loads(listed.stdout)["methods"]}
    assert "UniformDemo" in names and names["UniformDemo"]["module"] == "hysupp_demo_plugin"
    assert names["UniformDemo"]["params"][0]["name"] == "scale"

    shown = subprocess.run(cli + ["list", "uniformdemo"], capture_output=True, text=True, env=env)
    assert "multiplier of the uniform abundances" in shown.stdout


def test_plugin_runs_end_to_end(installed_plugin, tmp_path):
    env = _env_with(installed_plugin)
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-c", "from hysupp.cli import main; main()", "run", "--method",
                           "UniformDemo", "--endmembers", "truth", "--param", "scale=1", "--out", str(out), "--json"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["method"]["name"] == "UniformDemo" and record["info"]["method"]["plugin"] is True
    A = np.load(out / "abundances.npz")["abundances"]
    assert np.allclose(A, 0.2)


def test_plugin_follows_the_method_contract(installed_plugin):
    """The installed plugin overrides the public ``unmix`` (the pre-template contract): it keeps
    working and passes hysupp.testing.check_method, found through its entry point."""
    code = ("from hysupp.methods import get_method; from hysupp.testing import check_method; "
            "print(','.join(check_method(get_method('UniformDemo'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env_with(installed_plugin))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().split(",")[-1] == "info"


def test_method_signature_and_docstring_come_from_params():
    import inspect

    cls = get_method("SUnSAL")
    sig = inspect.signature(cls)
    assert list(sig.parameters) == [p.name for p in cls.params]
    assert sig.parameters["lam"].default == 1e-3 and sig.parameters["lam"].kind is inspect.Parameter.KEYWORD_ONLY
    # a hand-written Parameters section is kept as written (no generated duplicate)
    assert cls.__doc__.count("Parameters\n----------") == 1 and "lam : float\n" in cls.__doc__
    # a class without one gets it generated from params (type, default, allowed values, doc)
    doc = get_method("CLSUnSAL").__doc__
    assert "mu : float, default 0.1\n    initial ADMM penalty" in doc and "Allowed: > 0.0." in doc


def test_broken_plugin_is_reported_not_fatal(tmp_path, monkeypatch):
    from importlib.metadata import EntryPoint

    broken = EntryPoint(name="broken", value="hysupp_no_such_module_xyz", group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [broken])
    monkeypatch.setattr(registry, "_PLUGIN_ERRORS", {})
    registry._load_plugins()
    assert "broken" in registry._PLUGIN_ERRORS and "ModuleNotFoundError" in registry._PLUGIN_ERRORS["broken"]
