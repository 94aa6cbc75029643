"""Grading throughput and overheads: prints figures, is not a test.

    .venv/bin/python bench/grading_benchmark.py [--submissions 100] [--assignment positional_encoding]

Builds N submissions of one assignment (a realistic mix made by
autograder.demo: mostly correct, some partly answered, some with a typical
mistake) and grades the same files, one after the other, with

  nbgrader        plain serial `nbgrader autograde ASSIGNMENT --force`, the nbgrader CLI run
                  once over all students of a course folder, with the execution limits of
                  autograder.course.nbgrader_config (Execute.timeout, interrupt_on_timeout)
  jobs 2          python -m autograder grade ASSIGNMENT --jobs 2 --force
  dask 2 workers  python -m autograder grade ASSIGNMENT --scheduler tcp://127.0.0.1:PORT --force, on a
                  `dask scheduler` and two `dask worker --nthreads 1` started on this machine for the mode
  jobs 1          python -m autograder grade ASSIGNMENT --jobs 1 --force
  jobs 1 no sandbox   the same with --no-sandbox
  nbconvert       jupyter nbconvert --execute --to notebook --allow-errors, one command over
                  the N submitted notebooks (serial; one kernel per notebook)

Each mode is one command, timed from start to exit (CLI start included),
with the share of the machine's CPU time that was busy meanwhile;
with --rounds R the modes run R times in turn and each keeps its median run
(of an even number, the faster middle one: other work only adds time).
Prints a table (mode, submissions, seconds, submissions per minute) and the
ratios the targets are about:

  speed-up   jobs 2 vs serial nbgrader (submissions per minute)      target >= 4 on 2 cores
  dask       Dask with two local workers vs serial nbgrader             (reported, no target)
  overhead   jobs 1 seconds per submission / nbconvert's             target <= 1.3
  sandbox    jobs 1 / jobs 1 --no-sandbox, minus 1                   target <= 20 %

then where one submission's time goes (skip with --no-profile): Python,
numpy and IPython start, the sandbox's start, judging the notebook, how many
calls the tests make into the student's process and what one round trip
costs, recording in the gradebook, results.json and the feedback page. The figures also go to
bench/out/grading.json; the course folders stay in bench/out/courses/.

Other processes on the machine change the figures: the load average at the
start and end of each mode is printed and saved with it, and --nice -10 (as
root) gives the benchmark priority over them.

--survey times one reference submission of every assignment (best of 3),
which is how the default assignment was chosen (the costliest to grade).
"""
import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

import nbformat  # noqa: E402

from autograder import demo  # noqa: E402
from autograder.config import load_config  # noqa: E402
from autograder.course import (assignments, ensure_tools_on_path, nbgrader_config, prepare_course,  # noqa: E402
                               source_notebooks)

DEFAULT_ASSIGNMENT = "positional_encoding"  # 6 questions, the costliest tests (see --survey)
MIX = [("correct", 0.7), ("partial", 0.2), ("mistake", 0.1)]
TARGETS = {"speedup": 4.0, "overhead": 1.3, "sandbox": 0.20}
BIN = Path(sys.executable).parent


def tool_env():
    env = dict(os.environ)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    env["MPLBACKEND"] = "Agg"
    env.pop("AUTOGRADER_COURSE", None)
    return env


# -- the submissions --------------------------------------------------------------------

def kinds_for(count, seed):
    kinds = []
    for kind, share in MIX:
        kinds += [kind] * round(share * count)
    kinds = (kinds + ["correct"] * count)[:count]
    random.Random(seed).shuffle(kinds)
    return kinds


def build_course(root, assignment, count, seed):
    """A course folder with the assignment prepared and `count` submissions; returns their kinds."""
    shutil.rmtree(root, ignore_errors=True)
    config = load_config(root)
    prepare_course(config, [assignment])
    rng = random.Random(seed)
    notebooks = {}
    for path in sorted((root / "release" / assignment).glob("*.ipynb")):
        notebooks[path.stem] = (nbformat.read(path, as_version=4),
                                demo.reference_answers(root / "source" / assignment / path.name))
    due = demo.FIRST_DUE
    kinds = {}
    for number, kind in enumerate(kinds_for(count, seed), 1):
        student = f"s{number:03d}"
        demo.write_submission(config, student, assignment, kind, notebooks,
                              demo.submission_time(due, False, rng), rng)
        kinds[student] = kind
    return kinds


