"""Generative Models Explorer: a UI-free library of data, models, objectives and training.

Importing this package must never import streamlit (tests check it), so the same code
runs in the app, on the command line and on a GPU box with only torch + numpy.
"""

__version__ = "0.1.0"
