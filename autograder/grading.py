"""Autograde every collected submission of an assignment, in parallel and in a sandbox.

Reads COURSE/submitted/STUDENT/ASSIGNMENT/*.ipynb (nbgrader's layout, filled by
`collect`). For each submission, a worker process judges every notebook
(autograder.judge: student code sandboxed, tests run by the grader). The
parent alone records results, one submission at a time: scores into nbgrader's
gradebook (one transaction), then the feedback pages, then results.json (atomic
rename). results.json, written last, marks a submission as done for
the digest of its files and the digest of the assignment's graded parts
(source_digest: tests, points, provided code), so a run killed at any point
(even kill -9) and started again grades exactly what is missing or changed, and
an instructor who fixes a hidden test in COURSE/source gets every submission
regraded by the next run; recording the same submission again updates its rows
instead of adding new ones.

Whatever goes wrong while judging one submission (a malformed notebook, a bug
the grader trips on) costs that submission only: it is recorded with every
question at 0 and the reason, and the others are graded. A full disk stops the
run with one message; what was recorded before stays, and the next run grades
what is missing.
"""
import concurrent.futures
import contextlib
import datetime
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import nbformat

from autograder.config import grading_lock
from autograder.course import course_notebooks, read_notebook, source_notebook_paths
from autograder.judge import NotebookJudge, missing_results, read_source, student_code_cells
from autograder.results import (FAULT, ReviewFlag, SubmissionResult, disk_full, load_result, save_result,
                                write_atomic)
from autograder.sandbox import die_with_parent, keep_one_ready
from autograder.submissions import match_notebooks, notebook_problem, read_timestamp, student_id_problem
from autograder.uids import worker_uids

MAX_POOL_FAILURES = 2  # a submission that breaks the worker pool this often is recorded as failed


def submission_folders(config, assignment, refused=None):
    """{student: folder} of the collected submissions of an assignment.

    A folder under submitted/ whose name is not a valid student id (put there by
    hand: "carol\n") is not graded: it is appended to `refused` as (name, reason)."""
    base = config.submitted()
    if not base.is_dir():
        return {}
    found = {}
    for path in sorted(base.glob(f"*/{assignment}")):
        if path.is_dir():
            problem = student_id_problem(path.parent.name)
            if problem and refused is not None:
                refused.append((path.parent.name, problem))
            elif not problem:
                found[path.parent.name] = path
    return found


def submission_digest(folder):
    """sha256 over the names and bytes of a submission's files (timestamp included)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


# -- the worker side -------------------------------------------------------------
_sandbox_uid = None
_sources = {}


def _init_worker(uids, parent):
    """A worker dies with the run that started it (kill -9 included), and takes a sandbox
    uid of its own: workers and concurrent runs never share one, so one submission's
    fork bomb cannot use up another's process limit."""
    global _sandbox_uid
    die_with_parent(parent)
    _sandbox_uid = uids.get()
    keep_one_ready()  # the next submission's sandbox starts while this one is judged


def source_of(config, assignment, name):
    """The course folder's source notebook `name` of the assignment (read once per worker
    and version: the cache is keyed by the file's mtime and size, because workers fork
    from a parent that may have read an older version before the instructor edited it)."""
    path = config.source(assignment) / f"{name}.ipynb"
    stat = path.stat()
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _sources:
        _sources[key] = read_source(path, name)
    return _sources[key]


def source_digest(config, assignment):
    """sha256 over what in the assignment's source notebooks decides a grade.

    Every code cell counts, in order, per notebook: its kind, grade id, points, lock and
    code (hidden and visible tests with their named checks, the provided code, and the
    reference answers, which earlier questions are graded with). Markdown (the prompts)
    does not: rewording a question regrades nobody. A change in any of it regrades every
    submission graded against the old digest."""
    digest = hashlib.sha256()
    for name, path in source_notebook_paths(config, assignment).items():
        cells = [[c.kind, c.grade_id, c.points, c.locked, c.source] for c in read_source(path, name).cells]
        digest.update(json.dumps([name, cells]).encode() + b"\0")
    return digest.hexdigest()


