"""The Gradio chat UI (arrives with its own issue); pure render helpers apart from gradio calls."""
