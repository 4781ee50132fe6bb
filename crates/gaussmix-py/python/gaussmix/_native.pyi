"""Type stubs of the Rust extension module ``gaussmix._native`` (internal API: use
:class:`gaussmix.GaussianMixture`, :func:`gaussmix.select`, :func:`gaussmix.load` and
:func:`gaussmix.read_data`)."""

import os
from typing import Any, Callable, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str
MODEL_VERSION: int

class RunFailed(ValueError):
    """An EM run failed on its own terms (a covariance that is not positive definite,
    a numerical failure); another initialization may succeed."""

class Model:
    """A fitted mixture held by the engine (immutable; pickles as its JSON model file)."""

    @staticmethod
    def from_parameters(
        covariance_type: str,
        weights: npt.NDArray[np.float64],
        means: npt.NDArray[np.float64],
        covariances: npt.NDArray[np.float64],
    ) -> "Model": ...
    @staticmethod
    def from_json(text: str) -> "Model": ...
    def to_json(self) -> str: ...
    def __reduce__(self) -> Tuple[Any, Tuple[str]]: ...
    @property
    def covariance_type(self) -> str: ...
    @property
    def online_batches(self) -> Optional[int]: ...
    @property
    def n_components(self) -> int: ...
    @property
    def n_features(self) -> int: ...
    @property
    def n_parameters(self) -> int: ...
    @property
    def weights(self) -> npt.NDArray[np.float64]: ...
    @property
    def means(self) -> npt.NDArray[np.float64]: ...
    @property
    def covariances(self) -> npt.NDArray[np.float64]: ...
    @property
    def precisions_cholesky(self) -> npt.NDArray[np.float64]: ...
    @property
    def record_json(self) -> Optional[str]: ...
    @property
    def feature_names(self) -> Optional[List[str]]: ...
    @property
    def warnings(self) -> List[Tuple[str, Optional[int], Optional[int], str]]: ...
    def predict(self, x: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.int64]: ...
    def predict_proba(self, x: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float64]: ...
    def score_samples(self, x: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float64]: ...
    def sample(self, n: int, seed: int) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]: ...
    def partial_fit(
        self,
        x: npt.NDArray[np.floating[Any]],
        *,
        sample_weight: Optional[npt.NDArray[np.float64]] = None,
        step_exponent: Optional[float] = None,
        average_from: Optional[int] = None,
    ) -> Tuple["Model", float]: ...
    def end_pass(self) -> Tuple["Model", Optional[float]]: ...

class Batches:
    def __init__(
        self,
        path: str,
        batch_size: int,
        *,
        columns: Optional[List[str]] = None,
        exclude: Optional[List[str]] = None,
        weight_column: Optional[str] = None,
        delimiter: Optional[str] = None,
    ) -> None: ...
    def __iter__(self) -> "Batches": ...
    def __next__(self) -> Tuple[npt.NDArray[np.float64], Optional[npt.NDArray[np.float64]]]: ...
    @property
    def feature_names(self) -> Optional[List[str]]: ...

def _model_from_json(text: str) -> Model: ...
def fit(
    x: npt.NDArray[np.floating[Any]],
    *,
    sample_weight: Optional[npt.NDArray[np.float64]] = None,
    n_components: int,
    covariance_type: str = "full",
    tol: float = 1e-3,
    reg_covar: float = 1e-6,
    max_iter: int = 100,
    n_init: int = 1,
    init: str = "kmeans++",
    seed: int = 0,
    n_threads: Optional[int] = None,
    recover: bool = False,
    variance_floor: Optional[float] = None,
    weights_init: Optional[npt.NDArray[np.float64]] = None,
    means_init: Optional[npt.NDArray[np.float64]] = None,
    covariances_init: Optional[npt.NDArray[np.float64]] = None,
    precisions_init: Optional[npt.NDArray[np.float64]] = None,
    progress: Optional[Callable[[int, int, float, float], None]] = None,
    feature_names: Optional[List[str]] = None,
) -> Model: ...
def kmeans_plus_plus(
    x: npt.NDArray[np.floating[Any]],
    n_clusters: int,
    seed: int,
    sample_weight: Optional[npt.NDArray[np.float64]] = None,
) -> npt.NDArray[np.int64]: ...
def kmeans_labels(
    x: npt.NDArray[np.floating[Any]],
    n_clusters: int,
    seed: int,
    max_iter: int = 300,
    sample_weight: Optional[npt.NDArray[np.float64]] = None,
) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...
def choice(candidates: npt.NDArray[np.int64], k: int, seed: int) -> npt.NDArray[np.int64]: ...
def uniform(n: int, k: int, seed: int) -> npt.NDArray[np.float64]: ...
def select(
    x: npt.NDArray[np.floating[Any]],
    *,
    sample_weight: Optional[npt.NDArray[np.float64]] = None,
    ks: List[int],
    covariance_types: List[str],
    criterion: str = "bic",
    tol: float = 1e-3,
    reg_covar: float = 1e-6,
    max_iter: int = 100,
    n_init: int = 1,
    init: str = "kmeans++",
    seed: int = 0,
    n_threads: Optional[int] = None,
    recover: bool = False,
    variance_floor: Optional[float] = None,
) -> Tuple[str, Model]: ...
def read_data(
    path: Union[str, "os.PathLike[str]"],
    *,
    delimiter: Optional[str] = None,
) -> Tuple[npt.NDArray[np.float64], Optional[List[str]]]:
    """Reads a data file with the CLI's readers (CSV/TSV text or .npy): the values as a
    float64 array of shape (n_samples, n_features), and the header's column names (None
    without a header)."""
    ...

class BlockStats:
    """One block's E-step statistics under one model (``O(K·D²)`` numbers whatever the
    block's rows); pickles as its compact bytes (``gaussmix.dask``'s workers)."""

    @staticmethod
    def empty(model: Model) -> "BlockStats": ...
    @staticmethod
    def merge(parts: List["BlockStats"]) -> "BlockStats": ...
    @staticmethod
    def from_bytes(data: bytes) -> "BlockStats": ...
    def to_bytes(self) -> bytes: ...
    @property
    def n_samples(self) -> int: ...
    @property
    def total_weight(self) -> float: ...
    @property
    def log_likelihood(self) -> float: ...

def _block_stats_from_bytes(data: bytes) -> BlockStats: ...
def block_stats(
    models: List[Model],
    x: Union[npt.NDArray[np.float64], npt.NDArray[np.float32]],
    sample_weight: Optional[npt.NDArray[np.float64]] = ...,
    n_threads: Optional[int] = ...,
) -> List[BlockStats]: ...

class BlockEm:
    """One EM run over blocks: ``step`` with each pass's merged statistics under
    ``model``; ``finish`` with a final pass's."""

    def __init__(
        self,
        start: Model,
        *,
        tol: float,
        reg_covar: float,
        max_iter: int,
        variance_floor: Optional[float] = ...,
        previous_lower_bound: float = ...,
        first_offset: float = ...,
        feature_names: Optional[List[str]] = ...,
    ) -> None: ...
    @property
    def model(self) -> Model: ...
    def step(self, stats: BlockStats) -> float: ...
    @property
    def done(self) -> bool: ...
    @property
    def converged(self) -> bool: ...
    @property
    def n_iter(self) -> int: ...
    @property
    def lower_bounds(self) -> List[float]: ...
    def finish(self, stats: BlockStats) -> Model: ...