def forget_sources(root):
    """Drop the cached source notebooks read from below `root` (a Dask worker's temporary
    course folder, deleted after each submission: its entries would only pile up)."""
    for key in [key for key in _sources if Path(root) in key[0].parents]:
        del _sources[key]


def grade_submission(config, assignment, student, folder, digest, isolate=True, limits=None, sandbox_uid=None):
    """Judge one submission; always returns a SubmissionResult with every question.

    An exception while judging it costs this submission only: every question at 0
    (status fault) with the reason. Its digest is left empty, so the next run tries
    it again. A full disk is said so, and stops the run when it is recorded.
    sandbox_uid: the uid the sandbox drops to (default: this pool worker's)."""
    try:
        return judge_submission(config, assignment, student, folder, digest, isolate, limits, sandbox_uid)
    except Exception as error:  # noqa: BLE001 - one submission's trouble must not stop the class
        reason = f"{type(error).__name__}: {error}"[:300]
        if disk_full(error):
            return crashed_result(config, assignment, student, "", reason, status=DISK_FULL)
        return crashed_result(config, assignment, student, "", f"{reason} (graded again on the next run)")


def judge_submission(config, assignment, student, folder, digest, isolate=True, limits=None, sandbox_uid=None):
    started = time.monotonic()
    names = course_notebooks(config, assignment)
    stamp = read_timestamp(folder)
    result = SubmissionResult(student, assignment, digest, "graded",
                              timestamp=stamp.isoformat() if stamp else "")
    problems = []
    if student_id_problem(student):
        problems.append(student_id_problem(student))
    files = sorted(p.name for p in Path(folder).glob("*.ipynb"))
    matched, ambiguous = match_notebooks(files, names)
    for name in names:
        source = source_of(config, assignment, name)
        if problems or name not in matched:
            reason = (problems[0] if problems else
                      f"several files could be {name}.ipynb: {', '.join(ambiguous[name])}"
                      if name in ambiguous else f"{name}.ipynb was not submitted")
            result.questions += missing_results(source, reason)
            if not student_id_problem(student):  # no folder may be named after an invalid id
                write_unjudged_notebook(config, student, assignment, name, source, result.questions)
            continue
        path = Path(folder) / matched[name]
        problem = notebook_problem(path)
        if problem:
            problems.append(f"{path.name}: {problem}")
            result.questions += missing_results(source, f"{path.name}: {problem}")
            write_unjudged_notebook(config, student, assignment, name, source, result.questions)
            continue
        notebook = nbformat.read(path, as_version=4)
        cells = student_code_cells(notebook)
        # The instructor's cells (tests, locked provided code) are not the student's to review.
        instructor = {c.grade_id for c in source.cells if c.kind == "test" or (c.locked and c.kind != "solution")}
        code = [(index, text) for index, text, grade_id in cells if grade_id not in instructor]
        result.flags += [ReviewFlag(name, f.cell, f.line, f.rule, f.reason, f.code) for f in flag_code(code)]
        judge = NotebookJudge(source, limits, isolate, _sandbox_uid if sandbox_uid is None else sandbox_uid)
        questions, faults, outputs = judge.grade(cells)
        course_root = Path(folder).parents[2]  # folder is COURSE/submitted/STUDENT/ASSIGNMENT
        write_autograded_notebook(course_root / "autograded" / student / assignment / f"{name}.ipynb",
                                  notebook, source, questions, outputs)
        result.questions += questions
        result.faults += [f"{name}: {fault}" for fault in faults]
    if problems:
        result.status = "; ".join(problems)
    elif not matched:
        result.status = "no notebook of the assignment in the submission"
    result.seconds = round(time.monotonic() - started, 3)
    result.graded_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return result


