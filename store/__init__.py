"""The paper store: readers turn files into papers, the library keeps them in Chroma.

Internal to litassist; the public surface is ``assistant``. Never imports ``assistant``.
"""
