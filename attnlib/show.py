"""Show reference code inside a chapter, so the book never keeps a second copy."""
import inspect


def show_source(obj):
    """Display the source of a function or class from attnlib, highlighted.

    In a notebook this renders as a code block; elsewhere it returns the text.
    """
    source = inspect.getsource(obj)
    try:
        from IPython.display import Code
    except ImportError:  # plain Python: just hand back the text
        return source
    return Code(source, language="python")
