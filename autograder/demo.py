"""Build, grade and report a synthetic class: python -m autograder --course DIR demo.

One command shows the whole flow on made-up students:

  1. prepare the course folder (nbgrader source/, release/, gradebook) and a
     course.toml with a due date per assignment and a late penalty;
  2. write a roster (DIR/roster.csv) and import it (as `roster` does);
  3. write a submission per student and assignment into
     DIR/submitted/STUDENT/ASSIGNMENT/ with a timestamp.txt, some of them late;
  4. grade every assignment (as `grade` does: sandboxed, in parallel), which
     also writes the feedback pages;
  5. export the grades (DIR/exports/) and write the report (DIR/reports/).

The submissions are made from the reference solutions of solutions/, in a
fixed mix (see KINDS): correct, renamed, with a typical mistake (softmax over
the wrong axis, K.T on a batch, no sqrt in the scaling, masking with 0
instead of -inf, sin and cos swapped, no return), partly answered, blank
(the released notebook as is), a code cell that does not parse, a cell that
kills its own process (the "restart the runtime" habit), a notebook that is
not valid JSON, a folder without the notebook, and no submission at all.
Stronger students get the better kinds more often. DIR/demo_manifest.csv
lists what each student was given, to compare with what grading found.

Same --seed, same class. The folder must be new, empty, or an earlier demo
(it is then replaced): the demo never writes into a real course.
"""
import csv
import datetime
import io
import random
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat

from autograder.course import reference_answers

MARKER = ".autograder-demo"  # marks a folder the demo made (and may replace)
MANIFEST = "demo_manifest.csv"
ROSTER = "roster.csv"

# (kind, share of the class, what it is). Shares are of the students after one
# of each kind, in this order, while there are students (a small class still
# shows the mix). Quality kinds go to students by ability; the others at random.
KINDS = [
    ("correct", 0.42, "the reference solution"),
    ("partial", 0.17, "some answers left blank"),
    ("mistake", 0.20, "one or two answers with a typical mistake"),
    ("invalid_json", 0.03, "a notebook file cut off (not valid JSON)"),
    ("crash", 0.03, "correct, plus a cell that kills its own process"),
    ("blank", 0.05, "the released notebook, nothing answered"),
    ("no_notebook", 0.02, "a folder without the notebook"),
    ("syntax_error", 0.03, "an answer cell that does not parse"),
    ("absent", 0.03, "nothing submitted"),
    ("renamed", 0.02, "correct, saved as 'NAME (1).ipynb'"),
]
QUALITY_ORDER = ["correct", "renamed", "mistake", "partial", "syntax_error", "blank"]
LATE_SHARE = 0.15  # of the submissions, at least one per assignment when there are 4 or more
LATE_PENALTY = {"per_day": 0.1, "maximum": 0.5}
FIRST_DUE = datetime.datetime(2026, 9, 21, 23, 59, tzinfo=datetime.timezone.utc)  # then one a week

# Typical mistakes, as rewrites of a reference answer: (name, pattern, replacement).
# A rewrite is used only on answers where its pattern occurs.
MISTAKES = [
    ("softmax over the wrong axis", r"axis=-1\b", "axis=0"),
    ("K.T on a batch", r"\.swapaxes\(-1, -2\)", ".T"),
    ("no sqrt in the scaling", r"/ np\.sqrt\(", "/ ("),
    ("masked with 0 instead of -inf", r"-np\.inf\b", "0.0"),
    ("sin and cos swapped", r"np\.(sin|cos)\(", lambda m: "np.cos(" if m.group(1) == "sin" else "np.sin("),
    ("forgot to return the result", r"(?ms)^([ \t]*)return (?!.*^[ \t]*return\b)", r"\1result = "),
]
CRASH_CELL = "# restart the runtime (a habit from Colab)\nimport os\nos.kill(os.getpid(), 9)\n"

FIRST_NAMES = ["Ada", "Alan", "Amara", "Bao", "Carmen", "Chen", "Dara", "Emeka", "Farah", "Grace",
               "Hana", "Ivan", "Jamal", "Kenji", "Lena", "Mateo", "Mei", "Nadia", "Omar", "Priya",
               "Quinn", "Rosa", "Sami", "Tariq", "Uma", "Vera", "Wen", "Yusuf", "Zara", "Li"]
