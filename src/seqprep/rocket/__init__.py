"""MiniRocket features and the leave-one-out ridge: numpy only, shared by the baselines and the models.

* :class:`MiniRocket` -- the MiniRocket transform (Dempster, Schmidt and Webb 2021) with the paper's
  defaults: 9,996 "proportion of positive values" features per case, masked for unequal lengths.
* :class:`RidgeLOO` -- ridge regression whose penalty is picked by exact leave-one-out error.
* :class:`RidgeClassifierLOO` -- the same on +-1 targets, one output per class.

:func:`seqprep.baselines.minirocket_classifier` scores them as every case run's baseline;
:class:`seqprep.models.MiniRocketRidge` is the same pair as a saved, loadable model
(``seqprep train --model minirocket``).

Examples
--------
>>> import numpy as np
>>> from seqprep.rocket import MiniRocket, RidgeClassifierLOO
>>> X = np.random.default_rng(0).normal(size=(8, 50, 1))
>>> F = MiniRocket(seed=0).fit(X).transform(X)
>>> F.shape, RidgeClassifierLOO().fit(F, np.arange(8) % 2).predict(F).tolist()
((8, 9996), [0, 1, 0, 1, 0, 1, 0, 1])
"""

from ._minirocket import MiniRocket, RidgeClassifierLOO, RidgeLOO

__all__ = ["MiniRocket", "RidgeClassifierLOO", "RidgeLOO"]
