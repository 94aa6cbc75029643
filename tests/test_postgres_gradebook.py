"""A team's gradebook in PostgreSQL (`db_url` in course.toml), on a real throwaway server.

Several processes write into the same gradebook at once, as graders on a team
(or a parallel grading run) do; afterwards every student has exactly one
submission with exactly one grade row per question, holding what was recorded.
The server comes from the session fixture `postgres_url` (tests/postgres_server.py).
"""
import multiprocessing
import subprocess
import sys
from dataclasses import dataclass

import nbformat
import pytest
import sqlalchemy

from autograder.config import load_config
from autograder.course import SOLUTIONS_DIR, prepare_course, source_notebooks
from autograder.gradebook import gradebook_scores, open_gradebook, record_result
from autograder.results import PASSED, QuestionResult, SubmissionResult
from postgres_server import create_database
from submission_factory import make_submission, reference_answers, write_submission

ASSIGNMENT = "scoring_functions"
STUDENTS = [f"student{i:02d}" for i in range(40)]
WORKERS = 4
TWICE = STUDENTS[:8]  # recorded by two workers at the same moment
TIMESTAMP = "2026-01-15T10:00:00+00:00"


@dataclass(frozen=True)
class Question:
    notebook: str
    grade_id: str
    max_score: float


def questions_of(assignment):
    """The graded cells of the assignment's source notebooks, in order (what nbgrader records)."""
    found = []
    for name in source_notebooks(assignment):
        source = nbformat.read(SOLUTIONS_DIR / assignment / f"{name}.ipynb", as_version=4)
        for cell in source.cells:
            grading = cell.metadata.get("nbgrader", {})
            if grading.get("grade"):
                found.append(Question(name, grading["grade_id"], float(grading.get("points", 0))))
    return found


def course_folder(tmp_path, postgres_url, database):
    """A course folder whose course.toml points db_url at a fresh database on the server."""
    url = create_database(postgres_url, database)
    root = tmp_path / "course"
    root.mkdir()
    (root / "course.toml").write_text(f'db_url = "{url}"\n', encoding="utf-8")
    config = load_config(root)
    assert config.gradebook_url == url
    return config


def expected_score(student, index, max_score):
    """A distinct, exactly representable score per student and question."""
    return max_score * ((STUDENTS.index(student) + index) % 5) / 4


def result_for(student, questions):
    return SubmissionResult(
        student=student, assignment=ASSIGNMENT, digest=f"digest-{student}", status="graded",
        timestamp=TIMESTAMP,
        questions=[QuestionResult(q.notebook, q.grade_id, expected_score(student, i, q.max_score),
                                  q.max_score, PASSED)
                   for i, q in enumerate(questions)])


def record_worker(course_root, results, barrier, errors):
    """One process: its own gradebook connection; records its results after the others are ready."""
    try:
        gradebook = open_gradebook(load_config(course_root))
        try:
            barrier.wait(timeout=300)
            for result in results:
                record_result(gradebook, result)
        finally:
            gradebook.close()
    except BaseException as error:  # reported to the parent, which fails the test
        errors.put(f"{type(error).__name__}: {error}")
        raise


def worker_tasks(questions):
    """Each worker's results: pairs of workers start with the same 4 students (a race on
    creating the same student and submission), then each takes its share of the rest."""
    shared = [TWICE[:4], TWICE[:4], TWICE[4:], TWICE[4:]]
    rest = STUDENTS[len(TWICE):]
    return [[result_for(s, questions) for s in shared[w] + rest[w::WORKERS]] for w in range(WORKERS)]


def table_rows(url, query, **params):
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sqlalchemy.text(query), params).all()
    finally:
        engine.dispose()


