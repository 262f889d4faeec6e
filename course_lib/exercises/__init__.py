"""Checks for the notebooks' exercises: each prints a verdict a learner can act on.

* ``verdict``: the machinery every check shares — reading an answer in any natural form,
  comparing it, naming a typical mistake, refusing a shortcut, never raising;
* ``part1``: the checks of Part I, notebooks 00–08 (the four steps, the library analogy);
* ``part2``: the checks of Part II, notebooks 09–11 (self-, cross- and multi-head attention);
* ``part3``: the checks of Part III, notebooks 12–13 (learning attention, attention at scale);
* ``capstone``: the checks of notebook 14 (a tiny GPT by hand: layer-norm backward, the block, the induction head).

Notebooks call them as ``exercises.check_*``. Introduced in notebook 00.
"""

from .part1 import *  # noqa: F401,F403 - the checks of notebooks 00-08
from .part1 import __all__ as _part1
from .part2 import *  # noqa: F401,F403 - the checks of notebooks 09-11
from .part2 import __all__ as _part2
from .part3 import *  # noqa: F401,F403 - the checks of notebooks 12-13
from .part3 import __all__ as _part3
from .capstone import *  # noqa: F401,F403 - the checks of notebook 14
from .capstone import __all__ as _capstone
from .verdict import check_array, check_function, check_value

__all__ = ["check_array", "check_value", "check_function", *_part1, *_part2, *_part3, *_capstone]
