"""Plot score distributions, hard questions and frequent mistakes: python -m autograder report [ASSIGNMENT ...].

Writes COURSE/reports/:

  questions_ASSIGNMENT.png  points per question: one small histogram per question
  totals.png                final score per assignment (after late penalties), mean and median
  hardest_questions.png     questions by mean fraction of points, hardest first
  diagnostics.png           the most frequent failure messages from the exercises'
                            tests: how many students got each one (top 10)
  summary.txt               students graded, mean and median per assignment, the
                            hardest question, the named checks most often failed,
                            submissions not graded normally and the review flags
                            (code an instructor should look at)
  flags.csv                 the review flags, one row per flag

Scores are those of `export` (a formgrader score wins, late penalties applied);
the statistics count submitted work only (a roster student who submitted
nothing is listed, not averaged in as 0).
"""
from __future__ import annotations

import io
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean, median
from typing import TYPE_CHECKING

from autograder.grade_tables import Grades, Total, csv_text, number
from autograder.results import MISSING, PASSED, write_atomic

if TYPE_CHECKING:
    from autograder.config import CourseConfig
    from autograder.results import SubmissionResult

FLAG_COLUMNS = ["student_id", "assignment", "notebook", "cell", "line", "rule", "reason", "code"]
TOP_DIAGNOSTICS = 10
TOP_HARDEST = 15
DPI = 150
CMAP = "viridis"  # perceptually uniform and readable in grey and by colour-blind readers
# Two viridis colours far apart, plus line styles, so nothing relies on hue alone.
BAR_COLOUR = "#3b528b"
MEAN_COLOUR = "#21918c"
MEDIAN_COLOUR = "#440154"


# -- statistics -------------------------------------------------------------------

@dataclass
class Diagnostic:
    count: int  # students who got this message
    assignment: str
    question: str
    message: str
    students: list[str] = field(default_factory=list)


def first_line(message: object) -> str:
    """The message's first non-empty line (the diagnosis), whitespace collapsed."""
    for line in str(message).splitlines():
        if line.strip():
            return " ".join(line.split())
    return ""


def diagnostics(results: Iterable[SubmissionResult], top: int | None = TOP_DIAGNOSTICS) -> list[Diagnostic]:
    """The most frequent failure messages: how many students got each.

    A message counts once per student, per assignment and question, however
    often it repeats in that student's feedback. Only what the tests diagnosed
    counts: passed questions, missing notebooks and questions not answered yet
    (still raising NotImplementedError) would drown the mistakes worth
    teaching. Sorted by count, most frequent first.
    """
    students = defaultdict(set)
    for result in results:
        for question in result.questions:
            if question.status in (PASSED, MISSING):
                continue
            for message in question.messages:
                text = first_line(message)
                if text and not text.startswith("NotImplementedError"):
                    students[(result.assignment, question.question, text)].add(result.student)
    found = [Diagnostic(len(who), assignment, question, message, sorted(who))
             for (assignment, question, message), who in students.items()]
    found.sort(key=lambda d: (-d.count, d.assignment, d.question, d.message))
    return found[:top] if top else found


@dataclass
class CheckStats:
    assignment: str
    question: str
    check: str
    points: float
    failed: int  # submissions that failed this check
    graded: int  # submissions that reached it (their question was graded)


def failed_checks(results: Iterable[SubmissionResult], top: int | None = TOP_HARDEST) -> list[CheckStats]:
    """The named checks failed by the most submissions (only failed ones), most first:
    which part of a question the class gets wrong, not just which question."""
    counts = {}
    for result in results:
        for question in result.questions:
            for check in question.checks:
                key = (result.assignment, question.question, check.name)
                stats = counts.setdefault(key, CheckStats(*key, check.points, 0, 0))
                stats.graded += 1
                stats.failed += check.status != PASSED
    found = sorted((c for c in counts.values() if c.failed),
                   key=lambda c: (-c.failed / c.graded, c.assignment, c.question, c.check))
    return found[:top] if top else found


@dataclass
class QuestionStats:
    assignment: str
    notebook: str
    question: str
    max_score: float
    scores: list[float]  # one per submission

    @property
    def mean_fraction(self) -> float:
        if not self.scores or not self.max_score:
            return float("nan")
        return mean(self.scores) / self.max_score


def question_stats(grades: Grades, assignment: str) -> list[QuestionStats]:
    submitted = [t for t in grades.totals[assignment] if t.submitted_something]
    stats = []
    for notebook, question, top in grades.questions[assignment]:
        scores = [q.score for t in submitted for q in t.questions
                  if (q.notebook, q.question) == (notebook, question)]
        stats.append(QuestionStats(assignment, notebook, question, top, scores))
    return stats


