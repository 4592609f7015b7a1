"""Neural network models (plain ``torch.nn.Module``; no Lightning, no W&B)."""

from neuralsolvers.models.deeponet import DeepONet
from neuralsolvers.models.mlp import MLP
from neuralsolvers.models.registry import MODELS, build_model, model_spec, register_model

__all__ = ["MLP", "MODELS", "DeepONet", "build_model", "model_spec", "register_model"]
