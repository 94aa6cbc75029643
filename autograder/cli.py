"""python -m autograder: release exercises and grade submissions."""
import argparse
import sys

from autograder.course import EXERCISES_DIR


def cmd_release(args):
    from autograder.release import release

    for path in release(args.assignments or None):
        print(f"released {path.relative_to(EXERCISES_DIR.parent)}")
    return 0


def cmd_grade(args):
    from autograder.grading import Grader

    grader = Grader(args.assignment, args.out)
    rows = grader.grade_all(args.submissions)
    students = sorted({row["student_id"] for row in rows})
    problems = sorted({row["student_id"] for row in rows if row["status"] != "graded"})
    print(f"graded {len(students)} submissions of {args.assignment}; "
          f"{len(problems)} could not be graded normally"
          + (f" ({', '.join(problems)})" if problems else ""))
    print(f"grades: {grader.out / 'grades.csv'}\nfeedback: {grader.out / 'feedback'}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser(
        "release", help="regenerate exercises/ from solutions/",
        description="Regenerate the student notebooks in exercises/ from the nbgrader "
                    "source notebooks in solutions/ (solutions and hidden tests removed).")
    release.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    release.set_defaults(run=cmd_release)

    grade = commands.add_parser(
        "grade", help="autograde a folder of submissions",
        description="Autograde every submission in SUBMISSIONS (laid out "
                    "STUDENT_ID/NOTEBOOK.ipynb); write OUT/grades.csv and "
                    "OUT/feedback/STUDENT_ID/NOTEBOOK.html. Broken submissions get rows "
                    "with a reason in the status column; the exit code is 0 when every "
                    "submission got its rows.")
    grade.add_argument("assignment", help="assignment id (a folder of solutions/)")
    grade.add_argument("submissions", help="folder of STUDENT_ID/NOTEBOOK.ipynb")
    grade.add_argument("--out", required=True, help="output folder")
    grade.set_defaults(run=cmd_grade)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
