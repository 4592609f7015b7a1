"""Import costs and the lazy package roots, each checked in a fresh interpreter.

Importing the solvers loads none of the heavy optional stacks (SymPy, Lightning, W&B, PyG,
neuraloperator, Matplotlib); the physics load neither Lightning nor W&B even when every exported name
is used; every name in every package's ``__all__`` resolves to what it names; and no package exports a
name that is also one of its sub-modules (once that sub-module is imported, the package attribute is
the module, not the export).
"""

import json
import subprocess
import sys
import textwrap

HEAVY = ("sympy", "pytorch_lightning", "lightning", "wandb", "torch_geometric", "neuralop", "matplotlib")
PACKAGES = ("neuralsolvers", "neuralsolvers.solvers", "neuralsolvers.physics", "neuralsolvers.models", "neuralsolvers.data_gen",
            "neuralsolvers.train", "neuralsolvers.evaluate")  # fmt: skip


def _run(code: str):
    """Run ``code`` in a fresh interpreter; its last line of output, parsed as JSON."""
    process = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    return json.loads(process.stdout.strip().splitlines()[-1])


def test_solvers_import_without_the_heavy_stacks():
    loaded = _run(f"""
        import json, sys
        import neuralsolvers.solvers
        print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
    """)
    assert loaded == []


def test_physics_and_every_name_it_exports_load_neither_lightning_nor_wandb():
    result = _run("""
        import json, sys
        import neuralsolvers.physics as physics
        names = {name: type(getattr(physics, name)).__name__ for name in physics.__all__}
        print(json.dumps([len(names), sorted(m for m in ("pytorch_lightning", "lightning", "wandb") if m in sys.modules)]))
    """)
    assert result[0] >= 20  # every export was touched (23 today)
    assert result[1] == []


def test_every_export_resolves_and_none_is_a_sub_module_name():
    report = _run(f"""
        import importlib, json, pkgutil, types

        report = {{}}
        pending = list({PACKAGES!r})
        while pending:
            name = pending.pop()
            package = importlib.import_module(name)
            children = {{module.name: module.ispkg for module in pkgutil.iter_modules(package.__path__)}}
            if name != "neuralsolvers":
                pending += [f"{{name}}.{{child}}" for child, ispkg in children.items() if ispkg]
            exported = list(package.__all__)
            failures = []
            for export in exported:
                try:
                    value = getattr(package, export)
                except Exception as error:  # noqa: BLE001  reported by name
                    failures.append(f"{{export}}: {{type(error).__name__}}: {{error}}")
                else:
                    if isinstance(value, types.ModuleType):
                        failures.append(f"{{export}}: resolves to the module {{value.__name__}}")
            report[name] = {{"exports": len(exported), "clashes": sorted(set(exported) & set(children)),
                            "failures": failures, "duplicates": len(exported) - len(set(exported))}}
        print(json.dumps(report))
    """)
    expected = {*PACKAGES} | {f"neuralsolvers.solvers.{family}" for family in ("krylov", "multigrid", "classical", "learned", "omega", "proximal", "nonlinear")}
    expected |= {f"neuralsolvers.train.{kind}" for kind in ("operator", "preconditioner", "graph", "proximal", "pinn")}
    assert expected <= set(report), sorted(expected - set(report))
    for package, entry in report.items():
        assert entry["exports"] > 0, f"{package} exports nothing"
        assert entry["failures"] == [], (package, entry["failures"])
        assert entry["clashes"] == [], f"{package} exports names of its own sub-modules: {entry['clashes']}"
        assert entry["duplicates"] == 0, package
