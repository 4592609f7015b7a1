"""Neural network models (plain ``torch.nn.Module``; no Lightning, no W&B). Every name is imported on first use."""

from neuralsolvers._lazy import lazy_exports

_EXPORTS = {
    "build_model": ".registry",
    "CGS": ".cgs",
    "DCDMNet": ".dcdm",
    "DeepONet": ".deeponet",
    "FNO": ".fno",
    "GNNBaseline": ".gnn",
    "HiddenTermNet": ".pinn_nets",
    "LagrangianNet": ".pinn_nets",
    "LPN": ".lpn",
    "MgNO": ".mgno",
    "MLP": ".mlp",
    "model_spec": ".registry",
    "BUILT_IN": ".registry",
    "MODELS": ".registry",
    "NeuralMultigrid": ".neural_multigrid",
    "PINNNet": ".pinn_nets",
    "register_model": ".registry",
    "VCycle": ".mgno",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