def write_autograded_notebook(path, notebook, source, questions, outputs):
    """The student's notebook as graded, for nbgrader's formgrader: the source's test
    cells back in place, each with the grader's verdict as its output, and the
    student's cells with what they printed in the sandbox."""
    tests = {cell.grade_id: cell for cell in source.tests}
    verdicts = {q.question: q for q in questions}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if isinstance(grade_id, str) and grade_id in tests:  # a student may have made it a list
            verdict = verdicts[grade_id]
            cell.source = tests[grade_id].source
            text = f"{verdict.status}: {verdict.score:g} / {verdict.max_score:g}\n" + "\n".join(verdict.messages)
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        elif index in outputs:
            ok, error, printed = outputs[index]
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)] if printed else []
            if not ok:
                cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=error + "\n"))
    path.parent.mkdir(parents=True, exist_ok=True)
    # nbformat.v4's writer, not nbformat.writes: that validates the whole notebook again
    # (it was validated when read; only outputs of plain streams were added since).
    write_atomic(path, nbformat.v4.writes(notebook))


def write_unjudged_notebook(config, student, assignment, name, source, questions):
    """A notebook that could not be judged (not submitted, not valid JSON) still gets an
    autograded notebook, so it is in the formgrader's manual grading: the released one,
    each test cell's verdict saying why it got nothing."""
    released = nbformat.read(config.release(assignment) / f"{name}.ipynb", as_version=4)
    write_autograded_notebook(config.autograded(student, assignment) / f"{name}.ipynb",
                              released, source, [q for q in questions if q.notebook == name], {})


def flag_code(code_cells):
    from autograder.flags import review_flags

    return review_flags(code_cells)


DISK_FULL = "disk full"


def crashed_result(config, assignment, student, digest, reason, status="grading failed"):
    """Every question at 0 (status fault) with the reason; an empty digest: graded again next run."""
    result = SubmissionResult(student, assignment, digest, f"{status}: {reason}")
    for name in course_notebooks(config, assignment):
        for question in missing_results(source_of(config, assignment, name), f"{status}: {reason}"):
            question.status = FAULT
            result.questions.append(question)
    return result


# -- the parent side -------------------------------------------------------------
class Progress:
    """tqdm's bar on a terminal; on anything else (a log, a pipe) one line of tqdm's meter
    per finished submission, so that a log says when each student was graded."""

    def __init__(self, total, stream=sys.stderr):
        from tqdm import tqdm

        self.total, self.done, self.stream = total, 0, stream
        self.started = time.monotonic()
        # A terminal that does not say its width (0 columns) gets 100 rather than an empty bar.
        self.bar = tqdm(total=total, file=stream, unit="submission", ascii=True,
                        ncols=shutil.get_terminal_size((100, 20)).columns, disable=not stream.isatty() or not total)

    def update(self, result):
        self.done += 1
        outcome = (f"{result.student}: {result.score:g}/{result.max_score:g}"
                   + ("" if result.status == "graded" else f" ({result.status[:60]})"))
        if not self.bar.disable:
            self.bar.set_postfix_str(outcome, refresh=False)
            self.bar.update()
            return
        elapsed = time.monotonic() - self.started
        self.stream.write(self.bar.format_meter(self.done, self.total, elapsed, ncols=60, ascii=True, unit="submission")
                          + f"  {outcome}\n")
        self.stream.flush()

    def close(self):
        self.bar.close()


