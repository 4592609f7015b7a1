"""The real ``neuralsolvers`` command, run in-process on tiny data in a temporary directory."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import neuralsolvers
from neuralsolvers.checkpoints import read_checkpoint
from neuralsolvers.cli import main
from tests.test_load_preconditioner import readme_block

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
DATA_CONFIGS = sorted((CONFIGS / "data").glob("*.yaml"))
TRAIN_CONFIGS = sorted(CONFIGS.glob("*.yaml"))
TINY = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
# configs whose full size would take minutes even for a handful of samples or one step
TINY_GENERATE = {
    "krylov_vectors_3d": ["--generator.init_args.grid=[16, 16, 16]", "--generator.init_args.num_lanczos=20"],
    "moving_obstacles_2d": ["--generator.init_args.grid=[32, 32]", "--generator.init_args.frames=4"],
    "moving_obstacles_3d": ["--generator.init_args.grid=[12, 12, 12]", "--generator.init_args.frames=3"],
    "diffusion_scenes_3d": ["--generator.init_args.grid=[12, 12, 12]"],
    "diffusion_scenes_3d_large": ["--generator.init_args.grid=[16, 16, 16]"],
    "diffusion_scenes_3d_heldout": ["--generator.init_args.grid=[12, 12, 12]"],
    "diffusion_scenes_3d_mixed": ["--generator.init_args.grid=[12, 12, 12]"],
    "diffusion_scenes_3d_contrast": ["--generator.init_args.grid=[12, 12, 12]"],
    "fe_diffusion_3d": ["--generator.init_args.refine=2"],
    "fe_diffusion_3d_heldout": ["--generator.init_args.refine=2"],
}
TINY_FIT = {
    "dcdm_poisson2d": ["--model.init_args.val_maxiter=5"],
    "dcdm_poisson3d": ["--model.init_args.val_maxiter=2", "--data.init_args.num_systems=1"],
    "learned_amg_fe3d": ["--model.init_args.model.init_args.max_coarse=10"],  # the tiny 3D systems are below the default coarsest size
}


def tiny_generate(config: Path) -> int:
    """Generate a committed data config with a handful of samples per split (into the cwd)."""
    splits = yaml.safe_load(config.read_text())["splits"]
    tiny = [{**split, "num_samples": min(24, split["num_samples"])} for split in splits]
    options = ["--splits", yaml.safe_dump(tiny, default_flow_style=True), "--shard_size", "10", *TINY_GENERATE.get(config.stem, [])]
    return main(["generate", "--config", str(config), *options])


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    return tmp_path


@pytest.fixture(scope="module")
def tiny_datasets(tmp_path_factory):
    """Every committed data config, generated tiny, once for the module."""
    root = tmp_path_factory.mktemp("tiny")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("WANDB_MODE", "disabled")
        for config in DATA_CONFIGS:
            assert tiny_generate(config) == 0, config
    return root


@pytest.fixture
def tiny_data(tiny_datasets, monkeypatch):
    monkeypatch.chdir(tiny_datasets)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    return tiny_datasets


@pytest.mark.long
def test_every_data_config_generates(tiny_data):
    shards = sorted(p.relative_to(tiny_data) for p in tiny_data.rglob("*.h5"))
    assert shards, "no shard written"
    assert all("shard-" in p.name for p in shards)


@pytest.mark.long
@pytest.mark.parametrize("config", TRAIN_CONFIGS, ids=lambda p: p.stem)
def test_every_training_config_runs_fast_dev_run(tiny_data, config):
    assert main(["fit", "--config", str(config), "--trainer.fast_dev_run=true", *TINY, *TINY_FIT.get(config.stem, [])]) == 0


@pytest.mark.long
def test_main_job_end_to_end(tiny_data, capsys):
    """The README's main job (`make demo`): train the Galerkin neural multigrid briefly, then the
    verdict against classical PCG at two sizes, on mild and on contrast-10⁶ held-out scenes; the
    checkpoint gives an SPD preconditioner for cg and SciPy."""
    config = str(CONFIGS / "neural_mg_galerkin2d.yaml")
    assert main(["fit", "--config", config, "--trainer.max_steps=4", "--data.init_args.num_train=4", "--trainer.limit_val_batches=1", *TINY]) == 0
    best = tiny_data / "checkpoints/neural_mg_galerkin2d/best.ckpt"
    assert best.is_file() and read_checkpoint(best)["neuralsolvers_preconditioner"]["kind"] == "neural_multigrid"
    trained = best.read_bytes()
    smoke = ["fit", "--config", config, "--trainer.max_epochs=1", "--trainer.limit_train_batches=1", *TINY]
    assert main(smoke) == 1 and best.read_bytes() == trained  # the smoke test: refused, the model kept
    assert "--overwrite" in capsys.readouterr().err
    assert main([*smoke, "--trainer.max_steps=1", "--data.init_args.num_train=2", "--trainer.limit_val_batches=1", "--overwrite"]) == 0
    assert best.read_bytes() != trained  # asked for: replaced
    heldout = ["--config", str(CONFIGS / "data/diffusion_scenes_2d_heldout.yaml"), "--generator.init_args.grid=[256,256]"]
    assert main(["generate", *heldout, "--out", "data/diffusion_scenes_2d_heldout_256"]) == 0  # the config's requires, from here
    capsys.readouterr()
    quick = ["--task.init_args.num_scenes=2", "--task.init_args.repeats=1"]
    assert main(["evaluate", "--config", str(CONFIGS / "eval/neural_mg_demo.yaml"), "--wandb=false", *quick]) == 0
    table = capsys.readouterr().out
    for method in ("CG", "IC(0)-PCG", "AMG-PCG (torch V-cycle)", "AMG-PCG (PyAMG SA, CPU)", "AMG-PCG (PyAMG RS, CPU)", "direct (SuperLU, CPU)",
                   "GMG-PCG (geometric multigrid)", "BoxMG-PCG (Galerkin, operator-dependent)", "NMG-PCG (neural multigrid)"):
        assert table.count(f"| {method} |") == 2, method  # one row per size
    verdicts = [line for line in table.splitlines() if line.startswith("verdict")]
    assert [line.split(" (set-up")[0] for line in verdicts] == ["verdict at 64×64", "verdict at 256×256"], verdicts
    results = tiny_data / "results/neural_mg_demo"
    assert {"results.json", "residuals.png", "iterations_by_size.png"} <= {p.name for p in results.iterdir()}
    rows = json.loads((results / "results.json").read_text())["rows"]
    learned = [row for row in rows if row["method"].startswith("NMG")]
    assert all(row["converged"] == "2/2" and row["iterations_vs_gmg"] > 0 for row in learned)
    contrast = ["--config", str(CONFIGS / "data/diffusion_scenes_2d_contrast.yaml"), "--generator.init_args.grid=[128,128]"]
    assert main(["generate", *contrast, "--out", "data/diffusion_scenes_2d_contrast_256"]) == 0  # a smaller stand-in for 256²
    capsys.readouterr()
    assert main(["evaluate", "--config", str(CONFIGS / "eval/neural_mg_contrast.yaml"), "--wandb=false", *quick]) == 0
    rows = json.loads((tiny_data / "results/neural_mg_contrast/results.json").read_text())["rows"]
    robust = [row for row in rows if row["method"].startswith(("NMG", "BoxMG", "AMG-PCG (PyAMG RS"))]
    assert len(robust) == 6 and all(row["converged"] == "2/2" for row in robust)  # contrast 10⁶: the Galerkin cycles hold
    assert all(row["iterations"] <= 15 for row in robust if not row["method"].startswith("AMG"))
    # the checkpoint, loaded for a new system: linear SPD, so plain cg takes it
    A = neuralsolvers.solvers.DiffusionStencil((24, 20), dirichlet_walls=[True, False, False, True])
    M = neuralsolvers.load_preconditioner(best, A)
    assert M.linear_spd and M.solver is neuralsolvers.solvers.cg
    result = M.solver(A, torch.ones(A.shape[0], dtype=torch.float64), M=M, rtol=1e-8)
    assert result.converged and result.iterations < 20
    with pytest.raises(ValueError, match="needs the system as a DiffusionStencil"):
        neuralsolvers.load_preconditioner(best, A.to_scipy(), grid=A.grid)
    capsys.readouterr()
    exec(readme_block("### 2. A learned preconditioner"), {})  # the README's example, on this checkpoint
    learned, classical = map(int, re.match(r"neural MG (\d+) iterations, geometric MG (\d+)", capsys.readouterr().out).groups())
    assert 0 < learned < 40 and 0 < classical < 40


@pytest.mark.long
def test_dcdm_job_end_to_end(tiny_data, capsys):
    """`make demo-dcdm`: train DCDM briefly, then the verdict against classical PCG."""
    config = str(CONFIGS / "dcdm_poisson2d.yaml")
    assert main(["fit", "--config", config, "--trainer.max_steps=3", "--trainer.limit_val_batches=1", *TINY, *TINY_FIT["dcdm_poisson2d"]]) == 0
    best = tiny_data / "checkpoints/dcdm_poisson2d/best.ckpt"
    assert best.is_file() and read_checkpoint(best)["training_time"]["seconds"] > 0
    assert main(["test", "--config", config, "--ckpt_path", str(best), *TINY, *TINY_FIT["dcdm_poisson2d"]]) == 0
    capsys.readouterr()
    quick = ["--task.init_args.num_systems=2", "--task.init_args.repeats=1", "--task.init_args.network_maxiter=10"]
    assert main(["evaluate", "--config", str(CONFIGS / "eval/dcdm_poisson2d.yaml"), "--wandb=false", *quick]) == 0
    table = capsys.readouterr().out
    for method in ("| CG |", "Jacobi-PCG", "IC(0)-PCG", "AMG-PCG (torch V-cycle)", "AMG-PCG (PyAMG SA, CPU)", "GMG-PCG", "DCDM", "FCG + network"):
        assert method in table, method
    # the table once, no raw rows before it, and one verdict line after it
    assert table.count("| method |") == 1 and "{'method'" not in table
    verdict = [line for line in table.splitlines() if line.startswith("verdict")]
    assert len(verdict) == 1 and re.match(r"verdict: fastest .+ \(.+\)(; best learned .+ = [\d.e+-]+× the best classical|; no learned)", verdict[0]), verdict
    assert table.index(verdict[0]) > table.index("| method |")
    results = tiny_data / "results/dcdm_poisson2d"
    assert (results / "results.json").is_file() and (results / "residuals.png").is_file()


@pytest.mark.long
def test_generate_fit_evaluate_end_to_end(tiny_data, capsys):
    config = str(CONFIGS / "deeponet_antiderivative.yaml")
    assert main(["fit", "--config", config, "--trainer.max_steps=3", "--trainer.limit_val_batches=1", *TINY]) == 0
    best = tiny_data / "checkpoints/deeponet_antiderivative/best.ckpt"
    assert best.is_file() and (best.parent / "last.ckpt").is_file()

    assert read_checkpoint(best.parent / "last.ckpt")["global_step"] == 3  # the final state, whatever the best
    assert main(["test", "--config", config, "--ckpt_path", str(best), *TINY]) == 0
    assert main(["evaluate", "--config", str(CONFIGS / "eval/deeponet_antiderivative.yaml"), "--wandb=false"]) == 0
    results = tiny_data / "results/deeponet_antiderivative"
    assert (results / "results.json").is_file() and (results / "results.md").is_file()
    assert "rel_l2_mean" in (results / "results.md").read_text()
    rows = json.loads((results / "results.json").read_text())["rows"]
    # the generator's reference (quadrature of 4 fresh samples) timed beside the network, training charged
    assert all(row["reference_ms_per_sample"] > 0 and row["speedup"] > 0 and row["training_device_h"] > 0 for row in rows)
    assert all(row["break_even_samples"] == "never" or float(row["break_even_samples"]) > 0 for row in rows)
    assert all(row["inference_peak_MiB"] >= 0 for row in rows)
    net = neuralsolvers.load(best)
    assert not net.training
    assert net(torch.zeros(2, 100), torch.linspace(0, 1, 7)[:, None]).shape == (2, 7)


def _fresh_checkpoints(config: Path, build) -> None:
    """Untrained networks written where an eval config expects its checkpoints."""
    from neuralsolvers.models import model_spec

    for name, path in yaml.safe_load(config.read_text())["task"]["init_args"]["checkpoints"].items():
        model = build(name)
        state = {f"model.{key}": value for key, value in model.state_dict().items()}
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.save({"neuralsolvers_model": model_spec(model), "state_dict": state}, path)


@pytest.mark.long
@pytest.mark.parametrize("problem", ["porous_network", "value_iteration"])
def test_graph_evaluation_configs_run(tiny_data, problem, capsys):
    """The committed CGS evaluation configs on the tiny sets, with freshly initialized checkpoints
    written where the configs expect the trained ones."""
    from neuralsolvers.models import build_model

    config = CONFIGS / f"eval/cgs_{problem}.yaml"
    fit = yaml.safe_load((CONFIGS / f"cgs_{problem}.yaml").read_text())
    cgs = fit["model"]["init_args"]["model"]["init_args"]
    features = {"node_features": cgs["node_features"], "edge_features": cgs["edge_features"]}
    nets = {"CGS": ("cgs", cgs), "GIN": ("gnn_baseline", {**features, "kind": "gin"}), "GATv2": ("gnn_baseline", {**features, "kind": "gat"})}
    _fresh_checkpoints(config, lambda name: build_model(*nets[name]))
    capsys.readouterr()
    assert main(["evaluate", "--config", str(config), "--wandb=false", "--task.init_args.repeats=1"]) == 0
    table = capsys.readouterr().out
    assert all(f"| {name} |" in table for name in ("exact", "CGS", "GIN", "GATv2"))
    assert (tiny_data / f"results/cgs_{problem}/errors.png").is_file()


@pytest.mark.long
def test_lpn_evaluation_configs_run(tiny_data, capsys):
    from neuralsolvers.models import LPN

    toy = CONFIGS / "eval/lpn_laplace_toy.yaml"
    _fresh_checkpoints(toy, lambda name: LPN(kind="dense", in_features=1, hidden=8, layers=1))
    assert main(["evaluate", "--config", str(toy), "--wandb=false"]) == 0
    assert (tiny_data / "results/lpn_laplace_toy/toy.png").is_file()
    quick = ["--task.init_args.maxiter=3", "--task.init_args.num_images=2", "--task.init_args.tune_images=1",
             "--task.init_args.tv=[0.01]", "--task.init_args.haar=[0.01, 0.02]"]  # fmt: skip
    for name in ("lpn_deblur", "lpn_compressed_sensing"):  # blurred images; complex Fourier measurements
        config = CONFIGS / f"eval/{name}.yaml"
        _fresh_checkpoints(config, lambda _: LPN(kind="conv", in_features=1, hidden=4, image_size=64, beta=100.0))
        capsys.readouterr()
        assert main(["evaluate", "--config", str(config), "--wandb=false", *quick]) == 0
        table = capsys.readouterr().out
        assert all(f"| {prior} |" in table for prior in ("LPN", "TV", "Haar wavelet", "none (Aᵀy)")), name


@pytest.mark.long
def test_hidden_term_fit_and_discovery_run(tiny_data, capsys):
    """UPINN: a few steps of each committed training config on its measurements, then its discovery config."""
    for problem, row, truth in (("lotka_volterra", "| u1' |", "-0.9*u1*u2"), ("fisher_kpp", "| u' |", "-1.0*u**2 + 1.0*u")):
        assert main(["fit", "--config", str(CONFIGS / f"upinn_{problem}.yaml"), "--trainer.max_steps=3", *TINY]) == 0
        capsys.readouterr()
        assert main(["evaluate", "--config", str(CONFIGS / f"eval/upinn_{problem}.yaml"), "--wandb=false"]) == 0
        table = capsys.readouterr().out
        assert row in table and truth in table, problem
        assert (tiny_data / f"results/upinn_{problem}/hidden_terms.png").is_file()


@pytest.mark.long
def test_moving_obstacle_evaluation_config_runs(tiny_data, capsys):
    """The committed moving-obstacle evaluation on the tiny sequences: every method, every frame."""
    for dim in (2, 3):  # its neural multigrid checkpoints, from a few steps (replacing the main job test's)
        quick = ["--trainer.max_steps=2", "--data.init_args.num_train=2", "--trainer.limit_val_batches=1", "--overwrite", *TINY]
        assert main(["fit", "--config", str(CONFIGS / f"neural_mg_poisson{dim}d.yaml"), *quick]) == 0
    assert main(["evaluate", "--config", str(CONFIGS / "eval/moving_obstacle.yaml"), "--wandb=false"]) == 0
    out = capsys.readouterr().out
    record = json.loads((tiny_data / "results/moving_obstacle/results.json").read_text())
    rows = record["rows"]
    assert {row["grid"] for row in rows} == {"32×32", "12×12×12"} and len(rows) == 20  # 10 methods each (direct skips only past 70,000 cells)
    assert all(row["converged"] == f"{row['frames']}/{row['frames']}" and row["max_true_residual"] <= 1e-6 for row in rows)
    # the preconditioners need fewer iterations than plain CG; set-up is paid every frame
    by_method = {row["method"]: row for row in rows if row["grid"] == "32×32"}
    assert by_method["GMG-PCG (geometric multigrid)"]["mean_iterations"] < by_method["CG"]["mean_iterations"]
    assert by_method["AMG-PCG (PyAMG SA, CPU)"]["setup_s"] > 0 and by_method["CG"]["setup_s"] < by_method["IC(0)-PCG"]["setup_s"]
    assert out.count("verdict at") == 2 and (tiny_data / "results/moving_obstacle/frames_32x32.png").is_file()
    learned = by_method["NMG-PCG (neural multigrid)"]
    fastest_classical = min(row["per_frame_s"] for row in by_method.values() if row is not learned)
    saving = fastest_classical - learned["per_frame_s"]  # break-even: training seconds over the saving per frame
    assert learned["training_device_h"] > 0
    if saving > 0:
        assert float(learned["break_even_solves"]) == pytest.approx(3600 * learned["training_device_h"] / saving, rel=1e-2)
    else:
        assert learned["break_even_solves"] == "never"


@pytest.mark.parametrize("command", ["generate", "fit", "validate", "test", "evaluate"])
def test_help_of_every_command(command, capsys):
    assert main([command, "--help"]) == 0
    shown = capsys.readouterr().out
    assert "--config" in shown
    if command == "evaluate":
        assert "--summary" in shown


@pytest.mark.parametrize("command", ["fit", "validate", "test"])
def test_lightning_help_fits_a_screen_and_says_where_the_rest_is(command, capsys):
    assert main([command, "--help"]) == 0
    shown = capsys.readouterr().out
    assert len(shown.splitlines()) < 120, len(shown.splitlines())  # Lightning's own: ~670 lines
    assert shown.startswith(f"usage: neuralsolvers {command} [--config FILE.yaml ...]")
    assert "--model CONFIG | CLASS_PATH_OR_NAME" in shown and "neuralsolvers.train.DCDMModule" in shown
    assert "max_epochs, min_epochs, max_steps" in shown and "--trainer.max_epochs MAX_EPOCHS" not in shown
    assert "dirpath, filename, monitor" in shown and "ckpt_path" in shown
    assert f"neuralsolvers {command} [--config FILE.yaml] --print_config=comments" in shown


@pytest.mark.parametrize(("option", "name", "key"), [("--model.help", "LearnedPreconditionerModule", "--model.steps"),
                                                     ("--data.help", "SceneDataModule", "--data.large"),
                                                     ("--model.help", "DCDMModule", "--model.val_rtol")])  # fmt: skip
def test_a_module_help_takes_its_class_name(option, name, key, capsys):
    assert main(["fit", option, name]) == 0
    shown = capsys.readouterr().out
    assert f"Help for {option}=neuralsolvers.train.{name}" in shown and key in shown
    assert len(shown.splitlines()) < 80  # `model: nn.Module` lists the project's networks, not every torch module
    assert name != "DCDMModule" or "neuralsolvers.models.DCDMNet" in shown


def test_print_config_resolves_modules_named_by_class_name(workdir, capsys):
    config = yaml.safe_load((CONFIGS / "neural_mg_poisson2d.yaml").read_text())
    config["model"]["class_path"], config["data"]["class_path"] = "LearnedPreconditionerModule", "SceneDataModule"
    config["model"]["init_args"]["model"]["class_path"] = "NeuralMultigrid"
    (workdir / "short.yaml").write_text(yaml.safe_dump(config))
    assert main(["fit", "--config", "short.yaml", "--print_config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["model"]["class_path"] == "neuralsolvers.train.LearnedPreconditionerModule"
    assert printed["data"]["class_path"] == "neuralsolvers.train.SceneDataModule"


def test_top_level_usage_and_unknown_command(capsys):
    assert main(["--help"]) == 0
    assert "generate" in capsys.readouterr().out
    assert main(["train"]) == 2
    assert "unknown command 'train'" in capsys.readouterr().err


def test_version_is_one_line_without_importing_torch(capsys):
    for flag in ("--version", "-V"):
        assert main([flag]) == 0
        out = capsys.readouterr().out.splitlines()
        assert len(out) == 1 and out[0].startswith(f"neuralsolvers {neuralsolvers.__version__} (torch {torch.__version__}, "), out
    assert main(["--help"]) == 0
    assert "neuralsolvers --version" in capsys.readouterr().out
    code = "import sys; from neuralsolvers.cli import main; main(['--version']); print(sorted({'torch', 'pytorch_lightning', 'wandb'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()[-1] == "[]"


def test_print_config_shows_resolved_values(workdir, capsys):
    config = str(CONFIGS / "deeponet_antiderivative.yaml")
    assert main(["fit", "--config", config, "--trainer.max_epochs=7", "--print_config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["trainer"]["max_epochs"] == 7
    assert printed["trainer"]["inference_mode"] is False


def _error_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    assert err[0].startswith("error:")
    return err[0]


def test_mistyped_key_is_one_clear_line(workdir, capsys):
    config = str(CONFIGS / "deeponet_antiderivative.yaml")
    assert main(["fit", "--config", config, "--trainer.max_epoch=3"]) == 2
    assert "max_epoch" in _error_line(capsys)


def test_wrong_type_is_one_clear_line(workdir, capsys):
    config = str(CONFIGS / "deeponet_antiderivative.yaml")
    assert main(["fit", "--config", config, "--data.init_args.batch_size=many"]) == 2
    assert "batch_size" in _error_line(capsys)


def test_constructor_rejection_is_one_clear_line(workdir, capsys):
    data = str(CONFIGS / "data/diffusion_reaction.yaml")
    assert main(["generate", "--config", data, "--generator.init_args.refine=0"]) == 1
    line = _error_line(capsys)
    assert "invalid arguments" in line and "refine" in line
    model = str(CONFIGS / "mgno_darcy.yaml")
    assert main(["fit", "--config", model, "--model.init_args.model.init_args.padding_mode=replicate"]) == 1
    assert "padding_mode" in _error_line(capsys)


def test_missing_config_file_is_one_clear_line(workdir, capsys):
    assert main(["generate", "--config", "configs/data/nope.yaml"]) == 2
    assert "nope.yaml" in _error_line(capsys)


def test_a_fit_never_replaces_an_earlier_runs_checkpoints_unasked(workdir, capsys):
    """A smoke test into the main job's checkpoint directory is refused with one line naming the
    directory and the flags; the trained file is untouched. ``--overwrite`` and another
    ``--checkpoint.dirpath`` pass this check (they then stop at the missing data: no training here)."""
    best = workdir / "checkpoints/neural_mg_poisson2d/best.ckpt"
    best.parent.mkdir(parents=True)
    best.write_bytes(b"the trained model")
    smoke = ["fit", "--config", str(CONFIGS / "neural_mg_poisson2d.yaml"), "--trainer.max_epochs=1", "--trainer.limit_train_batches=1"]
    assert main(smoke) == 1
    line = _error_line(capsys)
    assert "checkpoints/neural_mg_poisson2d already holds the checkpoints of an earlier run (best.ckpt)" in line
    assert "--overwrite" in line and "--checkpoint.dirpath" in line and "--ckpt_path last" in line
    assert best.read_bytes() == b"the trained model"
    for allowed in (["--overwrite"], ["--checkpoint.dirpath=checkpoints/smoke"], ["--trainer.fast_dev_run=true"]):
        assert main([*smoke, *allowed]) == 1
        assert "error: no dataset at data/diffusion_scenes_2d_64/train" in capsys.readouterr().err  # past the check
    assert best.read_bytes() == b"the trained model"


def test_a_damaged_resume_checkpoint_is_one_clear_line(workdir, capsys):
    torch.save({"state_dict": {"model.weight": torch.full((4096,), 0.5)}}, workdir / "good.ckpt")
    good = (workdir / "good.ckpt").read_bytes()
    (workdir / "truncated.ckpt").write_bytes(good[: len(good) // 2])
    weight = good.index(torch.full((4096,), 0.5).numpy().tobytes())  # the tensor's bytes in the archive
    (workdir / "crc.ckpt").write_bytes(good[:weight] + bytes(64) + good[weight + 64 :])
    config = str(CONFIGS / "deeponet_antiderivative.yaml")
    faults = {"truncated.ckpt": "damaged or truncated checkpoint", "crc.ckpt": "do not match their CRC", "missing.ckpt": "no such checkpoint file"}
    for name, fault in faults.items():
        assert main(["fit", "--config", config, f"--ckpt_path={name}"]) == 1
        line = _error_line(capsys)
        assert line.startswith(f"error: {name}: ") and fault in line, line


def test_evaluate_refuses_a_damaged_checkpoint_with_one_line(workdir, capsys):
    (workdir / "bad.ckpt").write_bytes(b"PK\x03\x04" + bytes(200))
    args = ["evaluate", "--config", str(CONFIGS / "eval/neural_mg_demo.yaml"), "--requires=[]", "--task.init_args.checkpoint=bad.ckpt", "--wandb=false"]
    assert main(args) == 1
    assert _error_line(capsys).startswith("error: bad.ckpt: damaged or truncated checkpoint")


def test_missing_dataset_is_one_clear_line(workdir, capsys):
    config = str(CONFIGS / "deeponet_antiderivative.yaml")
    assert main(["fit", "--config", config, "--trainer.fast_dev_run=true"]) == 1
    line = _error_line(capsys)
    assert "data/antiderivative_l0.2/train" in line and "generate" in line


@pytest.mark.long
def test_mismatched_dataset_is_refused(tiny_data, capsys):
    config = str(CONFIGS / "deeponet_antiderivative.yaml")
    args = ["fit", "--config", config, "--trainer.fast_dev_run=true", "--data.init_args.train=data/antiderivative_l0.1/test"]
    assert main(args) == 1
    assert "length_scale" in _error_line(capsys)


@pytest.mark.long
def test_diverging_run_stops_with_one_line(tiny_data, capsys):
    config = str(CONFIGS / "deeponet_antiderivative.yaml")
    args = ["fit", "--config", config, "--trainer.max_steps=20", "--model.init_args.optimizer.init_args.lr=1e30", "--overwrite", *TINY]
    assert main(args) == 1
    assert "training loss is" in _error_line(capsys)


def test_python_dash_m_runs_the_command():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "neuralsolvers", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "evaluate" in result.stdout


def test_shards_made_by_separate_jobs_read_back_as_one(workdir):
    from neuralsolvers.data_gen import ShardedDataset

    config = str(CONFIGS / "data/antiderivative.yaml")
    splits = ["--splits", "[{name: train, num_samples: 30, seed: 0}]", "--shard_size", "10"]
    for job in range(2):
        assert main(["generate", "--config", config, *splits, "--out", "jobs", "--shard", str(job), "--num-shards", "2"]) == 0
    assert main(["generate", "--config", config, *splits, "--out", "single"]) == 0
    jobs, single = ShardedDataset("jobs/train").load(), ShardedDataset("single/train").load()
    assert (jobs["u"] == single["u"]).all() and len(jobs["u"]) == 30


def test_generate_list_names_every_generator(capsys):
    assert main(["generate", "--list"]) == 0
    out = capsys.readouterr().out
    assert "antiderivative" in out and "darcy2d" in out


@pytest.mark.long
@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_lightning_refusal_is_one_clear_line(tiny_data, capsys):
    """A trainer setting Lightning refuses (CUDA on a CPU machine): one error line, non-zero exit."""
    config = str(CONFIGS / "dcdm_poisson2d.yaml")
    assert main(["fit", "--config", config, "--trainer.accelerator=cuda", "--overwrite", *TINY]) != 0
    assert "cuda" in _error_line(capsys).lower()


def test_evaluate_runs_missing_prerequisites_first(workdir, capsys):
    """An evaluation config's ``requires`` makes what is missing (here: the LPN toy's data) and only that."""
    generate = ["generate", "--config", str(CONFIGS / "data/laplace_toy.yaml"), "--splits", "[{name: test, num_samples: 10, seed: 1}]", "--out", "data/toy"]
    config = workdir / "eval.yaml"
    config.write_text(yaml.safe_dump({
        "requires": [{"when_missing": "data/toy/test", "run": generate}],
        "task": {"class_path": "neuralsolvers.evaluate.RelaxationEvaluation",
                 "init_args": {"sizes": [5], "num_steps": 4, "num_omegas": 4, "omega_high": 1.75, "trials": 1, "online": False}},
        "out": "results/relax",
    }))  # fmt: skip
    assert main(["evaluate", "--config", str(config), "--wandb=false"]) == 0
    assert "data/toy/test is missing: running neuralsolvers generate" in capsys.readouterr().out
    assert (workdir / "data/toy/test").is_dir() and (workdir / "results/relax/results.json").is_file()
    assert main(["evaluate", "--config", str(config), "--wandb=false"]) == 0
    assert "is missing" not in capsys.readouterr().out
    bad = yaml.safe_load(config.read_text())
    bad["requires"] = [{"when_missing": "nowhere", "run": ["evaluate", "--config", str(config)]}]
    config.write_text(yaml.safe_dump(bad))
    assert main(["evaluate", "--config", str(config), "--wandb=false"]) == 1
    assert "not a generate/fit/validate/test command" in capsys.readouterr().err


@pytest.mark.long
def test_pinn_evaluation_config_runs(tiny_data, capsys):
    """The committed PINN evaluation against the (tiny) Klein–Gordon reference, untrained networks."""
    from neuralsolvers.models import PINNNet

    config = CONFIGS / "eval/pinn_klein_gordon.yaml"
    _fresh_checkpoints(config, lambda _: PINNNet(in_features=2, out_features=1, hidden=8, layers=2))
    capsys.readouterr()
    assert main(["evaluate", "--config", str(config), "--wandb=false", "--task.init_args.repeats=1"]) == 0
    table = capsys.readouterr().out
    assert "| M1 plain MLP |" in table and "reference_solver_s" in table and "is missing" not in table


def test_same_config_and_seed_give_the_same_data_and_the_same_training_on_cpu(workdir):
    """Determinism on the CPU: the data bit for bit, and two fits of the same config to identical weights."""
    from neuralsolvers.data_gen.store import ShardedDataset

    config = CONFIGS / "data/antiderivative.yaml"
    splits = "[{name: train, num_samples: 12, seed: 0}, {name: test, num_samples: 6, seed: 1}]"
    for out in ("data/a", "data/b"):
        assert main(["generate", "--config", str(config), "--splits", splits, "--out", out, "--shard_size", "6"]) == 0
    for split in ("train", "test"):
        first, second = (ShardedDataset(workdir / f"data/{run}/{split}").load(["u", "s"]) for run in ("a", "b"))
        assert all(np.array_equal(first[key], second[key]) for key in ("u", "s"))
    fit = str(CONFIGS / "deeponet_antiderivative.yaml")
    data = ["--data.init_args.train=data/a/train", "--data.init_args.test=data/a/test"]
    weights = []
    for run in ("one", "two"):
        assert main(["fit", "--config", fit, "--trainer.max_steps=4", "--trainer.limit_val_batches=1", "--trainer.logger=false", *data,
                     f"--checkpoint.dirpath=checkpoints/{run}"]) == 0  # fmt: skip
        weights.append(read_checkpoint(workdir / f"checkpoints/{run}/last.ckpt")["state_dict"])
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])


@pytest.mark.long
def test_resumed_fit_continues_the_same_wandb_run(workdir, monkeypatch):
    """Offline W&B: the resumed fit writes to the run id stored in the checkpoint (``wandb sync`` then
    continues one run) instead of starting a second run."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    splits = "[{name: train, num_samples: 40, seed: 0}, {name: test, num_samples: 8, seed: 1}]"
    assert main(["generate", "--config", str(CONFIGS / "data/antiderivative.yaml"), "--splits", splits]) == 0
    fit = ["fit", "--config", str(CONFIGS / "deeponet_antiderivative.yaml"), "--data.init_args.batch_size=8", "--trainer.enable_progress_bar=false"]
    assert main([*fit, "--trainer.max_steps=5"]) == 0
    run_id = read_checkpoint(workdir / "checkpoints/deeponet_antiderivative/last.ckpt")["wandb_run_id"]
    assert main([*fit, "--trainer.max_steps=10", "--ckpt_path=last"]) == 0
    runs = sorted(path.name for path in (workdir / "runs/wandb").glob("offline-run-*"))
    assert len(runs) == 2 and all(name.endswith(f"-{run_id}") for name in runs)


