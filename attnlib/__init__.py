"""Reference code for the course *Attention, from RNNs to Transformers*.

Each mechanism is implemented once, in the module of the chapter that teaches
it; later chapters import it from here.

Convention used everywhere: rows are tokens. A sequence is an array of shape
``(n, d)``, a batch ``(batch, n, d)``; softmax runs over the last (key) axis;
masks are boolean with ``True`` = keep.
"""
