"""The threat corpus (tests/threats/) graded end to end, sandboxed, in one run per assignment.

Every item of the threat model (ARCHITECTURE.md, "Threat model") has at least
one submission; each must get exactly its expected score on every question (and
the status and reason where they matter). Around that: the grader survives and records every
submission, the sandbox leaves nothing behind and shows the snooper nothing of
the grader's, and honest submissions score what they score without the sandbox.

The per-cell and per-notebook time limits are lowered for the run
(AUTOGRADER_LIMIT_* variables, autograder.sandbox.Limits.from_env) so that the
hangs of the corpus cost seconds, not minutes.
"""
import concurrent.futures
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.config import load_config
from autograder.course import COURSE_ROOT
from autograder.results import PASSED, load_results
from autograder import uids as sandbox_uids
from autograder.sandbox import Limits, bubblewrap_available
from threats import THREATS, load_cases, prepare
from threats.snoop import SNOOP_MARK

CASES = load_cases()
BY_STUDENT = {case.student: case for case in CASES}
ASSIGNMENTS = sorted({case.assignment for case in CASES})
LIMITS = {"AUTOGRADER_LIMIT_CELL_SECONDS": "10", "AUTOGRADER_LIMIT_NOTEBOOK_SECONDS": "40",
          "AUTOGRADER_LIMIT_MEMORY_BYTES": str(2 ** 30)}
TESTS_DIR = Path(__file__).resolve().parent