def test_a_checkpoint_that_needs_unpickling_is_refused_unless_trusted(workdir, capsys):
    """``--ckpt_path`` never runs code from a file: a checkpoint holding an arbitrary Python object is
    refused with one line and exit 1; with ``--trust-checkpoint`` the object's class is allowed (and named)."""
    import fractions

    splits = "[{name: train, num_samples: 20, seed: 0}, {name: test, num_samples: 8, seed: 1}]"
    assert main(["generate", "--config", str(CONFIGS / "data/antiderivative.yaml"), "--splits", splits]) == 0
    fit = ["fit", "--config", str(CONFIGS / "deeponet_antiderivative.yaml"), "--data.init_args.batch_size=8", "--trainer.max_steps=2"]
    assert main(fit) == 0
    checkpoint = torch.load(workdir / "checkpoints/deeponet_antiderivative/last.ckpt", weights_only=False)
    torch.save({**checkpoint, "extra": fractions.Fraction(1, 3)}, workdir / "foreign.ckpt")
    capsys.readouterr()
    for command in ("fit", "validate"):
        assert main([command, *fit[1:], "--ckpt_path=foreign.ckpt"]) == 1
        err = capsys.readouterr().err
        assert "error: foreign.ckpt: refused, it holds Python objects beyond tensors and plain data (fractions.Fraction)" in err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
        assert "--trust-checkpoint" in err
    for command in ("validate", "fit"):
        assert main([command, *fit[1:], "--ckpt_path=foreign.ckpt", "--trust-checkpoint", "--trainer.max_steps=4"]) == 0
        assert "trusting foreign.ckpt: allowing fractions.Fraction" in capsys.readouterr().err
    assert read_checkpoint(workdir / "checkpoints/deeponet_antiderivative/last.ckpt")["global_step"] == 4  # resumed from step 2
