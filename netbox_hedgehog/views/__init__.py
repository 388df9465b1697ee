"""UI views, one module per model; importing them registers each with ``register_model_view``."""

from .fabrics import *  # noqa: F401,F403
from .owned_objects import *  # noqa: F401,F403
from .resources import *  # noqa: F401,F403
from .sync_runs import *  # noqa: F401,F403
