"""grade's progress: tqdm's bar on a terminal, one meter line per submission in a log."""
import io
import os
import pty

from autograder.grading import Progress
from autograder.results import QuestionResult, SubmissionResult


def result(student, score, status="graded"):
    question = QuestionResult("attn", "q1", score, 4.0, "passed" if score == 4.0 else "failed", [])
    return SubmissionResult(student=student, assignment="attn", digest="", status=status, questions=[question])


def test_a_log_gets_one_line_per_submission_with_count_and_score():
    log = io.StringIO()
    progress = Progress(2, log)
    progress.update(result("ada", 4.0))
    progress.update(result("bo", 0.0, status="timed out"))
    progress.close()
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in log.getvalue()
    assert "1/2" in lines[0] and lines[0].endswith("ada: 4/4")
    assert "2/2" in lines[1] and lines[1].endswith("bo: 0/4 (timed out)")


def test_a_terminal_gets_tqdm_bar_with_the_last_score():
    main, side = pty.openpty()
    try:
        with os.fdopen(side, "w", closefd=False) as terminal:
            progress = Progress(1, terminal)
            assert not progress.bar.disable
            progress.update(result("ada", 3.0))
            progress.close()
            terminal.flush()
        written = os.read(main, 65536).decode()
    finally:
        os.close(main), os.close(side)
    assert "1/1" in written and "ada: 3/4" in written and "100%" in written
