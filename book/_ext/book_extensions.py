"""Small Sphinx fixes for this book.

Sphinx 7 registers every inline script (``add_js_file(None, body=...)``) twice:
once under the filename ``None`` and once under ``''``, so the two copies do
not compare equal and both are written into every page. The browser then logs
"Identifier 'THEBE_JS_URL' has already been declared". We normalise the
filename and drop the duplicates when each page is rendered.
"""


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for script in scripts:
        filename = getattr(script, "filename", None) or ""
        attributes = getattr(script, "attributes", {})
        key = (filename, tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