def record(config, result, gradebook):
    """Gradebook first, feedback second, results.json last (it marks the submission done).

    A full disk at any of the three stops the run (SystemExit, one message): the
    submissions recorded before keep everything, and this one, not marked done,
    is graded again by the next run."""
    from autograder.gradebook import record_result

    if result.status.startswith(DISK_FULL):
        stop_on_full_disk(result.student, "the graded notebook", result.status[len(DISK_FULL) + 2:])
    try:
        record_result(gradebook, result)
    except Exception as error:
        if not disk_full(error):
            raise
        gradebook.db.rollback()
        stop_on_full_disk(result.student, "the gradebook", error)
    try:
        from autograder.feedback import write_feedback

        write_feedback(config, result, gradebook)
    except Exception as error:  # other trouble: feedback can be rewritten later with `feedback`
        if disk_full(error):
            stop_on_full_disk(result.student, "the feedback", error)
        print(f"warning: feedback for {result.student} not written ({error})", file=sys.stderr)
    try:
        save_result(config, result)
    except OSError as error:
        if not disk_full(error):
            raise
        stop_on_full_disk(result.student, "results.json", error)


def stop_on_full_disk(student, what, error):
    raise SystemExit(f"grade stopped: the disk is full (writing {what} of {student}: {error}). "
                     "Every submission recorded before is kept; free some space and run grade "
                     "again: it grades only what is missing.")


# What course_state finds: the course folder is ready to grade an assignment (SAME), or
# the gradebook's points differ from COURSE/source's (an instructor edited a test's points
# there), or the assignment was never released into it (no source, release or gradebook entry).
SAME, POINTS_CHANGED, NOT_RELEASED = "same", "points changed", "not released"


def released(config, assignment):
    """Whether the course folder has the assignment's source and release notebooks."""
    return any(config.source(assignment).glob("*.ipynb")) and any(config.release(assignment).glob("*.ipynb"))


def course_state(config, assignment):
    """SAME, POINTS_CHANGED or NOT_RELEASED (see above) of a released assignment: what its
    gradebook entry says (loads nbgrader and opens the gradebook)."""
    from nbgrader.api import MissingEntry

    from autograder.gradebook import open_gradebook

    with open_gradebook(config) as gradebook:
        try:
            recorded = gradebook_points(gradebook, assignment)
        except MissingEntry:
            return NOT_RELEASED
    return SAME if recorded == source_points(config, assignment) else POINTS_CHANGED


def record_course_source(config, assignment, state):
    """NOT_RELEASED: release the assignment from solutions/. POINTS_CHANGED: record the
    course's source again with nbgrader's generate_assignment (as `nbgrader
    generate_assignment` would; solutions/ is not read), so the gradebook, the exports and
    results.json agree. SAME: nothing to do."""
    from autograder.course import generate_from_course_source, prepare_course

    if state == NOT_RELEASED:
        prepare_course(config, [assignment])
    elif state == POINTS_CHANGED:
        generate_from_course_source(config.root, [assignment], config.gradebook_url, config.course_id)


def gradebook_points(gradebook, assignment):
    """{(notebook, grade_id): points} of the graded cells the gradebook has for an assignment."""
    return {(notebook.name, cell.name): float(cell.max_score)
            for notebook in gradebook.find_assignment(assignment).notebooks for cell in notebook.grade_cells}


def source_points(config, assignment):
    """{(notebook, grade_id): points} of the graded cells of the course's source notebooks."""
    points = {}
    for name, path in source_notebook_paths(config, assignment).items():
        for cell in read_notebook(path).cells:
            grading = cell.metadata.get("nbgrader", {})
            if grading.get("grade") and grading.get("grade_id"):
                points[(name, grading["grade_id"])] = float(grading.get("points", 0) or 0)
    return points


def grade_assignment(config, assignment, jobs=None, force=False, isolate=True, students=None,
                     limits=None, stream=sys.stderr, wait=False, scheduler=None):
    """Grade what is new or changed, or was graded against other tests (everything with
    force). Returns the list of results.

    One run per course at a time (COURSE/.grade.lock): another stops with a message,
    or with wait waits for the first to end. scheduler: the address of a Dask scheduler
    whose workers judge (autograder.cluster); None: a pool of `jobs` local processes."""
    course_notebooks(config, assignment)  # a clear message for an unknown assignment
    jobs = jobs or os.cpu_count() or 1
    # Before anything is touched: the course's lock, and a sandbox uid for each local
    # worker (a cluster's workers lease theirs on their own hosts).
    local_uids = contextlib.nullcontext([]) if scheduler else worker_uids(config.sandbox_uids, jobs, isolate)
    with grading_lock(config, f"grading {assignment}", wait, stream), local_uids as leased:
        return _grade_new_or_changed(config, assignment, leased, force, isolate, students, limits, stream,
                                     scheduler)


