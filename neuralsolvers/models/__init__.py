"""Neural network models (plain ``torch.nn.Module``; no Lightning, no W&B)."""

from neuralsolvers.models.cgs import CGS
from neuralsolvers.models.dcdm import DCDMNet
from neuralsolvers.models.deeponet import DeepONet
from neuralsolvers.models.fno import FNO
from neuralsolvers.models.gnn import GNNBaseline
from neuralsolvers.models.lpn import LPN
from neuralsolvers.models.mgno import MgNO, VCycle
from neuralsolvers.models.mlp import MLP
from neuralsolvers.models.neural_multigrid import NeuralMultigrid
from neuralsolvers.models.pinn_nets import HiddenTermNet, LagrangianNet, PINNNet
from neuralsolvers.models.registry import MODELS, build_model, model_spec, register_model

__all__ = ["CGS", "DCDMNet", "FNO", "GNNBaseline", "HiddenTermNet", "LPN", "LagrangianNet", "MLP", "MODELS", "DeepONet", "MgNO", "NeuralMultigrid", "PINNNet", "VCycle", "build_model", "model_spec", "register_model"]
