"""The learning-to-relax evaluation on a tiny heat sequence: the committed config runs, the table is
consistent with the cost table it saved, and online runs reproduce the replayed iteration counts."""

import json
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralsolvers.cli import main
from neuralsolvers.errors import ConfigError
from neuralsolvers.evaluate import RelaxationEvaluation

CONFIG = Path(__file__).parents[2] / "configs/eval/relax_heat.yaml"
TINY = ["--task.init_args.sizes=[6]", "--task.init_args.num_steps=40", "--task.init_args.trials=2", "--task.init_args.num_omegas=4",
        "--task.init_args.omega_high=1.75"]  # fmt: skip


def test_committed_config_runs_and_rows_agree_with_the_cost_table(tmp_path, capsys):
    out = tmp_path / "relax"
    assert main(["evaluate", "--config", str(CONFIG), "--wandb=false", f"--out={out}", *TINY]) == 0
    table = capsys.readouterr().out
    for method in ("CG (no preconditioner)", "| ω = 1 |", "best fixed ω", "instance-optimal (oracle)", "Tsallis-INF", "ChebCB"):
        assert method in table, method
    record = json.loads((out / "results.json").read_text())
    rows = {row["method"]: row for row in record["rows"]}
    saved = np.load(out / "costs_6.npz")
    costs = saved["costs"]
    assert costs.shape == (40, 4) and saved["failures"] == 0
    assert rows["ω = 1"]["iterations"] == costs[:, 0].sum()
    best = next(row for name, row in rows.items() if name.startswith("best fixed"))
    assert best["iterations"] == costs.sum(0).min() and best["regret to best fixed"] == 0
    assert rows["instance-optimal (oracle)"]["iterations"] == costs.min(1).sum() <= best["iterations"]
    assert rows["CG (no preconditioner)"]["iterations"] > rows["ω = 1"]["iterations"]
    # the online simulation is driven by the solver's own solutions (1e-8 away from the exact ones)
    for name in ("ω = 1", "ω = 1.5"):
        assert abs(rows[name]["online iterations"] - rows[name]["iterations"]) <= 0.02 * rows[name]["iterations"]
    # peak memory of one solve, for the methods that ran online; none for replay-only rows
    assert all(row["peak_MiB"] >= 0 for row in rows.values() if row["online seconds"] is not None)
    assert rows["instance-optimal (oracle)"]["peak_MiB"] is None
    assert (out / "relax_n6.png").is_file()
    # the headline: the best policy against the best of plain CG and fixed ω, online, from the same rows
    assert record["command"] == "neuralsolvers evaluate " + shlex.join(["--config", str(CONFIG), "--wandb=false", f"--out={out}", *TINY])
    assert record["component"] == "Learned relaxation ω" and record["environment"]["cpu_threads"] == "1"  # the config's threads
    (comparison,) = record["headline"]
    assert comparison["learned"] in ("Tsallis-INF", "Tsallis-INF per context bin", "ChebCB")
    assert comparison["classical"] in ("CG (no preconditioner)", "ω = 1", "ω = 1.5")
    learned, classical = rows[comparison["learned"]], rows[comparison["classical"]]
    assert comparison["learned_s"] == learned["online seconds"] and comparison["learned_iterations"] == learned["online iterations"]
    assert comparison["time_ratio"] == pytest.approx(learned["online seconds"] / classical["online seconds"])
    assert comparison["learned_s"] == min(rows[name]["online seconds"] for name in ("Tsallis-INF", "Tsallis-INF per context bin", "ChebCB"))


def test_red_black_sor_runs_and_bad_settings_are_refused(tmp_path):
    evaluation = RelaxationEvaluation(sizes=[5], num_steps=6, solver="sor", ordering="redblack", num_omegas=4, omega_high=1.9,
                                      fixed_omegas=[1.0], policies=["tsallis_inf"], trials=1, online=False)  # fmt: skip
    report = evaluation.run(tmp_path, use_wandb=False)
    assert {row["method"] for row in report.rows} >= {"ω = 1", "Tsallis-INF"}
    with pytest.raises(ConfigError, match="not on the grid"):
        RelaxationEvaluation(fixed_omegas=[1.33])
    with pytest.raises(ConfigError, match="unknown policies"):
        RelaxationEvaluation(policies=["exp3"])


@pytest.mark.parametrize("threads", [1, None])
def test_relaxation_keeps_the_process_thread_setting(threads):
    """The timings run with ``threads`` torch threads (None: as they are), scoped: the setting comes back."""
    before = torch.get_num_threads()
    outcome = RelaxationEvaluation(sizes=[4], num_steps=4, trials=1, num_omegas=2, omega_high=1.5, fixed_omegas=[1.0],
                                   policies=["tsallis_inf"], online=False, threads=threads).evaluate()  # fmt: skip
    assert outcome.threads == (before if threads is None else threads) and torch.get_num_threads() == before
