"""The web app and REST API (FastAPI): the same library calls as the CLI, no model logic."""
