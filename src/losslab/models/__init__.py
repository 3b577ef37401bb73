"""Built-in networks for landscapes: linear and logistic regression, MLPs and a small CNN."""

from losslab.models.registry import build, describe_model, models
from losslab.models.zoo import (
    cnn,
    linear_regression,
    logistic_regression,
    mlp,
    normal_equation,
)

__all__ = [
    "build",
    "cnn",
    "describe_model",
    "linear_regression",
    "logistic_regression",
    "mlp",
    "models",
    "normal_equation",
]
