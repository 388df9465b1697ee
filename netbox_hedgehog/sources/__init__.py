"""Sources of fabric objects: each reads one place and returns a :class:`~.base.SourceListing`.

Importing the package registers every source class (see :func:`~.base.register_source`).
"""

from . import git, kubernetes  # noqa: F401 (registers GitSource and KubernetesSource)