def assert_one_submission_per_student(url, students, questions):
    """Checked in SQL, apart from nbgrader: no lost, no duplicated rows."""
    submissions = table_rows(url, """
        SELECT s.student_id, count(*) FROM submitted_assignment s
        JOIN assignment a ON a.id = s.assignment_id WHERE a.name = :assignment
        GROUP BY s.student_id""", assignment=ASSIGNMENT)
    assert dict(submissions) == {student: 1 for student in students}
    assert table_rows(url, "SELECT count(*) FROM student")[0][0] == len(students)
    grades = table_rows(url, """
        SELECT s.student_id, n.name, c.name, g.auto_score, g.manual_score
        FROM grade g
        JOIN submitted_notebook sn ON sn.id = g.notebook_id
        JOIN submitted_assignment s ON s.id = sn.assignment_id
        JOIN notebook n ON n.id = sn.notebook_id
        JOIN base_cell c ON c.id = g.cell_id""")
    assert len(grades) == len(students) * len(questions)
    keys = [(student, notebook, question) for student, notebook, question, _, _ in grades]
    assert len(set(keys)) == len(keys), "a grade row is duplicated"
    return {(student, notebook, question): auto for student, notebook, question, auto, _ in grades}


def test_concurrent_recording_keeps_one_submission_per_student(tmp_path, postgres_url):
    config = course_folder(tmp_path, postgres_url, "concurrent_recording")
    prepare_course(config, [ASSIGNMENT])
    questions = questions_of(ASSIGNMENT)
    assert questions

    # nbgrader created its schema and the assignment in PostgreSQL, not in a SQLite file.
    assert not (config.root / "gradebook.db").exists()
    tables = {name for (name,) in table_rows(config.db_url, "SELECT tablename FROM pg_tables "
                                                           "WHERE schemaname = 'public'")}
    assert {"assignment", "student", "submitted_assignment", "grade", "alembic_version"} <= tables
    assert table_rows(config.db_url, "SELECT name FROM assignment") == [(ASSIGNMENT,)]

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    errors = context.Queue()
    processes = [context.Process(target=record_worker, args=(str(config.root), tasks, barrier, errors))
                 for tasks in worker_tasks(questions)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=600)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    for process in processes:
        if process.is_alive():
            process.kill()
            failures.append(f"worker {process.pid} hung")
    assert not failures, failures
    assert [process.exitcode for process in processes] == [0] * WORKERS

    expected = {(student, q.notebook, q.grade_id): expected_score(student, i, q.max_score)
                for student in STUDENTS for i, q in enumerate(questions)}
    assert assert_one_submission_per_student(config.db_url, STUDENTS, questions) == expected

    # The same through nbgrader's API.
    with open_gradebook(config) as gradebook:
        assignment = gradebook.find_assignment(ASSIGNMENT)
        assert sorted(s.student.id for s in assignment.submissions) == STUDENTS
        assert gradebook_scores(gradebook, ASSIGNMENT) == expected
        submission = gradebook.find_submission(ASSIGNMENT, TWICE[0])
        assert submission.timestamp.isoformat() == "2026-01-15T10:00:00"
        assert submission.score == pytest.approx(sum(expected_score(TWICE[0], i, q.max_score)
                                                     for i, q in enumerate(questions)))


def test_parallel_grading_into_postgres(tmp_path, postgres_url, tool_env):
    """`grade --jobs 2` on collected submissions records each one once, with its real scores."""
    config = course_folder(tmp_path, postgres_url, "parallel_grading")
    prepare_course(config, [ASSIGNMENT])
    questions = questions_of(ASSIGNMENT)
    notebook = source_notebooks(ASSIGNMENT)[0]
    answers = list(reference_answers(ASSIGNMENT))
    students = {f"ref{i:02d}": "reference" for i in range(6)} | {f"blank{i:02d}": "blank" for i in range(6)}
    for student, kind in students.items():
        submission = make_submission(ASSIGNMENT, blank=answers if kind == "blank" else ())
        # nbgrader's layout: COURSE/submitted/STUDENT/ASSIGNMENT/NB.ipynb
        write_submission(config.submitted(student), ASSIGNMENT, notebook, submission)

    process = subprocess.run(
        [sys.executable, "-m", "autograder", "--course", str(config.root), "grade", ASSIGNMENT, "--jobs", "2"],
        env=tool_env, capture_output=True, text=True, timeout=900)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]

    expected = {(student, q.notebook, q.grade_id): q.max_score if kind == "reference" else 0.0
                for student, kind in students.items() for q in questions}
    recorded = assert_one_submission_per_student(config.db_url, sorted(students), questions)
    assert {key: float(score or 0.0) for key, score in recorded.items()} == expected
    with open_gradebook(config) as gradebook:
        assert gradebook_scores(gradebook, ASSIGNMENT) == expected
