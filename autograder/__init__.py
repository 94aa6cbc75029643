"""Instructor tooling for the course: release exercises, grade submissions.

Built on nbgrader: its course layout and gradebook stay usable, but everything
an instructor needs runs through ``python -m autograder``.
"""
