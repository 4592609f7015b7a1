"""MgNO, FNO and DeepONet on the same Darcy data, the same budget: one comparison table and figure.

Each model is trained through ``neuralsolvers fit`` with its committed config
(``configs/{mgno,fno,deeponet}_darcy.yaml``), overriding only the data and the number of epochs,
then tested at the training resolution and at twice it. MgNO and FNO are evaluated directly on the
finer grid; DeepONet's branch needs the coefficient at its training sensors, so at 2× it gets the
finer coefficient subsampled to them and is queried at all finer nodes by its trunk.

Data: ``--data ours`` uses ``data/darcy_piecewise_241`` (``neuralsolvers generate --config
configs/data/darcy_piecewise.yaml``) at stride ``--stride`` (8: 31², tested at 61²);
``--data neuralop`` imports neuraloperator's own sets from ``../shared/data/neuralop`` (train 16²,
test 16² and 32²); ``--data ours_on_neuralop`` trains on our generator's data made with their
coefficient values on their grid and tests on their sets. Writes ``results.md``/``.json``, a figure (coefficient, truth, each prediction,
errors) and a W&B run (offline unless logged in) under ``--out``.

    .venv/bin/python benchmarks/darcy_operators.py --data neuralop --epochs 20
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

import neuralsolvers
from neuralsolvers.cli import main as neuralsolvers_command
from neuralsolvers.data_gen import Darcy2D, import_neuralop_darcy, subsample
from neuralsolvers.data_gen.external import NEURALOP_COEFFICIENT
from neuralsolvers.data_gen.store import ShardedDataset, shard_is_complete, shard_path, write_shard
from neuralsolvers.evaluate.report import Report, environment
from neuralsolvers.physics.losses import OperatorLoss

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("mgno", "fno", "deeponet")


def prepare(args: argparse.Namespace) -> dict[str, object]:
    """Train/test directories and the strides of the training and the 2× test resolution."""
    if args.data == "ours":
        base = args.darcy_dir
        return {"train": base / "train", "test": base / "test", "fine": base / "test", "stride": args.stride,
                "fine_stride": args.stride // 2, "generator": "darcy2d"}
    shared = Path(os.environ.get("NEURALSOLVERS_SHARED_DATA", ROOT.parent / "shared/data")) / "neuralop"
    out = args.out.parent / "neuralop_data"
    for name in ("darcy_train_16", "darcy_test_16", "darcy_test_32"):
        if not (out / name).is_dir():
            import_neuralop_darcy(shared / f"{name}.pt", out / name)
    theirs = {"test": out / "darcy_test_16", "fine": out / "darcy_test_32", "stride": 1, "fine_stride": 1}
    if args.data == "neuralop":
        return {"train": out / "darcy_train_16", "generator": "neuralop_darcy", **theirs}
    return {"train": our_data_on_their_grid(args.out / "train"), "generator": None, **theirs}


def our_data_on_their_grid(directory: Path, num_samples: int = 1000) -> Path:
    """Our generator with neuraloperator's coefficient values on their 16² grid (pixel i at i/16).

    Solved on 161 nodes (h = 1/160), subsampled to the 17 nodes i/16 and cropped to i < 16, the
    far wall dropped as in their files; one shard under ``directory``.
    """
    if shard_is_complete(shard_path(directory, 0, 1)):
        return directory
    generator = Darcy2D(resolution=161, high=NEURALOP_COEFFICIENT[1], low=NEURALOP_COEFFICIENT[0])
    arrays = generator.generate(num_samples, np.random.default_rng(7))
    generator.check(arrays)
    fields = {k: subsample(arrays[k], 10)[:, :16, :16] for k in ("a", "u")}
    write_shard(shard_path(directory, 0, 1), fields, generator=generator.name, parameters=generator.get_params(),
                seed=7, sample_range=(0, num_samples), shard_index=0, num_shards=1, shared={"grid": np.arange(16) / 16})
    return directory


def fit(model: str, data: dict[str, object], side: int, args: argparse.Namespace) -> tuple[Path, float]:
    """Train one model with its config on ``side × side`` fields; returns the best checkpoint and
    the seconds per epoch (fit wall time, validation included, over the epochs)."""
    directory = args.out / "checkpoints" / model
    overrides = [
        f"--data.init_args.train={data['train']}", f"--data.init_args.test={data['test']}",
        f"--data.init_args.generator={data['generator'] or 'null'}", f"--data.init_args.stride={data['stride']}",
        f"--trainer.max_epochs={args.epochs}", f"--checkpoint.dirpath={directory}",
        "--trainer.enable_progress_bar=false", f"--data.init_args.batch_size={args.batch_size}",
    ]
    if model == "deeponet":
        overrides.append(f"--model.init_args.model.init_args.num_sensors={side * side}")
    start = time.perf_counter()
    code = neuralsolvers_command(["fit", "--config", str(ROOT / f"configs/{model}_darcy.yaml"), *overrides])
    if code != 0:
        raise SystemExit(f"training {model} failed")
    return directory / "best.ckpt", (time.perf_counter() - start) / args.epochs


@torch.no_grad()
def predict(model: str, net: torch.nn.Module, a: np.ndarray, grid: np.ndarray, sensors_stride: int) -> np.ndarray:
    """Predictions ``(N, s, s)`` for coefficients ``(N, s, s)`` on node axis ``grid`` ``(s,)``."""
    inputs = torch.as_tensor(a, dtype=torch.float32)
    if model != "deeponet":
        return net(inputs).numpy()
    points = np.stack(np.meshgrid(grid, grid, indexing="ij"), axis=-1).reshape(-1, 2)
    sensors = inputs[:, ::sensors_stride, ::sensors_stride].reshape(len(a), -1)
    return net(sensors, torch.as_tensor(points, dtype=torch.float32)).reshape(a.shape).numpy()


def errors(prediction: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    p, t = torch.as_tensor(prediction[:, None]), torch.as_tensor(truth[:, None])
    return {"rel_l2": float(OperatorLoss("rel_l2", 2)(p, t)), "rel_h1": float(OperatorLoss("rel_h1", 2)(p, t))}


def figure(a: np.ndarray, truth: np.ndarray, predictions: dict[str, np.ndarray], title: str) -> plt.Figure:
    """Coefficient, truth, each prediction and its error for one test sample."""
    fig, axes = plt.subplots(2, 2 + len(predictions), figsize=(3 * (2 + len(predictions)), 6), squeeze=False)
    axes[0][0].imshow(a.T, origin="lower", cmap="gray")
    axes[0][0].set_title("coefficient a")
    axes[0][1].imshow(truth.T, origin="lower")
    axes[0][1].set_title("truth u")
    for j, (name, field) in enumerate(predictions.items(), start=2):
        axes[0][j].imshow(field.T, origin="lower")
        axes[0][j].set_title(name)
        image = axes[1][j].imshow((field - truth).T, origin="lower", cmap="RdBu_r")
        axes[1][j].set_title(f"{name} error")
        fig.colorbar(image, ax=axes[1][j], fraction=0.046)
    for ax in axes.ravel():
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("ours", "neuralop", "ours_on_neuralop"), default="neuralop",
                        help="ours_on_neuralop: train on our generator's data on their grid, test on theirs")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--stride", type=int, default=8, help="--data ours: training stride of the stored grid")
    parser.add_argument("--darcy-dir", type=Path, default=Path("data/darcy_piecewise_241"), help="--data ours: the dataset")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--out", type=Path, default=Path("results/darcy_operators"))
    args = parser.parse_args()
    args.out = args.out / args.data
    data = prepare(args)
    test, fine = ShardedDataset(data["test"]).load(["a", "u"]), ShardedDataset(data["fine"])
    fine_arrays = fine.load(["a", "u"])
    stride, fine_stride = data["stride"], data["fine_stride"]
    coarse = {k: subsample(v, stride) if stride > 1 else v for k, v in test.items()}
    finer = {k: subsample(v, fine_stride) if fine_stride > 1 else v for k, v in fine_arrays.items()}
    coarse_grid = ShardedDataset(data["test"]).shared["grid"][::stride]
    fine_grid = fine.shared["grid"][::fine_stride]
    ratio = (finer["a"].shape[-1] - (args.data == "ours")) // (coarse["a"].shape[-1] - (args.data == "ours"))
    rows, predictions = [], {}
    for model in args.models:
        checkpoint, per_epoch = fit(model, data, coarse["a"].shape[-1], args)
        net = neuralsolvers.load(checkpoint)
        params = sum(p.numel() for p in net.parameters())
        at_train = predict(model, net, coarse["a"], coarse_grid, 1)
        at_fine = predict(model, net, finer["a"], fine_grid, ratio)
        predictions[model] = at_train[0]
        train_err, fine_err = errors(at_train, coarse["u"]), errors(at_fine, finer["u"])
        rows.append({
            "model": model, "parameters": params, "s_per_epoch": round(per_epoch, 2),
            f"rel_l2@{coarse['a'].shape[-1]}": train_err["rel_l2"], f"rel_h1@{coarse['a'].shape[-1]}": train_err["rel_h1"],
            f"rel_l2@{finer['a'].shape[-1]}": fine_err["rel_l2"], f"rel_h1@{finer['a'].shape[-1]}": fine_err["rel_h1"],
        })
        print(rows[-1], flush=True)
    title = f"Darcy operators ({args.data} data, {args.epochs} epochs)"
    report = Report(
        title=title, rows=rows, environment=environment("cpu"), config=vars(args) | {"data_dirs": {k: str(v) for k, v in data.items()}},
        figures={"darcy_predictions": figure(coarse["a"][0], coarse["u"][0], predictions, title)},
    )
    report.write(args.out)
    report.log_to_wandb(args.out)
    print(report.markdown)


if __name__ == "__main__":
    main()