def _grade_new_or_changed(config, assignment, leased, force, isolate, students, limits, stream, scheduler=None,
                          recorded=False):
    """grade_assignment's work, with one worker per uid of `leased` (None: no uid to drop to),
    or on the Dask cluster at `scheduler`. recorded: the course's source was just recorded
    in the gradebook (record_course_source), so it is not checked again."""
    if not released(config, assignment):  # the source notebooks the workers will read
        record_course_source(config, assignment, NOT_RELEASED)
        recorded = True
    refused = []
    folders = submission_folders(config, assignment, refused)
    if students:
        folders = {s: f for s, f in folders.items() if s in set(students)}
    tests_digest = source_digest(config, assignment)
    todo, counts = select_submissions(config, assignment, folders, tests_digest, force)
    judged = None
    try:
        if not scheduler:
            # The workers judge while this process loads nbgrader (most of a second) and
            # checks that the gradebook has the source's points.
            judged = _start_local_pool(config, assignment, todo, leased, isolate, limits)
        state = SAME if recorded else course_state(config, assignment)
        if state != SAME:
            if judged is not None:
                judged.close()  # nothing may read release/ while nbgrader writes it again
            record_course_source(config, assignment, state)
            return _grade_new_or_changed(config, assignment, leased, force, isolate, students, limits, stream,
                                         scheduler, recorded=True)
        for name, problem in refused:
            print(f"not graded: submitted/{name!r}/{assignment}: {problem}", file=stream)
        print(summary_line(assignment, len(folders), counts, force), file=stream)
        return _record_judged(config, assignment, todo, tests_digest, judged, isolate, limits, stream, scheduler)
    finally:
        if judged is not None:
            judged.close()


def _record_judged(config, assignment, todo, tests_digest, judged, isolate, limits, stream, scheduler):
    """Record each result of `judged` (the local pool), or of the cluster at `scheduler`,
    as it comes; returns them."""
    from autograder.gradebook import open_gradebook

    results = []
    with open_gradebook(config) as gradebook, contextlib.closing(Progress(len(todo), stream)) as progress:
        def record_judged(result):
            """Record a judged submission once: a task the cluster ran again after losing
            its worker may be reported twice; only the first counts."""
            if result.student not in todo:
                return
            result.source_digest = tests_digest
            record(config, result, gradebook)
            results.append(result)
            progress.update(result)
            del todo[result.student]

        # The one place where the backend is chosen; recording is the same for both.
        if scheduler and todo:  # nothing to judge: no need for the cluster to be up
            from autograder.cluster import judge_on_cluster

            with contextlib.closing(judge_on_cluster(scheduler, config, assignment, dict(todo),
                                                     isolate, limits)) as judged:
                for result in judged:  # a full disk (SystemExit) closes it: its tasks are cancelled
                    record_judged(result)
        elif judged is not None:
            for result in judged:  # a full disk (SystemExit) closes it: see _judged_in_local_pool
                record_judged(result)
    return results


def _start_local_pool(config, assignment, todo, leased, isolate, limits):
    """_judged_in_local_pool, its workers already judging when this returns."""
    judged = _judged_in_local_pool(config, assignment, todo, leased, isolate, limits)
    next(judged, None)
    return judged


