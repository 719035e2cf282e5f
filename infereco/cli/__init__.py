"""Command-line interface: `infereco SUBCOMMAND ...` (also `python -m infereco`)."""