LAST_NAMES = ["Abbott", "Banerjee", "Costa", "Dubois", "Eze", "Fischer", "Garcia", "Haddad", "Ito",
              "Jensen", "Kowalski", "Lopez", "Mensah", "Nguyen", "Okafor", "Petrov", "Quispe",
              "Rossi", "Silva", "Tanaka", "Umar", "Varga", "Wang", "Xu", "Yilmaz", "Zhang"]


# -- the class ------------------------------------------------------------------------

def make_roster(count, rng):
    """[{id, first_name, last_name, email, lms_user_id}] of `count` made-up students."""
    students = []
    for number in range(1, count + 1):
        student_id = f"s{number:03d}"
        students.append({"id": student_id, "first_name": rng.choice(FIRST_NAMES),
                         "last_name": rng.choice(LAST_NAMES), "email": f"{student_id}@example.org",
                         "lms_user_id": str(70000 + number)})
    return students


def allocate(count):
    """{kind: how many} for a class of `count`: one of each kind in KINDS order while
    there are students, the rest by share (largest remainder)."""
    counts = {kind: 0 for kind, _, _ in KINDS}
    for kind, _, _ in KINDS[:count]:
        counts[kind] = 1
    rest = count - sum(counts.values())
    exact = {kind: rest * share / sum(s for _, s, _ in KINDS) for kind, share, _ in KINDS}
    for kind in counts:
        counts[kind] += int(exact[kind])
    left = count - sum(counts.values())
    for kind in sorted(exact, key=lambda k: exact[k] - int(exact[k]), reverse=True)[:left]:
        counts[kind] += 1
    return counts


def assign_kinds(students, ability, rng):
    """{student: kind} for one assignment: better kinds to abler students, with noise."""
    counts = allocate(len(students))
    pool = list(students)
    rng.shuffle(pool)
    kinds = {}
    for kind in counts:  # the kinds that do not depend on ability: random students
        if kind not in QUALITY_ORDER:
            for _ in range(counts[kind]):
                kinds[pool.pop()] = kind
    ranked = sorted(pool, key=lambda s: ability[s] + rng.gauss(0, 0.6), reverse=True)
    ordered = [kind for kind in QUALITY_ORDER for _ in range(counts[kind])]
    kinds.update(zip(ranked, ordered))
    return kinds


def applicable_mistakes(answers):
    """[(grade_id, name, pattern, replacement)] of every mistake that changes an answer."""
    found = []
    for grade_id, code in answers.items():
        for name, pattern, replacement in MISTAKES:
            if re.search(pattern, code):
                found.append((grade_id, name, pattern, replacement))
    return found


def student_notebook(released, answers, kind, rng):
    """The released notebook filled in as a student of this kind would; returns (notebook, note)."""
    notebook = nbformat.from_dict(released)  # a copy
    filled = dict(answers)
    note = ""
    if kind == "partial":
        ids = sorted(answers)
        blank = rng.sample(ids, rng.randint(1, max(1, len(ids) - 1)))
        filled = {g: c for g, c in answers.items() if g not in blank}
        note = "blank: " + " ".join(sorted(blank))
    elif kind == "blank":
        filled = {}
    elif kind == "mistake":
        choices = applicable_mistakes(answers)
        picked = rng.sample(choices, min(len(choices), rng.choice([1, 1, 2])))
        for grade_id, name, pattern, replacement in picked:
            filled[grade_id] = re.sub(pattern, replacement, filled[grade_id])
        note = "; ".join(f"{grade_id}: {name}" for grade_id, name, _, _ in picked)
    elif kind == "syntax_error":
        grade_id = rng.choice(sorted(answers))
        lines = answers[grade_id].rstrip().splitlines()
        filled[grade_id] = "\n".join(lines[:-1] + [lines[-1].rstrip() + " +"]) + "\n"  # unfinished line
        note = f"{grade_id}: unfinished last line"
    first_answer = None
    for index, cell in enumerate(notebook.cells):
        grading = cell.metadata.get("nbgrader", {})
        if grading.get("solution") and grading.get("grade_id") in filled:
            cell.source = filled[grading["grade_id"]]
        if grading.get("solution") and first_answer is None:
            first_answer = index
    if kind == "crash":
        notebook.cells.insert(first_answer + 1, nbformat.v4.new_code_cell(CRASH_CELL))
        note = "os.kill(os.getpid(), 9) after the first answer"
    return notebook, note


def submission_time(due, late, rng):
    if late:
        return due + datetime.timedelta(hours=rng.uniform(0.5, 72))  # 1 to 3 started days late
    return due - datetime.timedelta(hours=rng.uniform(0.5, 96))


