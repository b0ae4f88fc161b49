"""The Gradio chat UI: ``ui.app`` lays it out, ``ui.handlers`` answers its events through the
library's public API, ``ui.render`` turns results into markdown and HTML (no gradio calls)."""
