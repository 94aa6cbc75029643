"""`roster`: students from a CSV file into nbgrader's gradebook."""
import pytest
from nbgrader.api import Gradebook

from autograder.cli import main
from autograder.config import load_config
from autograder.roster import RosterError, import_roster, read_roster


@pytest.fixture
def course(tmp_path):
    return tmp_path / "course"


def students(course):
    with Gradebook(load_config(course).gradebook_url) as gradebook:
        return {s.id: (s.first_name, s.last_name, s.email, s.lms_user_id) for s in gradebook.students}


def write(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return str(path)


def test_roster_upserts_students_and_reports_counts(course, tmp_path, capsys):
    first = write(tmp_path / "roster.csv",
                  "Student ID,First Name,Last Name,E-mail,Canvas User ID,Section\n"
                  "alice,Alice,Smith,alice@example.org,111,A\n"
                  "bob,Bob,Jones,bob@example.org,,B\n")
    assert main(["--course", str(course), "roster", first]) == 0
    assert "2 added, 0 updated, 0 unchanged, 0 refused" in capsys.readouterr().out
    assert students(course) == {"alice": ("Alice", "Smith", "alice@example.org", "111"),
                                "bob": ("Bob", "Jones", "bob@example.org", None)}

    second = write(tmp_path / "roster2.csv",
                   "id;email;lms_user_id\n"
                   "alice;alice@example.org;111\n"
                   "bob;;222\n"
                   "carol;carol@example.org;333\n")
    assert main(["--course", str(course), "roster", second]) == 0
    assert "1 added, 1 updated, 1 unchanged, 0 refused" in capsys.readouterr().out
    found = students(course)
    assert found["bob"] == ("Bob", "Jones", "bob@example.org", "222")  # an empty cell keeps the value
    assert found["carol"] == (None, None, "carol@example.org", "333")


def test_bad_rows_are_reported_with_line_numbers_and_the_others_imported(course, tmp_path, capsys):
    path = write(tmp_path / "roster.csv",
                 "username,first_name,email,lms_user_id\n"
                 "alice,Alice,alice@example.org,111\n"
                 "bad id,Bad,,\n"
                 ",Nobody,,\n"
                 "\n"
                 "dave,Dave,not-an-address,\n"
                 "alice,Alice again,,\n"
                 "erin,Erin,,111\n"
                 "../x,Evil,,\n"
                 "frank,Frank,,\n")
    assert main(["--course", str(course), "roster", path]) == 1
    out = capsys.readouterr().out
    refused = dict(line.split(": refused: ") for line in out.splitlines() if ": refused: " in line)
    expected = {3: "invalid student id 'bad id'", 4: "no student id", 6: "email 'not-an-address' is not an address",
                7: "student 'alice' already on line 2", 8: "lms_user_id '111' already given to 'alice'",
                9: "invalid student id '../x'"}
    assert sorted(refused) == [f"{path}:{line}" for line in sorted(expected)]
    for line, reason in expected.items():
        assert refused[f"{path}:{line}"].startswith(reason)
    assert "2 added, 0 updated, 0 unchanged, 6 refused" in out
    assert sorted(students(course)) == ["alice", "frank"]


def test_a_file_that_cannot_be_used_writes_nothing(course, tmp_path, capsys):
    no_id = write(tmp_path / "names.csv", "Student,Email\nSmith, Alice,alice@example.org\n")
    assert main(["--course", str(course), "roster", no_id]) == 2
    assert "no student id column" in capsys.readouterr().err
    assert not (course / "gradebook.db").exists()
    with pytest.raises(RosterError, match="both look like id"):
        read_roster(write(tmp_path / "two.csv", "id,Student ID\na,b\n"))
    with pytest.raises(RosterError, match="not UTF-8"):
        read_roster(write(tmp_path / "latin.csv", "id,first_name\nzoe,Zo\u00eb\n", encoding="latin-1"))
    with pytest.raises(RosterError, match="empty"):
        read_roster(write(tmp_path / "empty.csv", "\n\n"))
    with pytest.raises(RosterError, match="not found"):
        read_roster(tmp_path / "missing.csv")


def test_excel_csv_with_bom_tabs_and_extra_columns(course, tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes("\ufeffLogin ID\tSurname\tGiven name\tNotes\nzoe\tM\u00fcller\tZo\u00eb\tlate joiner\n".encode())
    roster = read_roster(path)
    assert roster.errors == [] and roster.ignored_columns == ["Notes"]
    assert import_roster(load_config(course), roster) == (1, 0, 0)
    assert students(course) == {"zoe": ("Zo\u00eb", "M\u00fcller", None, None)}


def test_check_only_writes_nothing(course, tmp_path, capsys):
    path = write(tmp_path / "roster.csv", "id\nalice\n")
    assert main(["--course", str(course), "roster", path, "--check"]) == 0
    assert "1 rows good, 0 refused" in capsys.readouterr().out
    assert not (course / "gradebook.db").exists()


def test_the_student_id_rule_is_checked_on_the_whole_cell(course, tmp_path, capsys):
    """One rule for every way in (autograder.submissions.STUDENT_ID): refused, never repaired."""
    long_id = "a" * 65
    path = write(tmp_path / "roster.csv",
                 "id,first_name\n"
                 "carol_,Carol\n"
                 '"carol\n",Carol with a newline\n'
                 "..,Dots\n"
                 ".git,Git\n"
                 "a+b,Plus\n"
                 f"{long_id},Long\n"
                 ",Empty\n"
                 "a@b.org,Mail\n"
                 f"{'b' * 64},Longest\n"
                 "CAROL_,Shouting\n")
    assert main(["--course", str(course), "roster", path]) == 1
    out = capsys.readouterr().out
    reasons = [line.split(": refused: ", 1)[1] for line in out.splitlines() if ": refused: " in line]
    expected = ["invalid student id 'carol\\n'", "invalid student id '..'", "invalid student id '.git'",
                "invalid student id 'a+b'", f"invalid student id '{long_id}'", "no student id",
                "student 'CAROL_' differs only in case from 'carol_'"]
    assert len(reasons) == len(expected), out
    for reason, start in zip(reasons, expected):
        assert reason.startswith(start), (reason, start)
    assert sorted(students(course)) == sorted(["a@b.org", "b" * 64, "carol_"])