def write_submission(config, student, assignment, kind, notebooks, moment, rng):
    """Write COURSE/submitted/STUDENT/ASSIGNMENT/ for this kind; returns a note."""
    from autograder.submissions import TIMESTAMP_FILE, format_timestamp

    folder = config.submitted(student, assignment)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / TIMESTAMP_FILE).write_text(format_timestamp(moment) + "\n", encoding="utf-8")
    notes = []
    for name, (released, answers) in notebooks.items():
        if kind == "no_notebook":
            (folder / "my_answers.txt").write_text("I could not upload the notebook, sorry.\n", encoding="utf-8")
            return "only my_answers.txt"
        notebook, note = student_notebook(released, answers, kind, rng)
        text = nbformat.writes(notebook)
        file_name = f"{name} (1).ipynb" if kind == "renamed" else f"{name}.ipynb"
        if kind == "invalid_json":
            text = text[: len(text) * 3 // 5]  # an upload cut off
            note = "cut off at 60%"
        (folder / file_name).write_text(text, encoding="utf-8")
        notes.append(note)
    return "; ".join(n for n in notes if n)


# -- the course folder ----------------------------------------------------------------

def clear_folder(root):
    """Make `root` an empty demo folder; refuse anything that may be a real course."""
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).exists():
            raise SystemExit(f"{root} is not empty and was not made by the demo; "
                             "give the demo a new folder, e.g. --course demo-course")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("made by `python -m autograder demo`; the next demo run replaces this folder\n",
                               encoding="utf-8")


def due_dates(assignment_ids):
    return {a: FIRST_DUE + datetime.timedelta(weeks=i) for i, a in enumerate(assignment_ids)}


def write_course_toml(root, due):
    lines = ['# Written by `python -m autograder demo`.', 'course_id = "attention-demo"', "", "[due]"]
    lines += [f'{a} = "{moment.isoformat()}"' for a, moment in due.items()]
    lines += ["", "[late_penalty]", f"per_day = {LATE_PENALTY['per_day']}   # of the score, per started day late",
              f"maximum = {LATE_PENALTY['maximum']}   # never more than this fraction"]
    (Path(root) / "course.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_roster(config, students):
    """DIR/roster.csv, imported into the gradebook as `python -m autograder roster` does."""
    path = config.root / ROSTER
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, ["id", "first_name", "last_name", "email", "lms_user_id"])
        writer.writeheader()
        writer.writerows(students)
    from autograder import api

    roster = api.read_roster(path)
    if roster.errors:
        raise RuntimeError(f"the demo roster has bad rows: {roster.errors[:3]}")
    api.import_roster(config, roster)
    return path


def build_class(config, assignment_ids, students, seed, stream=sys.stdout):
    """Write every submission and DIR/demo_manifest.csv; returns the manifest rows.
    The due dates come from config (course.toml)."""
    rng = random.Random(seed)
    ability = {s["id"]: rng.gauss(0, 1) for s in students}
    ids = [s["id"] for s in students]
    due = config.due
    rows = []
    for assignment in assignment_ids:
        released = {}
        for path in sorted(config.release(assignment).glob("*.ipynb")):
            source = config.source(assignment) / path.name
            released[path.stem] = (nbformat.read(path, as_version=4), reference_answers(source))
        kinds = assign_kinds(ids, ability, rng)
        submitting = [s for s in ids if kinds[s] != "absent"]
        late = set(rng.sample(submitting, max(1 if len(submitting) >= 4 else 0,
                                              round(LATE_SHARE * len(submitting)))))
        for student in ids:
            kind = kinds[student]
            if kind == "absent":
                rows.append({"student_id": student, "assignment": assignment, "kind": kind,
                             "late": "", "submitted": "", "note": "nothing submitted"})
                continue
            moment = submission_time(due[assignment], student in late, rng)
            note = write_submission(config, student, assignment, kind, released, moment, rng)
            rows.append({"student_id": student, "assignment": assignment, "kind": kind,
                         "late": "yes" if student in late else "", "submitted": moment.isoformat(timespec="seconds"),
                         "note": note})
        made = {kind: sum(1 for k in kinds.values() if k == kind) for kind, _, _ in KINDS}
        print(f"  {assignment}: " + ", ".join(f"{n} {k}" for k, n in made.items() if n)
              + f"; {len(late)} late", file=stream)
    with (config.root / MANIFEST).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["student_id", "assignment", "kind", "late", "submitted", "note"])
        writer.writeheader()
        writer.writerows(rows)
    return rows