def hardest_questions(grades: Grades, top: int | None = TOP_HARDEST) -> list[QuestionStats]:
    """Questions with submissions, by mean fraction of points, lowest first."""
    stats = [s for a in grades.assignments for s in question_stats(grades, a) if s.scores and s.max_score]
    stats.sort(key=lambda s: (s.mean_fraction, s.assignment, s.question))
    return stats[:top] if top else stats


def stat(value: float) -> str:
    """A mean or median as text: at most 2 decimals."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


# -- plots ------------------------------------------------------------------------

def _figure(width, height):
    from matplotlib.figure import Figure  # no pyplot: no global backend state; renders with Agg
    figure = Figure(figsize=(width, height), layout="constrained")
    figure.patch.set_facecolor("white")
    return figure


def _save(figure, path):
    """Render to PNG and replace `path` atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    path = Path(path)
    write_atomic(path, buffer.getvalue())
    return path


def _colours(fractions, low=0.0, high=0.85):
    """Viridis colours for fractions of points (the brightest yellow is left out: it vanishes on white)."""
    from matplotlib import colormaps
    cmap = colormaps[CMAP]
    return [cmap(low + (high - low) * min(max(f, 0.0), 1.0)) for f in fractions]


def _score_bins(values, top):
    """(positions, counts, width): one bar per distinct score when few, else 10 bins."""
    import numpy as np
    distinct = sorted(set(values) | {0.0, float(top)})
    if len(distinct) <= 12:
        gaps = np.diff(distinct) if len(distinct) > 1 else [1.0]
        counts = [sum(1 for v in values if v == d) for d in distinct]
        return distinct, counts, 0.8 * min(min(gaps), max(top, 1) / 4)
    counts, edges = np.histogram(values, bins=10, range=(0, top))
    return list((edges[:-1] + edges[1:]) / 2), list(counts), 0.9 * (edges[1] - edges[0])


def _integer_counts(axis):
    from matplotlib.ticker import MaxNLocator
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))


def _style(axis):
    axis.spines[["top", "right"]].set_visible(False)
    axis.tick_params(labelsize=9)


