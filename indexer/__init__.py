"""notes-qa engine: chunk Markdown notes, embed them, search them.

Importing this package is cheap: numpy, FAISS, bm25s, onnxruntime, torch and
sentence-transformers are imported inside the functions that need them.
"""

__version__ = "0.1.0"
