"""Student code turning the test's own functions against the grader.

positional_encoding's test passes functions (lambdas over the instructor's
self_attention and a loop reference) to the student's is_permutation_equivariant.
Those run in the grader's process, on whatever input the student chooses: a
huge one makes the grader compute for hours or allocate gigabytes. The grader
must stop that question, not die or hang with it.
"""
from threats import Case, answer, build, notebook_file, scores

POSITIONS = "positional_encoding"
EQUIVARIANT = "test_is_permutation_equivariant"


def calls_back_with(rows, keep_going=False):
    """is_permutation_equivariant that first feeds the test's function `rows` rows
    (and with keep_going, ignores the errors that come back, to reach the slow ones)."""
    call = f"f(np.zeros(({rows}, np.shape(X)[1])))  # the grader runs f, on this"
    if keep_going:
        call = f"try:\n        {call}\n    except Exception:\n        pass"
    return {"is_permutation_equivariant": answer(POSITIONS, "is_permutation_equivariant").replace(
        '"""\n', f'"""\n    {call}\n', 1)}


CASES = [
    Case("pe-reference", "legitimate", notebook_file(build(POSITIONS), assignment=POSITIONS),
         scores(POSITIONS), legit=True, assignment=POSITIONS, note="the reference solution"),
    Case("callback-time", "infinite loop",
         notebook_file(build(POSITIONS, answers=calls_back_with(3000, keep_going=True)), assignment=POSITIONS),
         scores(POSITIONS, **{EQUIVARIANT: 0}), status={EQUIVARIANT: "fault"}, reasons={EQUIVARIANT: "time"},
         assignment=POSITIONS,
         note="calls the test's Python-loop reference on 3000 rows (hours of work in the grader)"),
    Case("callback-memory", "memory bomb",
         notebook_file(build(POSITIONS, answers=calls_back_with(12000)), assignment=POSITIONS),
         scores(POSITIONS, **{EQUIVARIANT: 0}), status={EQUIVARIANT: "error"},
         reasons={EQUIVARIANT: "MemoryError"}, assignment=POSITIONS,
         note="calls the test's self_attention on 12000 rows (gigabytes in the grader)"),
]