def plot_questions(stats: list[QuestionStats], assignment: str, path: Path | str) -> Path:
    """One small histogram per question: how many students got each score."""
    columns = min(3, max(len(stats), 1))
    rows = max(1, -(-len(stats) // columns))
    figure = _figure(3.4 * columns, 2.7 * rows + 0.5)
    figure.suptitle(f"{assignment}: points per question ({len(stats[0].scores) if stats else 0} submissions)",
                    fontsize=12)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for index, (axis, s) in enumerate(zip(axes, stats)):
        positions, counts, width = _score_bins(s.scores, s.max_score)
        axis.bar(positions, counts, width=width, color=_colours([p / s.max_score if s.max_score else 0
                                                                 for p in positions]),
                 edgecolor="#222222", linewidth=0.6)
        average = f"mean {stat(mean(s.scores))} of {number(s.max_score)}" if s.scores else "no submissions"
        axis.set_title(f"{s.question}\n{average}", fontsize=10)
        axis.set_xlabel("points", fontsize=9)
        if index % columns == 0:
            axis.set_ylabel("students", fontsize=9)
        if len(positions) <= 12:
            axis.set_xticks(positions, [number(p) for p in positions])
        axis.set_xlim(-0.6 * width - 0.05 * s.max_score, s.max_score + 0.6 * width + 0.05 * s.max_score)
        axis.set_ylim(0, max(counts + [1]) * 1.15)
        _integer_counts(axis)
        _style(axis)
    for axis in axes[len(stats):]:
        axis.set_visible(False)
    return _save(figure, path)


def plot_totals(grades: Grades, path: Path | str) -> Path:
    """Per assignment: histogram of final scores, with the mean and the median."""
    import numpy as np
    names = grades.assignments
    columns = min(2, len(names))
    rows = -(-len(names) // columns)
    figure = _figure(5.2 * columns, 3.2 * rows + 0.4)
    figure.suptitle("Final score per assignment (after late penalties)", fontsize=12)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for index, (axis, assignment) in enumerate(zip(axes, names)):
        totals = [t for t in grades.totals[assignment] if t.submitted_something]
        finals = [t.final_score for t in totals]
        top = totals[0].max_score if totals else max((t.max_score for t in grades.totals[assignment]), default=1)
        top = top or 1
        width = 1.0 if top <= 20 else top / 20
        # bins centred on whole points: a 7.2 after a late penalty counts as "about 7"
        edges = np.arange(-width / 2, top + width, width)
        counts, _, _ = axis.hist(finals, bins=edges, color=BAR_COLOUR, edgecolor="white", linewidth=0.8)
        if finals:
            axis.axvline(mean(finals), color=MEAN_COLOUR, linewidth=2.2, label=f"mean {stat(mean(finals))}")
            axis.axvline(median(finals), color=MEDIAN_COLOUR, linewidth=2.2, linestyle="--",
                         label=f"median {stat(median(finals))}")
            axis.legend(fontsize=8, frameon=False, loc="upper left", ncols=2)
        axis.set_ylim(0, max(list(counts) + [1]) * 1.3)
        axis.set_title(f"{assignment} ({len(finals)} submissions)", fontsize=10)
        axis.set_xlabel(f"final score (of {number(top)} points)", fontsize=9)
        if index % columns == 0:
            axis.set_ylabel("students", fontsize=9)
        axis.set_xlim(-width / 2, top + width / 2)
        _integer_counts(axis)
        _style(axis)
    for axis in axes[len(names):]:
        axis.set_visible(False)
    return _save(figure, path)


def plot_hardest(stats: list[QuestionStats], path: Path | str) -> Path:
    """Horizontal bars: mean fraction of points per question, hardest at the top."""
    figure = _figure(8, 1.2 + 0.42 * max(len(stats), 1))
    axis = figure.subplots()
    if not stats:
        axis.text(0.5, 0.5, "no graded questions", ha="center", va="center", fontsize=11)
        axis.set_axis_off()
        return _save(figure, path)
    labels = [f"{s.question}  ({s.assignment})" for s in stats]
    fractions = [s.mean_fraction for s in stats]
    positions = range(len(stats))
    axis.barh(positions, [100 * f for f in fractions], color=_colours(fractions), edgecolor="#222222",
              linewidth=0.6)
    for y, s in zip(positions, stats):
        axis.text(100 * s.mean_fraction + 1, y, f"{100 * s.mean_fraction:.0f}%  (n={len(s.scores)})",
                  va="center", fontsize=8)
    axis.set_yticks(list(positions), labels, fontsize=9)
    axis.invert_yaxis()
    axis.set_xlim(0, 115)
    axis.set_xticks([0, 25, 50, 75, 100])
    axis.set_xlabel("mean points, % of the question's maximum", fontsize=9)
    axis.set_title("Hardest questions (lowest mean score first)", fontsize=12)
    _style(axis)
    return _save(figure, path)


def shorten(message: str, width: int = 58, lines: int = 2) -> str:
    """A message wrapped to `lines` lines of `width` characters, cut with an ellipsis."""
    wrapped = textwrap.wrap(message, width=width) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines - 1] + [wrapped[lines - 1][:width - 1].rstrip() + "…"]
    return "\n".join(wrapped)


def plot_diagnostics(found: list[Diagnostic], path: Path | str) -> Path:
    """Horizontal bars: students per failure message, most frequent at the top."""
    figure = _figure(10, 1.3 + 0.62 * max(len(found), 1))
    axis = figure.subplots()
    if not found:
        axis.text(0.5, 0.5, "no failure messages: every graded question passed", ha="center", va="center",
                  fontsize=11)
        axis.set_axis_off()
        return _save(figure, path)
    labels = [f"{shorten(d.message)}\n[{d.assignment} / {d.question}]" for d in found]
    positions = range(len(found))
    axis.barh(positions, [d.count for d in found], color=BAR_COLOUR, height=0.65)
    for y, d in zip(positions, found):
        axis.text(d.count, y, f" {d.count}", va="center", fontsize=9)
    axis.set_yticks(list(positions), labels, fontsize=8)
    axis.invert_yaxis()
    axis.set_xlim(0, max(d.count for d in found) * 1.12 + 0.5)
    axis.xaxis.get_major_locator().set_params(integer=True)
    axis.set_xlabel("students who got the message", fontsize=9)
    axis.set_title(f"Most frequent diagnostics (top {len(found)})", fontsize=12)
    _style(axis)
    return _save(figure, path)


# -- text ---------------------------------------------------------------------------

def _submissions(grades: Grades) -> list[Total]:
    return [t for a in grades.assignments for t in grades.totals[a] if t.submitted_something]


def flag_rows(grades: Grades) -> Iterator[list]:
    for total in _submissions(grades):
        for flag in (total.result.flags if total.result else []):
            yield [total.student, total.assignment, flag.notebook, flag.cell, flag.line, flag.rule,
                   flag.reason, flag.code]


def problems(grades: Grades) -> list[tuple[str, str, str]]:
    """[(student, assignment, what)] for submissions not graded normally or with faults."""
    found = []
    for total in _submissions(grades):
        faults = list(total.result.faults) if total.result else []
        if total.status != "graded":
            found.append((total.student, total.assignment,
                          total.status + (f" (faults: {', '.join(faults)})" if faults else "")))
        elif faults:
            found.append((total.student, total.assignment, f"graded, but the process failed: {', '.join(faults)}"))
    return found


def summary_text(grades: Grades, hardest: list[QuestionStats], found: list[Diagnostic], images: Iterable[Path | str],
                 checks: Sequence[CheckStats] = ()) -> str:
    lines = ["Grading report", "==============", ""]
    submitted = _submissions(grades)
    students = sorted({t.student for t in submitted})
    lines.append(f"Students graded: {len(students)} of {len(grades.roster)} on the roster "
                 f"({len(submitted)} submissions)")
    lines.append("")
    for assignment in grades.assignments:
        totals = grades.totals[assignment]
        done = [t for t in totals if t.submitted_something]
        top = totals[0].max_score if totals else 0
        lines.append(f"{assignment} ({number(top)} points)")
        lines.append(f"  submissions: {len(done)} of {len(totals)} students; "
                     f"graded normally: {sum(1 for t in done if t.status == 'graded')}; "
                     f"late: {sum(1 for t in done if t.late_days)}")
        if done:
            finals = [t.final_score for t in done]
            raws = [t.raw_score for t in done]
            lines.append(f"  final score: mean {stat(mean(finals))}, median {stat(median(finals))} "
                         f"(before late penalties: mean {stat(mean(raws))}, median {stat(median(raws))})")
            stats = [s for s in question_stats(grades, assignment) if s.max_score]
            if stats:
                hard = min(stats, key=lambda s: s.mean_fraction)
                lines.append(f"  hardest question: {hard.question} "
                             f"(mean {stat(mean(hard.scores))} of {number(hard.max_score)}, "
                             f"{100 * hard.mean_fraction:.0f}%)")
        absent = [t.student for t in totals if not t.submitted_something]
        if absent:
            lines.append(textwrap.fill(f"  no submission ({len(absent)}): {', '.join(absent)}", width=88,
                                       subsequent_indent="    "))
        lines.append("")
    if hardest:
        h = hardest[0]
        lines.append(f"Hardest question overall: {h.assignment} / {h.question} "
                     f"({100 * h.mean_fraction:.0f}% of points on average)")
        lines.append("")
    lines.append("Checks most often failed (failed / graded: check [assignment / question], points):")
    for c in checks:
        lines.append(f"  {c.failed:3d} / {c.graded:<3d}: {c.check} [{c.assignment} / {c.question}], "
                     f"{number(c.points)} pt")
    if not checks:
        lines.append("  none")
    lines.append("")
    lines.append("Most frequent diagnostics (students: message [assignment / question]):")
    for d in found:
        lines.append(f"  {d.count:3d}: {d.message} [{d.assignment} / {d.question}]")
    if not found:
        lines.append("  none")
    lines.append("")
    trouble = problems(grades)
    lines.append(f"Problems: submissions not graded normally ({len(trouble)}):")
    for student, assignment, what in trouble:
        lines.append(f"  {student}  {assignment}: {what}")
    if not trouble:
        lines.append("  none")
    lines.append("")
    flags = list(flag_rows(grades))
    lines.append(f"Review flags: code an instructor should look at ({len(flags)}; also in flags.csv):")
    by_student = defaultdict(list)
    for row in flags:
        by_student[row[0]].append(row)
    for student in sorted(by_student):
        lines.append(f"  {student}")
        for _, assignment, notebook, cell, line, rule, reason, code in by_student[student]:
            lines.append(f"    {assignment} / {notebook}, cell {cell}, line {line}: [{rule}] {reason}")
            for code_line in str(code).splitlines() or [""]:
                lines.append(f"      | {code_line}")
    if not flags:
        lines.append("  none")
    lines.append("")
    lines.append("Plots: " + ", ".join(Path(p).name for p in images))
    return "\n".join(lines) + "\n"


def write_report(config: CourseConfig, grades: Grades) -> list[Path]:
    """Write the PNGs, summary.txt and flags.csv; returns their paths."""
    folder = config.reports
    folder.mkdir(parents=True, exist_ok=True)
    results = [t.result for t in _submissions(grades) if t.result is not None]
    found = diagnostics(results)
    hardest = hardest_questions(grades)
    images = [plot_questions(question_stats(grades, a), a, folder / f"questions_{a}.png")
              for a in grades.assignments]
    images.append(plot_totals(grades, folder / "totals.png"))
    images.append(plot_hardest(hardest, folder / "hardest_questions.png"))
    images.append(plot_diagnostics(found, folder / "diagnostics.png"))
    write_atomic(folder / "summary.txt", summary_text(grades, hardest, found, images, failed_checks(results)))
    write_atomic(folder / "flags.csv", csv_text(FLAG_COLUMNS, flag_rows(grades)))
    return images + [folder / "summary.txt", folder / "flags.csv"]
