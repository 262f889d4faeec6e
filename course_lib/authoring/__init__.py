"""Tools for the course's authors and instructors, apart from what a learner imports.

``publish``: static slide decks and the course site (``make slides``, ``make site``).
"""
