"""gaussmix: Gaussian mixture models fitted by EM, with scikit-learn's interface and a
Rust engine.

- :class:`GaussianMixture`: a drop-in for ``sklearn.mixture.GaussianMixture``.
- :func:`select`: choose the number of components and the covariance type.
- :func:`load` / :meth:`GaussianMixture.save`: the CLI's JSON model files.
- :func:`from_sklearn` / :meth:`GaussianMixture.to_sklearn`: convert fitted models.
- :func:`read_data`: the CLI's data files (CSV/TSV, .npy) as an array and column names.
- ``gaussmix.dask.GaussianMixture`` (imported on its own; needs dask and distributed):
  EM on a Dask cluster, one map-reduce over the blocks per iteration.

numpy is the only required dependency; scikit-learn (base classes, exceptions, input
validation) and pandas (DataFrames in and out) are used when installed.
"""

from ._compat import ConvergenceWarning, DegenerateWarning, NotFittedError
from ._convert import from_sklearn, load, spurious_components
from ._estimator import GaussianMixture
from ._native import MODEL_VERSION, RunFailed, read_data
from ._native import __version__ as __version__
from ._select import select

__all__ = [
    "ConvergenceWarning",
    "DegenerateWarning",
    "GaussianMixture",
    "MODEL_VERSION",
    "NotFittedError",
    "RunFailed",
    "from_sklearn",
    "load",
    "read_data",
    "select",
    "spurious_components",
]
