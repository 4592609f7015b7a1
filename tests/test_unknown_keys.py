"""A mistyped key, on the command line or in a YAML config, is one short line: the key first, then the
closest valid key. The parse fails before anything is built, so these run in a moment."""

from pathlib import Path

import pytest
from jsonargparse import ArgumentError

from neuralsolvers.cli import main
from neuralsolvers.unknown_keys import unknown_key_message

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
NEURAL_MG = str(CONFIGS / "neural_mg_poisson2d.yaml")
ANTIDERIVATIVE = str(CONFIGS / "data/antiderivative.yaml")
EVALUATION = str(CONFIGS / "eval/deeponet_antiderivative.yaml")


@pytest.fixture(autouse=True)
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    return tmp_path


def error_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    assert len(err[0]) < 200, err[0]
    return err[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["fit", "--config", NEURAL_MG, "--trainer.max_epoch=1"],
         "error: neuralsolvers fit: unknown key 'trainer.max_epoch' (did you mean 'max_epochs'?)"),
        (["fit", "--config", NEURAL_MG, "--trainr.max_epochs=1"],
         "error: neuralsolvers fit: unknown key 'trainr.max_epochs' (did you mean 'trainer.max_epochs'?)"),
        (["fit", "--config", NEURAL_MG, "--model.init_args.model.init_args.hiden=8", "--trainer.max_epochs=0"],
         "error: neuralsolvers fit: unknown key 'model.init_args.model.init_args.hiden' (did you mean 'hidden'?)"),
        (["fit", "--config", NEURAL_MG, "--model.init_args.optimizer.init_args.lrr=0.1"],
         "error: neuralsolvers fit: unknown key 'model.init_args.optimizer.init_args.lrr' (did you mean 'lr'?)"),
        (["validate", "--config", NEURAL_MG, "--data.init_args.batch_sise=1"],
         "error: neuralsolvers validate: unknown key 'data.init_args.batch_sise' (did you mean 'batch_size'?)"),
        (["generate", "--config", ANTIDERIVATIVE, "--generator.init_args.length_scal=0.1"],
         "error: neuralsolvers generate: unknown key 'generator.init_args.length_scal' (did you mean 'length_scale'?)"),
        (["generate", "--config", ANTIDERIVATIVE, "--shard_sise=10"],
         "error: neuralsolvers generate: unknown key 'shard_sise' (did you mean 'shard_size'?)"),
        (["evaluate", "--config", EVALUATION, "--outt=results/x"],
         "error: neuralsolvers evaluate: unknown key 'outt' (did you mean 'out'?)"),
        (["evaluate", "--config", EVALUATION, "--task.init_args.checkpont=x.ckpt"],
         "error: neuralsolvers evaluate: unknown key 'task.init_args.checkpont' (did you mean 'checkpoint'?)"),
    ],
)  # fmt: skip
def test_a_mistyped_key_names_itself_first_and_the_closest_key(args, expected, capsys):
    assert main(args) == 2
    assert error_line(capsys) == expected


def test_a_mistyped_key_in_a_yaml_config(workdir, capsys):
    (workdir / "trainer.yaml").write_text("trainer:\n  max_epoch: 1\n")
    (workdir / "model.yaml").write_text("model:\n  init_args:\n    model:\n      init_args:\n        hiden: 8\n")
    assert main(["fit", "--config", NEURAL_MG, "--config", "trainer.yaml"]) == 2
    assert error_line(capsys) == "error: neuralsolvers fit: unknown key 'trainer.max_epoch' (did you mean 'max_epochs'?)"
    assert main(["fit", "--config", NEURAL_MG, "--config", "model.yaml"]) == 2
    assert error_line(capsys) == "error: neuralsolvers fit: unknown key 'model.init_args.model.init_args.hiden' (did you mean 'hidden'?)"


def test_nothing_close_lists_the_keys_or_points_to_help(capsys):
    assert main(["fit", "--config", NEURAL_MG, "--model.init_args.model.init_args.zzzz=1"]) == 2
    line = error_line(capsys)
    assert line.startswith("error: neuralsolvers fit: unknown key 'model.init_args.model.init_args.zzzz' (NeuralMultigrid takes: ")
    assert "hidden" in line and "depth" in line
    assert main(["generate", "--config", ANTIDERIVATIVE, "--zzzz=1", "--yyyy=2"]) == 2
    assert error_line(capsys) == "error: neuralsolvers generate: unknown key 'zzzz' (see neuralsolvers generate --help); also unknown: --yyyy=2"


def test_other_parse_errors_keep_jsonargparses_message(capsys):
    assert main(["fit", "--config", NEURAL_MG, "--model.init_args.model.init_args.hidden=many"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: neuralsolvers fit: ") and "unknown key" not in err and "hidden" in err and "many" in err
    assert unknown_key_message(ArgumentError(None, "Parser key \"x\": Expected a <class 'int'>. Got value: y"), "fit") is None
    assert unknown_key_message(ArgumentError(None, "unrecognized arguments: positional"), "fit") is None