def copy_submissions(source_root, root, assignment):
    """A second course folder with the same submitted files (for a grader that shares no state)."""
    shutil.rmtree(root, ignore_errors=True)
    prepare_course(load_config(root), [assignment])
    shutil.copytree(source_root / "submitted", root / "submitted")


def write_nbgrader_config(root):
    """COURSE/nbgrader_config.py with the settings of autograder.course.nbgrader_config."""
    config = load_config(root)
    lines = ["c = get_config()  # noqa: F821 (nbgrader's config loader defines it)"]
    for section, values in nbgrader_config(root.resolve(), config.gradebook_url).items():
        for key, value in values.items():
            lines.append(f"c.{section}.{key} = {value!r}")
    (root / "nbgrader_config.py").write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- running a mode ---------------------------------------------------------------------

def shown(path):
    """A path as printed and saved: relative to the repository when inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def cpu_times():
    """(busy, total) jiffies of the whole machine, from /proc/stat (None where there is none)."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            values = [int(x) for x in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


def timed(name, command, cwd, log, count):
    load_before = os.getloadavg()[0]
    cpu_before = cpu_times()
    started = time.monotonic()
    with open(log, "w", encoding="utf-8") as stream:
        process = subprocess.run(command, cwd=cwd, env=tool_env(), stdout=stream, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - started
    cpu_after = cpu_times()
    busy = (None if not (cpu_before and cpu_after) else
            round((cpu_after[0] - cpu_before[0]) / max(cpu_after[1] - cpu_before[1], 1), 3))
    row = {"mode": name, "command": " ".join(str(c) for c in command[1:]) if command[0] == sys.executable
           else " ".join(str(c) for c in [Path(command[0]).name, *command[1:]]),
           "submissions": count, "seconds": round(seconds, 2),
           "per_minute": round(60 * count / seconds, 1), "seconds_each": round(seconds / count, 3),
           "exit": process.returncode, "cpu_busy": busy, "load_before": round(load_before, 2),
           "load_after": round(os.getloadavg()[0], 2), "log": shown(log)}
    print(f"  {name:<28} {seconds:7.1f} s  {row['per_minute']:6.1f}/min  (exit {process.returncode}, "
          f"machine CPU busy {100 * (busy or 0):.0f} %, load {row['load_before']:.1f} -> {row['load_after']:.1f})",
          flush=True)
    return row


def our_scores(root, assignment):
    from autograder.results import load_results

    return {r.student: r.score for r in load_results(load_config(root), assignment)}


def nbgrader_scores(root, assignment):
    from nbgrader.api import Gradebook

    with Gradebook(load_config(root).gradebook_url) as gradebook:
        return {s.student.id: float(s.score) for s in gradebook.find_assignment(assignment).submissions}


def wait_for(condition, what, seconds=120):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


@contextlib.contextmanager
def local_dask_cluster(folder, workers=2):
    """The address of a `dask scheduler` and `workers` one-thread `dask worker`s on 127.0.0.1,
    started as INSTRUCTORS.md says (each worker leases its own sandbox uid), stopped after."""
    folder.mkdir(parents=True, exist_ok=True)
    address_file = folder / "scheduler.json"
    address_file.unlink(missing_ok=True)
    env = tool_env() | {"PYTHONPATH": str(REPO)}
    processes = []

    def start(command, log):
        with open(folder / log, "wb") as stream:
            processes.append(subprocess.Popen(command, env=env, cwd=folder, start_new_session=True,
                                              stdout=stream, stderr=subprocess.STDOUT))

    try:
        start([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
               "--scheduler-file", str(address_file)], "scheduler.log")
        wait_for(lambda: address_file.exists() and json.loads(address_file.read_text() or "{}").get("address"),
                 "the Dask scheduler")
        address = json.loads(address_file.read_text())["address"]
        for number in range(1, workers + 1):
            start([str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-dashboard",
                   "--host", "127.0.0.1", "--name", f"worker{number}"], f"worker{number}.log")

        def connected():
            from distributed import Client

            with Client(address, timeout="10s") as client:
                return len(client.scheduler_info(n_workers=-1)["workers"]) == workers

        wait_for(connected, f"{workers} Dask workers")
        yield address
    finally:
        for process in reversed(processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            process.wait()


def run_modes(work, assignment, count, seed, skip, rounds=1):
    out = work / "logs"
    out.mkdir(parents=True, exist_ok=True)
    ours, theirs = work / "autograder", work / "nbgrader"
    print(f"building {count} submissions of {assignment} ...", flush=True)
    kinds = build_course(ours, assignment, count, seed)
    copy_submissions(ours, theirs, assignment)
    write_nbgrader_config(theirs)
    notebook = source_notebooks(assignment)[0]
    executed = work / "nbconvert"
    shutil.rmtree(executed, ignore_errors=True)
    (executed / "in").mkdir(parents=True)
    for student in kinds:
        shutil.copyfile(ours / "submitted" / student / assignment / f"{notebook}.ipynb",
                        executed / "in" / f"{student}.ipynb")
    grade = [sys.executable, "-m", "autograder", "--course", str(ours), "grade", assignment, "--force"]
    modes = [
        ("nbgrader autograde", [str(BIN / "nbgrader"), "autograde", assignment, "--force"], theirs),
        ("grade --jobs 2", grade + ["--jobs", "2"], REPO),
        ("grade --jobs 1", grade + ["--jobs", "1"], REPO),
        ("grade --jobs 1 --no-sandbox", grade + ["--jobs", "1", "--no-sandbox"], REPO),
        ("nbconvert --execute", [str(BIN / "jupyter"), "nbconvert", "--execute", "--to", "notebook",
                                 "--allow-errors", "--ExecutePreprocessor.timeout=60",
                                 "--output-dir", str(executed / "out"),
                                 *sorted(str(p) for p in (executed / "in").glob("*.ipynb"))], REPO),
    ]
    dask_mode = "grade on Dask, 2 local workers"
    modes.insert(2, (dask_mode, grade + ["--scheduler", "ADDRESS"], REPO))
    modes = [mode for mode in modes if not any(word in mode[0] for word in skip)]
    runs, scores = {name: [] for name, _, _ in modes}, {}
    for round_number in range(1, rounds + 1):
        print(f"round {round_number} of {rounds}: the same {count} submissions in each mode", flush=True)
        for name, command, cwd in modes:
            if name == dask_mode:  # the cluster is started for its mode only: idle, it still takes CPU
                with local_dask_cluster(work / "dask") as address:
                    command = [address if word == "ADDRESS" else word for word in command]
                    runs[name].append(timed(name, command, cwd, out / f"dask-{round_number}.log", count))
                scores[name] = our_scores(ours, assignment)
                continue
            slug = name.replace(" ", "_").replace("-", "")
            runs[name].append(timed(name, command, cwd, out / f"{slug}-{round_number}.log", count))
            if name.startswith("grade"):
                scores[name] = our_scores(ours, assignment)
            elif name.startswith("nbgrader"):
                scores[name] = nbgrader_scores(theirs, assignment)
    # Each mode's median run (of an even number: the faster middle one, as other work only adds time).
    rows = [sorted(found, key=lambda row: row["seconds"])[(len(found) - 1) // 2]
            | {"rounds": len(found), "all_seconds": [row["seconds"] for row in found]}
            for found in runs.values()]
    return rows, scores, kinds


# -- where the time goes ----------------------------------------------------------------

def best_time(action, repeat):
    """The fastest of `repeat` runs: other processes only ever add time."""
    times = []
    for _ in range(repeat):
        started = time.monotonic()
        action()
        times.append(time.monotonic() - started)
    return min(times)


def profile(work, assignment, repeat=5):
    """Seconds per part of grading one correct submission, in this process (best of `repeat`)."""
    from autograder import grading
    from autograder.gradebook import open_gradebook
    from autograder.judge import NotebookJudge, student_code_cells
    from autograder.sandbox import Limits, Sandbox

    root = work / "autograder"
    config = load_config(root)
    folder = next(f for f in sorted(config.submitted().glob(f"*/{assignment}"))
                  if (f / f"{source_notebooks(assignment)[0]}.ipynb").exists())
    student = folder.parent.name
    name = source_notebooks(assignment)[0]
    source = grading.source_of(config, assignment, name)
    cells = student_code_cells(nbformat.read(folder / f"{name}.ipynb", as_version=4))
    parts = {}
    python = [sys.executable, "-s", "-E", "-c"]
    parts["python start (bare)"] = best_time(lambda: subprocess.run(python + ["pass"]), repeat)
    parts["python + import numpy"] = best_time(lambda: subprocess.run(python + ["import numpy"]), repeat)
    parts["python + numpy + IPython shell"] = best_time(lambda: subprocess.run(
        python + ["import numpy; from IPython.core.interactiveshell import InteractiveShell; "
                  "InteractiveShell.instance()"]), repeat)
    for isolate, label in ((True, "sandbox"), (False, "no sandbox")):
        parts[f"runner start + stop ({label})"] = best_time(
            lambda: Sandbox(Limits(), isolate).start().stop(), repeat)
        parts[f"judge one notebook ({label})"] = best_time(
            lambda: NotebookJudge(source, Limits(), isolate).grade(cells), repeat)
        parts[f"grade_submission ({label})"] = best_time(
            lambda: grading.grade_submission(config, assignment, student, folder, "profile", isolate), repeat)
    # The tests call the student's functions across the sandbox's pipe; count and time the calls.
    from autograder import judge

    counted = {"call": 0, "_answer_callback": 0}
    originals = {name: getattr(judge.Session, name) for name in counted}

    def counting(name):
        def wrapper(self, *args, **kwargs):
            counted[name] += 1
            return originals[name](self, *args, **kwargs)
        return wrapper

    for name in counted:
        setattr(judge.Session, name, counting(name))
    try:
        NotebookJudge(source, Limits(), True).grade(cells)
    finally:
        for name, original in originals.items():
            setattr(judge.Session, name, original)
    parts["calls of student functions (count)"] = counted["call"]
    parts["callbacks to the test's functions (count)"] = counted["_answer_callback"]
    for isolate, label in ((True, "sandbox"), (False, "no sandbox")):
        session = judge.Session(Limits(), isolate, None)  # None: this process's leased uid
        session.start()
        try:
            session.run_cell("def echo(x):\n    return x\n")
            array = __import__("numpy").ones((8, 8))
            parts[f"one call round trip, ms ({label})"] = 1000 * best_time(
                lambda: [session.call("echo", (array,), {}) for _ in range(20)], repeat) / 20
        finally:
            session.stop()
    result = grading.grade_submission(config, assignment, student, folder, "profile", True)
    from autograder.feedback import write_feedback
    from autograder.gradebook import record_result
    from autograder.results import save_result

    with open_gradebook(config) as gradebook:
        parts["record: gradebook"] = best_time(lambda: record_result(gradebook, result), repeat)
    parts["record: results.json"] = best_time(lambda: save_result(config, result), repeat)
    parts["record: feedback page"] = best_time(lambda: write_feedback(config, result), repeat)
    parts["review flags (static scan)"] = best_time(
        lambda: grading.flag_code([(i, s) for i, s, _ in cells]), repeat)
    return {k: round(v, 3) for k, v in parts.items()}


def survey(work, repeat=3):
    """Best-of-3 seconds to grade one reference submission of every assignment (sandboxed)."""
    from autograder import grading

    found = {}
    for assignment in assignments():
        root = work / f"survey-{assignment}"
        build_course(root, assignment, 1, 0)  # kinds_for(1) is one correct submission
        folder = root / "submitted" / "s001" / assignment
        times = []
        for _ in range(repeat):
            started = time.monotonic()
            result = grading.grade_submission(load_config(root), assignment, "s001", folder, "survey", True)
            times.append(time.monotonic() - started)
        found[assignment] = {"questions": len(result.questions), "points": result.max_score,
                             "best_seconds": round(min(times), 3)}
        print(f"  {assignment:<22} {len(result.questions)} questions  best {min(times):.2f} s", flush=True)
    return found


# -- the report -------------------------------------------------------------------------

def ratios(rows):
    by = {row["mode"]: row for row in rows}
    found = {}
    if "grade --jobs 2" in by and "nbgrader autograde" in by:
        found["speedup"] = by["grade --jobs 2"]["per_minute"] / by["nbgrader autograde"]["per_minute"]
    if "grade on Dask, 2 local workers" in by and "nbgrader autograde" in by:
        found["dask"] = by["grade on Dask, 2 local workers"]["per_minute"] / by["nbgrader autograde"]["per_minute"]
    if "grade --jobs 1" in by and "nbconvert --execute" in by:
        found["overhead"] = by["grade --jobs 1"]["seconds"] / by["nbconvert --execute"]["seconds"]
    if "grade --jobs 1" in by and "grade --jobs 1 --no-sandbox" in by:
        found["sandbox"] = by["grade --jobs 1"]["seconds"] / by["grade --jobs 1 --no-sandbox"]["seconds"] - 1
    return {k: round(v, 3) for k, v in found.items()}


def print_report(rows, found, scores, parts):
    print()
    print(f"{'mode':<32}{'submissions':>12}{'seconds':>10}{'per min':>10}{'s each':>9}{'CPU busy':>10}"
          f"{'load':>12}")
    for row in rows:
        busy = "" if row.get("cpu_busy") is None else f"{100 * row['cpu_busy']:.0f} %"
        print(f"{row['mode']:<32}{row['submissions']:>12}{row['seconds']:>10.1f}{row['per_minute']:>10.1f}"
              f"{row['seconds_each']:>9.2f}{busy:>10}{row['load_before']:>7.1f} > {row['load_after']:<4.1f}")
    print()
    labels = {"speedup": ("jobs 2 vs serial nbgrader (per minute)", ">=", "x"),
              "dask": ("Dask, 2 local workers, vs serial nbgrader", None, "x"),
              "overhead": ("jobs 1 vs nbconvert (seconds per submission)", "<=", "x"),
              "sandbox": ("sandbox cost: jobs 1 vs --no-sandbox", "<=", "")}
    for key, value in found.items():
        text, sense, unit = labels[key]
        if sense is None:
            print(f"{text:<48} {value:>7.2f}{unit}   (no target)")
            continue
        target = TARGETS[key]
        ok = value >= target if sense == ">=" else value <= target
        shown = f"{100 * value:+.0f} %" if key == "sandbox" else f"{value:.2f}{unit}"
        goal = f"{100 * target:.0f} %" if key == "sandbox" else f"{target}{unit}"
        print(f"{text:<48} {shown:>8}   target {sense} {goal}: {'met' if ok else 'MISSED'}")
    if scores:
        ours = [name for name in scores if name.startswith("grade")]
        same = all(scores[name] == scores[ours[0]] for name in ours)
        print(f"\nscores identical across {', '.join(ours)}: {'yes' if same else 'NO'}")
        if "nbgrader autograde" in scores and ours:
            theirs, mine = scores["nbgrader autograde"], scores[ours[0]]
            agree = sum(1 for s in mine if abs(theirs.get(s, -1) - mine[s]) < 1e-9)
            print(f"same score as nbgrader for {agree} of {len(mine)} submissions "
                  "(nbgrader runs the tests in the student's kernel)")
    if parts:
        print("\nwhere one correct submission's time goes (seconds unless named, best of 5, in this process):")
        for name, value in parts.items():
            print(f"  {name:<46}" + (f"{value:>8d}" if isinstance(value, int) else f"{value:>8.3f}"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--assignment", default=DEFAULT_ASSIGNMENT, choices=assignments())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every mode this many times, in turn, and keep each mode's median run")
    parser.add_argument("--skip", nargs="*", default=[],
                        help="skip the modes whose name contains one of these words (e.g. nbconvert)")
    parser.add_argument("--no-profile", action="store_true", help="skip the breakdown of one submission")
    parser.add_argument("--survey", action="store_true",
                        help="only time one reference submission of every assignment")
    parser.add_argument("--nice", type=int, default=0,
                        help="change this process's (and every mode's) scheduling priority by N; on a "
                             "shared machine a negative N (root only) keeps other work from skewing the figures")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args(argv)
    if args.nice:
        os.nice(args.nice)
    ensure_tools_on_path()
    work = args.out / "courses"
    work.mkdir(parents=True, exist_ok=True)
    machine = {"cores": os.cpu_count(), "python": platform.python_version(),
               "load_at_start": [round(x, 2) for x in os.getloadavg()], "nice": os.nice(0)}
    print(f"{machine['cores']} cores, load average {machine['load_at_start']}")
    if args.survey:
        found = survey(work)
        (args.out / "survey.json").write_text(json.dumps({"machine": machine, "assignments": found}, indent=1))
        return 0
    started = time.monotonic()
    rows, scores, kinds = run_modes(work, args.assignment, args.submissions, args.seed, args.skip, args.rounds)
    parts = {} if args.no_profile else profile(work, args.assignment)
    found = ratios(rows)
    print_report(rows, found, scores, parts)
    report = {"assignment": args.assignment, "submissions": args.submissions, "seed": args.seed,
              "mix": {kind: sum(1 for k in kinds.values() if k == kind) for kind, _ in MIX},
              "machine": machine, "modes": rows, "ratios": found, "targets": TARGETS,
              "scores_identical": len({json.dumps(v, sort_keys=True) for k, v in scores.items()
                                       if k.startswith("grade")}) <= 1,
              "profile_seconds": parts, "total_seconds": round(time.monotonic() - started, 1)}
    path = args.out / "grading.json"
    path.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"\nfigures: {shown(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
