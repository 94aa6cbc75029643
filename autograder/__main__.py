import sys

# jsonschema (which nbformat imports) checks the "iri" string format with rfc3987_syntax when
# that is installed (jupyter-events pulls it in), and rfc3987_syntax compiles its grammars
# at import: about 2 s of CPU for every command. No schema the grader validates (notebooks,
# nbgrader's) uses that format, so the command line goes without it.
sys.modules.setdefault("rfc3987_syntax", None)

from autograder.cli import main  # noqa: E402

sys.exit(main())