def run_unsandboxed(case, notebook, work, env):
    """The case's notebook run the way it was graded before the sandbox (tests/threats/oracle.py)."""
    work.mkdir(parents=True)
    process = subprocess.run([sys.executable, "-m", "threats.oracle", str(notebook), case.assignment,
                              str(work / "scores.json")], cwd=work, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, timeout=600)
    assert process.returncode == 0, f"{case.student}: the unsandboxed run failed\n{process.stderr[-2000:]}"
    return json.loads((work / "scores.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, tool_env):
    """Write every case into a course folder per assignment, grade each assignment once
    (the assignments at the same time), and meanwhile run the honest cases, one at a
    time, without the sandbox."""
    if not bubblewrap_available():
        pytest.skip("bubblewrap (bwrap) is not installed")
    base = tmp_path_factory.mktemp("threats")
    env = {**tool_env, **LIMITS}
    courses = {assignment: base / assignment for assignment in ASSIGNMENTS}
    for assignment, course in courses.items():
        prepare(course, [assignment])
    for case in CASES:
        folder = courses[case.assignment] / "submitted" / case.student / case.assignment
        folder.mkdir(parents=True)
        case.write(folder)
    started = time.monotonic()
    runs = {assignment: subprocess.Popen(
        [sys.executable, "-m", "autograder", "--course", str(course), "grade", assignment, "--jobs", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for assignment, course in courses.items()}
    oracle_env = {**tool_env, "PYTHONPATH": str(TESTS_DIR)}
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        oracles = {case.student: pool.submit(
            run_unsandboxed, case,
            next((courses[case.assignment] / "submitted" / case.student / case.assignment).glob("*.ipynb")),
            base / "unsandboxed" / case.student, oracle_env) for case in CASES if case.legit}
        outputs = {}
        for assignment, process in runs.items():
            try:
                outputs[assignment] = (*process.communicate(timeout=900), process.returncode)
            except subprocess.TimeoutExpired:
                process.kill()
                outputs[assignment] = (*process.communicate(), "timed out")
        elapsed = time.monotonic() - started
        unsandboxed = {student: future.result() for student, future in oracles.items()}
    results = {}
    for assignment, course in courses.items():
        results.update({r.student: r for r in load_results(load_config(course), assignment)})
    print(f"\nthreat corpus: {len(CASES)} submissions of {len(ASSIGNMENTS)} assignments graded in {elapsed:.0f} s")
    return {"courses": courses, "outputs": outputs, "results": results, "elapsed": elapsed,
            "unsandboxed": unsandboxed}


def got_scores(result):
    return {q.question: q.score for q in result.questions}


def test_every_threat_has_a_case():
    covered = {case.threat for case in CASES}
    assert set(THREATS) - covered == {"zip paths"}  # collect's: tests/test_collect.py
    assert covered <= set(THREATS)


def test_the_grader_survives_and_records_every_submission(corpus):
    for assignment, (stdout, stderr, code) in corpus["outputs"].items():
        assert code == 0, f"{assignment}: exit {code}\n{stderr[-3000:]}"
        assert "Traceback" not in stderr, stderr[-3000:]
        assert f"graded {sum(c.assignment == assignment for c in CASES)} submissions" in stdout, stdout
    assert set(corpus["results"]) == set(BY_STUDENT)


def test_every_question_has_a_score_and_every_lost_point_a_reason(corpus):
    for student, result in corpus["results"].items():
        case = BY_STUDENT[student]
        assert set(got_scores(result)) == set(case.expected), student
        for question in result.questions:
            if question.score < question.max_score:
                assert question.messages and all(m.strip() for m in question.messages), (
                    f"{student}: {question.question} lost points without a reason")
            else:
                assert question.status == PASSED


@pytest.mark.parametrize("student", [case.student for case in CASES])
def test_case_gets_exactly_its_expected_score(corpus, student):
    case, result = BY_STUDENT[student], corpus["results"][student]
    questions = {q.question: q for q in result.questions}
    described = {q: (x.score, x.status, " | ".join(x.messages)[:300]) for q, x in questions.items()}
    assert got_scores(result) == case.expected, f"{student} ({case.note}): {described}"
    for question, status in case.status.items():
        assert questions[question].status == status, f"{student}: {described[question]}"
    for question, text in case.reasons.items():
        assert text in " ".join(questions[question].messages), f"{student}: {described[question]}"
    assert case.submission_status in result.status, f"{student}: {result.status}"
    if case.fault:
        assert any(case.fault in fault for fault in result.faults), f"{student}: {result.faults}"
    if case.check:
        case.check(result, corpus["courses"][case.assignment])


def test_honest_work_scores_what_it_scores_without_the_sandbox(corpus):
    for student, unsandboxed in corpus["unsandboxed"].items():
        assert got_scores(corpus["results"][student]) == unsandboxed == BY_STUDENT[student].expected, student


def test_every_submission_has_its_scores_in_the_gradebook(corpus):
    from autograder.gradebook import gradebook_scores, open_gradebook

    for assignment, course in corpus["courses"].items():
        with open_gradebook(load_config(course)) as gradebook:
            recorded = gradebook_scores(gradebook, assignment)
        for case in CASES:
            if case.assignment == assignment:
                got = {question: score for (student, _, question), score in recorded.items()
                       if student == case.student}
                assert got == case.expected, case.student


def snoop_report(corpus):
    question = next(q for q in corpus["results"]["snoop"].questions if "SNOOP " in " ".join(q.messages))
    # The report is the first JSON value after the mark (the grader's message goes on to
    # say where in the notebook it was raised).
    report, _ = json.JSONDecoder().raw_decode(" ".join(question.messages).split("SNOOP ", 1)[1])
    return report


def test_the_snooper_sees_nothing_of_the_grader(corpus):
    report = snoop_report(corpus)
    print("what the snooper saw:", json.dumps(report, indent=1))
    if os.geteuid() == 0:  # graded as root: the sandbox runs under a uid of its own
        sandbox_range = sandbox_uids.configured_range()
        assert report["uid"] in sandbox_range and report["euid"] in sandbox_range
    assert report["root"] == "PermissionError"
    assert report["hits"] == [], "grader files visible in the sandbox"
    assert report["written"] == [], "the sandbox could write outside its home and /tmp"
    assert report["net"] == [] and report["interfaces"] == ["lo"]
    assert report["imports"] == [], "the course's own packages are importable in the sandbox"
    assert report["env"] == [], "grader variables (NBGRADER_*, AUTOGRADER_*) reach the sandbox"
    # Next to the Python installations it sees only the path that leads to them.
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}
    for parent, listing in report["parents"].items():
        leads = {Path(p).relative_to(parent).parts[0] for p in prefixes if p.startswith(parent.rstrip("/") + "/")}
        assert set(listing) <= leads | {"usr", "bin", "lib", "lib64", "sbin", "etc", "proc", "dev", "tmp",
                                        "home", "grader"}, f"{parent}: {listing}"
    assert not any("autograder" in p and "runner.py" not in p for p in report["procs"]), report["procs"]
    assert not any("pytest" in p for p in report["procs"]), report["procs"]


def test_nothing_was_planted_outside_the_sandbox(corpus):
    places = [*corpus["courses"].values(), COURSE_ROOT / "solutions", COURSE_ROOT / "exercises",
              COURSE_ROOT / "autograder"]
    planted = [p for place in places for p in Path(place).rglob(SNOOP_MARK)]
    shallow = [COURSE_ROOT, Path.home(), Path(sys.prefix), Path(sys.base_prefix), Path("/"), Path("/tmp")]
    planted += [place / SNOOP_MARK for place in shallow if (place / SNOOP_MARK).exists()]
    assert planted == []


def test_no_student_process_outlives_the_run(corpus):
    # Processes under a sandbox uid that no running grader holds (other tests may be grading).
    assert sandbox_uids.stray_processes(sandbox_uids.configured_range(), wait=5) == {}


def test_gigantic_output_stays_small_on_disk(corpus):
    course = corpus["courses"]["scoring_functions"]
    for name in ("results.json", "scoring_functions.ipynb"):
        size = (course / "autograded" / "huge-output" / "scoring_functions" / name).stat().st_size
        assert size < 2 * 2 ** 20, f"{name}: {size} bytes"


def test_the_run_takes_bounded_time(corpus):
    print(f"threat corpus graded in {corpus['elapsed']:.0f} s")
    assert corpus["elapsed"] < 900


def test_limits_from_the_environment():
    limits = Limits.from_env({"AUTOGRADER_LIMIT_CELL_SECONDS": "5", "AUTOGRADER_LIMIT_MEMORY_BYTES": "1073741824",
                              "UNRELATED": "x"})
    assert (limits.cell_seconds, limits.memory_bytes, limits.notebook_seconds) == (5.0, 2 ** 30, 600.0)
    for bad in ({"AUTOGRADER_LIMIT_CELL": "5"}, {"AUTOGRADER_LIMIT_CELL_SECONDS": "-1"},
                {"AUTOGRADER_LIMIT_PROCESSES": "many"}):
        with pytest.raises(SystemExit):
            Limits.from_env(bad)


def corpus_table(corpus):
    """The corpus as a markdown table: case, threat, expected and got per question."""
    lines = ["| case | threat | expected | got | status / reason |", "| --- | --- | --- | --- | --- |"]
    for case in CASES:
        result = corpus["results"].get(case.student)
        got = got_scores(result) if result else {}
        short = lambda scores: " ".join(f"{v:g}" for v in scores.values())  # noqa: E731
        lost = [f"{q.status}: {q.messages[0][:60]}" for q in (result.questions if result else [])
                if q.score < q.max_score and q.messages]
        lines.append(f"| {case.student} | {case.threat} | {short(case.expected)} | {short(got)} | "
                     f"{(lost[0] if lost else result.status if result else 'no result').replace('|', '/')} |")
    return "\n".join(lines)


def test_print_the_corpus_table(corpus):
    print("\n" + corpus_table(corpus))


# -- the pieces the corpus leans on, checked directly ------------------------------
def test_wire_refuses_whatever_a_tampered_runner_sends():
    from autograder import wire

    deep = b'{"op": "return", "buffers": [], "value": ' + b"[" * 100000 + b"]" * 100000 + b"}"
    bad_trees = [({"array": 0, "dtype": "|O", "shape": [2]}, [b"\0" * 16]),
                 ({"array": 0, "dtype": "<f8", "shape": [3]}, [b"\0" * 16]),  # 16 bytes are not 3 floats
                 ({"array": 5, "dtype": "<f8", "shape": [1]}, []),
                 ({"array": 0, "dtype": "not a dtype", "shape": [1]}, [b"\0" * 8]),
                 ({"alias": 0}, []),  # no aliases offered
                 ({"dict": [[1]]}, []), ({"tuple": 3}, []), ({"mystery": 1}, [])]
    for tree, buffers in bad_trees:
        with pytest.raises(wire.WireError):
            wire.decode(tree, buffers)
    with pytest.raises(wire.WireError):
        wire.unpack_header(deep)


def test_wire_sends_subclasses_as_their_plain_type():
    import collections

    import numpy as np

    from autograder import wire

    class Liar(np.ndarray):
        def __eq__(self, other):
            return True

    class LyingFloat(float):
        def __eq__(self, other):
            return True

    pair = collections.namedtuple("Pair", "output weights")(np.arange(3.0).view(Liar), LyingFloat(2.5))
    buffers = []
    value = wire.decode(wire.encode(pair, buffers, None), buffers)
    assert type(value) is tuple and type(value[0]) is np.ndarray and type(value[1]) is float
    assert value[0].tolist() == [0.0, 1.0, 2.0] and value[1] == 2.5


def test_a_student_stop_iteration_cannot_end_a_test_loop():
    from autograder.judge import StudentError, raise_student_error

    with pytest.raises(StudentError):
        raise_student_error("StopIteration", "")
    with pytest.raises(ValueError):
        raise_student_error("ValueError", "bad shape")


def test_wire_sends_object_arrays_of_numbers_as_numbers_and_refuses_real_objects():
    import numpy as np

    from autograder import wire

    class LyingFloat(float):
        def __eq__(self, other):
            return True

    for value, expected in [(np.array([[0.5, 1.0], [2.0, 3.5]], dtype=object), np.array([[0.5, 1.0], [2.0, 3.5]])),
                            (np.array([1, True, np.float32(2.5)], dtype=object), np.array([1.0, 1.0, 2.5])),
                            (np.empty((0, 3), dtype=object), np.empty((0, 3)))]:
        buffers = []
        got = wire.decode(wire.encode(value, buffers, None), buffers)
        assert got.dtype.kind in "biuf" and got.shape == expected.shape and np.array_equal(got, expected)
    for value in (np.array([LyingFloat(1.0)], dtype=object), np.array(["1.0", 2.0], dtype=object),
                  np.array([None], dtype=object), np.array([2 ** 70], dtype=object),
                  np.array([[1.0], [2.0, 3.0]], dtype=object)):  # a ragged array holds lists
        with pytest.raises(wire.Unsupported):
            wire.encode(value, [], None)


def test_earlier_answers_are_graded_with_the_reference():
    from autograder.judge import read_source
    from threats import SOLUTIONS_DIR

    source = read_source(SOLUTIONS_DIR / "scoring_functions" / "scoring_functions.ipynb", "scoring_functions")
    tests = {test.grade_id: test for test in source.tests}
    assert source.earlier_answers(tests["test_softmax"]) == set()
    assert source.earlier_answers(tests["test_masked_softmax"]) == {"softmax"}
    assert source.earlier_answers(tests["test_scaled_dot_product_attention"]) == {
        "softmax", "masked_softmax", "additive_attention"}
