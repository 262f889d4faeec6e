"""The course's JupyterLab defaults, read by every Jupyter server started with this folder on
JUPYTER_CONFIG_PATH (as `make lab` does).

JupyterLab takes settings defaults for all its users from one folder, the app settings folder
(``overrides.json``); by default that is ``<prefix>/share/jupyter/lab/settings``, inside the
environment. Here it is ``jupyter-config/lab/settings`` of the course, for JupyterLab and for
jupyterlab-rise's slideshow page (``/rise/``, an app of its own that reads the same settings), so
that the live slides are set up for a lecture hall without anyone changing a setting. A user's own
settings still win over these defaults.
"""

import pathlib

settings = str(pathlib.Path(__file__).resolve().parent / "lab" / "settings")
c.LabApp.app_settings_dir = settings  # noqa: F821 (c: the config object traitlets provides)
c.RiseApp.app_settings_dir = settings  # noqa: F821