def _judged_in_local_pool(config, assignment, todo, leased, isolate, limits):
    """Judge `todo` ({student: (folder, digest)}) in a pool of forked processes, one per uid of
    `leased`: yields None once the workers have every submission, then each result as it
    comes (its taker records it and removes its student from todo; one still in todo when
    a worker dies is judged again by a new pool). Closed before its end (a full disk), it
    cancels the submissions still queued."""
    jobs = len(leased)
    failures = {}
    started = False
    while todo:
        # Each worker takes one of the leased uids: its sandbox runs under it.
        context = multiprocessing.get_context("fork")
        uids = context.Queue()
        for uid in leased:
            uids.put(uid)
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker,
                                                    initargs=(uids, os.getpid())) as pool:
            futures = {pool.submit(grade_submission, config, assignment, student, folder, digest, isolate, limits):
                       student for student, (folder, digest) in todo.items()}
            try:
                if not started:
                    started = True
                    yield None
                for future in _in_order_finished(list(futures)):
                    yield future.result()
            except GeneratorExit:  # a full disk: stop now, not after the queued submissions
                # Waiting for the submissions in flight (one per worker, within their time
                # limits) lets the workers stop their spare sandboxes and the pool end
                # before the interpreter does (its exit hook would write to a closed pipe).
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            except BrokenProcessPool as error:
                # A worker died (not a student's process: those are sandboxed). The
                # submissions in flight are tried again; repeat offenders are recorded.
                for student in list(todo):
                    failures[student] = failures.get(student, 0) + 1
                    if failures[student] >= MAX_POOL_FAILURES:
                        folder, digest = todo[student]
                        yield crashed_result(config, assignment, student, digest, f"worker died ({error})")


def _in_order_finished(futures):
    """The futures as they finish; those finished already (while the gradebook was being
    opened), in the order given: as_completed would give them in no particular order."""
    finished = {future: future.done() for future in futures}
    yield from (future for future, done in finished.items() if done)
    yield from concurrent.futures.as_completed([future for future, done in finished.items() if not done])


# Why a submission is graded (or not) in this run.
NEW, CHANGED, TESTS_CHANGED, UNCHANGED, FORCED = "new", "changed", "tests changed", "unchanged", "forced"


def why_grade(previous, digest, tests_digest, force):
    """Why a submission whose files have `digest` is graded, given its saved result
    (None: never graded): NEW, CHANGED (its files), TESTS_CHANGED (the assignment's
    graded parts changed since; a result from before source digests counts so), FORCED,
    or UNCHANGED (not graded)."""
    if previous is None:
        return NEW
    if force:
        return FORCED
    if previous.digest != digest:
        return CHANGED
    if previous.source_digest != tests_digest:
        return TESTS_CHANGED
    return UNCHANGED


def select_submissions(config, assignment, folders, tests_digest, force):
    """({student: (folder, digest)} to grade, {reason: count} over every submission)."""
    todo, counts = {}, {}
    for student, folder in folders.items():
        digest = submission_digest(folder)
        reason = why_grade(load_result(config, student, assignment), digest, tests_digest, force)
        counts[reason] = counts.get(reason, 0) + 1
        if reason != UNCHANGED:
            todo[student] = (folder, digest)
    return todo, counts


def summary_line(assignment, total, counts, force):
    """E.g. "attn: 30 submissions, 30 to grade: 0 new, 0 changed, 30 regraded because the
    tests changed, 0 unchanged" (with --force, every one graded again)."""
    graded = total - counts.get(UNCHANGED, 0)
    if force:
        return (f"{assignment}: {total} submissions, {graded} to grade: {counts.get(NEW, 0)} new, "
                f"{counts.get(FORCED, 0)} graded again (--force)")
    return (f"{assignment}: {total} submissions, {graded} to grade: {counts.get(NEW, 0)} new, "
            f"{counts.get(CHANGED, 0)} changed, {counts.get(TESTS_CHANGED, 0)} regraded because the tests "
            f"changed, {counts.get(UNCHANGED, 0)} unchanged")
