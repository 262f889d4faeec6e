"""Tools for the course's authors and instructors, apart from the modules a learner imports.

- ``student``: student copies, each solution replaced by its placeholder (``make student``);
- ``execute``: re-execute notebooks in place, deterministically (``make notebooks``);
- ``grade``: run a class's handed-in notebooks and tabulate each check's verdict (``make grade``);
- ``publish``: static slide decks and the course site (``make slides``, ``make site``).
"""
