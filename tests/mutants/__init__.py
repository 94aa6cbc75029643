"""Known mistakes, as mutated copies of the reference answers.

Each mutant replaces one answer cell with code that makes one well-known
mistake. The suite grades every mutant and checks that it loses points on the
question it breaks, and only there (only on the named check it breaks), and
that the feedback names the mistake.
Mutants of assignment A live in tests/mutants/A.py as a list MUTANTS.
"""
import importlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Mutant:
    name: str
    answer: str  # grade_id of the answer cell it replaces
    code: str
    breaks: str  # grade_id of the test cell that must lose its points
    diagnostic: str  # text the feedback must contain
    check: str = ""  # the named check of `breaks` that must fail (the question's other checks pass)


def _load_all():
    found = {}
    for path in sorted(Path(__file__).parent.glob("*.py")):
        if path.stem != "__init__":
            found[path.stem] = importlib.import_module(f"mutants.{path.stem}").MUTANTS
    return found


MUTANTS = _load_all()
