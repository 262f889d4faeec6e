"""Tools for the course's authors and instructors, apart from the modules a learner imports.

- ``student``: student copies, each solution replaced by its placeholder (``make student``);
- ``execute``: re-execute notebooks in place, deterministically (``make notebooks``);
- ``grade``: run a class's handed-in notebooks and tabulate each check's verdict (``make grade``);
- ``publish``: static slide decks and the course site (``make slides``, ``make site``).
"""

import sys

# Every tool here reads notebooks with nbformat, which validates them with jsonschema. Where the
# package rfc3987-syntax is installed (jsonschema's "format-nongpl" extra, which the Jupyter packages
# ask for), jsonschema imports it at once, and it builds some 35 Earley parsers as it is imported:
# about 1.6 s of CPU on a 2-core machine for every process that opens a notebook, for the "iri"
# format, which no notebook schema uses (python-jsonschema/jsonschema#1428). Marked as absent here,
# before jsonschema is first imported, it is skipped, and jsonschema leaves that format unchecked.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)
