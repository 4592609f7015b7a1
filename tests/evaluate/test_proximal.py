"""The LPN evaluations: the toy against the exact curves, priors inside ADMM on tiny deblurring data."""

import json

import pytest
import torch

from neuralsolvers.data_gen import ImagePatches, LaplaceToy
from neuralsolvers.data_gen.runner import generate_split
from neuralsolvers.evaluate import InverseProblemEvaluation, ProximalToyEvaluation
from neuralsolvers.models import LPN, model_spec


def write_checkpoint(model, path, **hyper_parameters) -> str:
    state = {f"model.{key}": value for key, value in model.state_dict().items()}
    torch.save({"neuralsolvers_model": model_spec(model), "state_dict": state, "hyper_parameters": hyper_parameters}, path)
    return str(path)


def soft_threshold_like() -> LPN:
    """An LPN whose map is a staircase within 0.03 of the soft threshold at 1 on [−3, 3]:
    ψ = h Σ_k softplus_β(±y − t_k), t_k = 1 + h(k + ½), so ψ' = h Σ_k sigmoid(β(±y − t_k))."""
    steps, h = 50, 0.04
    model = LPN(kind="dense", in_features=1, hidden=2 * steps, layers=0, beta=200.0)
    thresholds = 1 + h * (torch.arange(steps) + 0.5)
    with torch.no_grad():
        model.first.weight.copy_(torch.cat([torch.ones(steps), -torch.ones(steps)])[:, None])
        model.first.bias.copy_(-torch.cat([thresholds, thresholds]))
        model.output.weight.fill_(h)
        model.output_injection.weight.zero_()
    return model


def test_toy_evaluation_finds_the_closest_exact_curve(tmp_path):
    generate_split(LaplaceToy(), tmp_path / "toy", 100, seed=0)
    checkpoint = write_checkpoint(soft_threshold_like(), tmp_path / "st.ckpt", loss="prox_matching")
    report = ProximalToyEvaluation({"LPN": checkpoint}, str(tmp_path / "toy")).run(tmp_path / "out", use_wandb=False)
    reference, row = report.rows
    assert reference["closest"] == "map" and 0.09 < reference["max_err_vs_map"] < 0.13  # matching at γ = 0.1
    assert row["closest"] == "map" and row["max_err_vs_map"] < 0.05 and row["loss"] == "prox_matching"
    assert min(row["max_err_vs_mean"], row["max_err_vs_median"]) > 0.3 and row["inversion_residual"] < 1e-6
    assert (tmp_path / "out/toy.png").is_file()
    (comparison,) = report.headline  # the LPN against the exact MAP, by accuracy (nothing to time)
    assert comparison.learned == "LPN" and comparison.learned_metric == row["max_err_vs_map"] and comparison.time_ratio is None


def test_priors_inside_admm_on_deblurring(tmp_path):
    generate_split(ImagePatches(patch_size=16, sources=["synthetic"], operator="blur", blur_sigma=1.0, kernel_size=7,
                                noise_sigma=0.02), tmp_path / "blur", 6, seed=0)  # fmt: skip
    torch.manual_seed(0)
    checkpoint = write_checkpoint(LPN(kind="conv", in_features=1, hidden=4, image_size=16, beta=100.0), tmp_path / "lpn.ckpt")
    evaluation = InverseProblemEvaluation(str(tmp_path / "blur"), {"LPN": checkpoint}, tv=[0.01], haar=[0.005, 0.02],
                                          rho=0.5, maxiter=40, tol=1e-3, num_images=4, tune_images=2)  # fmt: skip
    rows = {row["prior"]: row for row in evaluation.run(tmp_path / "out", use_wandb=False).rows}
    assert set(rows) == {"none (Aᵀy)", "LPN", "TV", "Haar wavelet"}
    assert rows["Haar wavelet"]["setting"] in ("λ = 0.005", "λ = 0.02") and rows["TV"]["setting"] == "λ = 0.01"
    for name in ("TV", "Haar wavelet"):  # a classical prior improves on the blurred measurement
        assert rows[name]["PSNR"] > rows["none (Aᵀy)"]["PSNR"] and rows[name]["iterations_max"] > 1
    assert all(rows[name]["peak_MiB"] >= 0 for name in ("LPN", "TV", "Haar wavelet")) and rows["none (Aᵀy)"]["peak_MiB"] is None
    record = json.loads((tmp_path / "out/results.json").read_text())
    assert record["config"]["problem"]["operator"] == "blur" and (tmp_path / "out/reconstructions.png").is_file()
    # the headline: the LPN against the classical prior of best PSNR, with their seconds per image
    (comparison,) = record["headline"]
    bar = max(("TV", "Haar wavelet"), key=lambda name: rows[name]["PSNR"])
    assert (comparison["learned"], comparison["classical"], comparison["classical_metric"]) == ("LPN", bar, rows[bar]["PSNR"])
    assert comparison["time_ratio"] == pytest.approx(rows["LPN"]["s_per_image"] / rows[bar]["s_per_image"])
    assert record["verdict"].endswith(f"best classical {bar} ({rows[bar]['PSNR']:.2f} dB)") and record["component"] == "LPN proximal"
    with pytest.raises(ValueError, match="need 10"):
        InverseProblemEvaluation(str(tmp_path / "blur"), tv=[0.01], num_images=8, tune_images=2).run(tmp_path / "x", use_wandb=False)
    boxed = InverseProblemEvaluation(str(tmp_path / "blur"), {"LPN": checkpoint}, rho=0.5, box=[0.0, 1.0], maxiter=40,
                                     tol=1e-3, num_images=4, tune_images=2).run(tmp_path / "boxed", use_wandb=False)  # fmt: skip
    assert "box [0.0, 1.0]" in boxed.title and boxed.config["box"] == (0.0, 1.0)
    with pytest.raises(ValueError, match="box"):
        InverseProblemEvaluation(str(tmp_path / "blur"), tv=[0.01], solver="pgd", box=[0.0, 1.0])
