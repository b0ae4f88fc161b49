"""Prompt templates as files, with a strict loader (arrives with cited answers, issue 3)."""