# -- the demo -------------------------------------------------------------------------

def run_demo(root, students=60, seed=0, jobs=None, assignment_ids=None, stream=None, progress=None):
    """Build, grade, export and report a synthetic class in the course folder `root` (new, empty
    or an earlier demo's), through the same operations as the commands (autograder.api).
    `stream` gets the story (None: quiet), `progress` grading's progress lines.
    Returns {assignment: the results graded}."""
    from autograder import api
    from autograder.config import load_config
    from autograder.course import assignments, ensure_tools_on_path, prepare_course

    stream = stream or io.StringIO()
    ensure_tools_on_path()
    assignment_ids = list(dict.fromkeys(assignment_ids or assignments()))
    timings = {}
    started = clock = time.monotonic()

    def lap(stage):
        nonlocal clock
        now = time.monotonic()
        timings[stage] = now - clock
        clock = now

    def say(line=""):
        print(line, file=stream)

    say(f"demo: {students} students x {len(assignment_ids)} assignment(s) in {root} (seed {seed})")
    clear_folder(root)
    write_course_toml(root, due_dates(assignment_ids))
    config = load_config(root)
    prepare_course(config, assignment_ids)
    lap("prepare")
    say(f"course folder ready: source/, release/, gradebook, course.toml ({timings['prepare']:.0f} s)")

    roster = make_roster(students, random.Random(seed))
    roster_path = write_roster(config, roster)
    say(f"roster: {len(roster)} students in {roster_path}, imported into the gradebook")
    say("submissions:")
    rows = build_class(config, assignment_ids, roster, seed, stream)
    lap("submissions")

    results = {}
    for assignment in assignment_ids:
        results[assignment] = api.grade(config, assignment, jobs=jobs, force=True, stream=progress)
    lap("grading")
    graded = sum(len(r) for r in results.values())
    say(f"graded {graded} submissions in {timings['grading']:.0f} s "
        f"({60 * graded / max(timings['grading'], 1e-9):.0f} per minute)")

    # Grading writes each feedback page as it records a result; render again only what is missing.
    for assignment, found in results.items():
        if any(not config.feedback(r.student, assignment).is_dir() for r in found):
            api.write_feedback(config, assignment)
    pages = len(list(config.feedback().glob("*/*/*.html")))
    api.export(config)
    api.report(config)
    lap("feedback, export, report")

    say()
    say(summary(assignment_ids, results, rows))
    total = time.monotonic() - started
    say()
    say(f"done in {total:.0f} s: " + ", ".join(f"{stage} {seconds:.0f} s" for stage, seconds in timings.items()))
    say(f"  course folder  {root}/  (course.toml, gradebook.db, {ROSTER}, {MANIFEST}: what each student was given)")
    say(f"  submissions    {config.submitted()}/STUDENT/ASSIGNMENT/")
    say(f"  results        {config.autograded()}/STUDENT/ASSIGNMENT/results.json")
    say(f"  feedback       {config.feedback()}/STUDENT/ASSIGNMENT/*.html ({pages} pages)")
    say(f"  grades         {config.exports}/ (questions.csv, totals.csv, canvas.csv, moodle.csv)")
    say(f"  report         {config.reports}/summary.txt and the plots next to it")
    return results


def summary(assignment_ids, results, rows):
    """A table: per assignment, the submissions graded, the mean score and the statuses."""
    from collections import Counter

    lines = [f"{'assignment':<22}{'graded':>7}{'mean':>8}{'max':>6}  question statuses; submissions not graded normally"]
    for assignment in assignment_ids:
        found = results[assignment]
        statuses = Counter(q.status for r in found for q in r.questions)
        problems = sum(1 for r in found if r.status != "graded")
        mean = sum(r.score for r in found) / len(found) if found else 0.0
        top = found[0].max_score if found else 0.0
        lines.append(f"{assignment:<22}{len(found):>7}{mean:>8.1f}{top:>6g}  "
                     + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) + f"; {problems}")
    late = sum(1 for row in rows if row["late"])
    absent = sum(1 for row in rows if row["kind"] == "absent")
    lines.append(f"{late} late submissions (penalty {LATE_PENALTY['per_day']:g} per day, at most "
                 f"{LATE_PENALTY['maximum']:g}), {absent} missing submissions scored 0 in the export")
    return "\n".join(lines)
