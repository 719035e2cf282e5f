"""mkdocs hooks (mkdocs.yml `hooks:`): fill docs/cli.md's reference section with the live `--help` of every
`infereco` command, so the page can never disagree with the parser.

The placeholder line `<!-- cli-help -->` in a page is replaced by one section per subcommand.
"""

from __future__ import annotations

import os

PLACEHOLDER = "<!-- cli-help -->"


def cli_reference() -> str:
    """Markdown: `infereco --help` and `infereco COMMAND --help` for every registered subcommand."""
    os.environ["COLUMNS"] = "100"  # argparse wraps help to the terminal width; fix it for reproducible pages
    from infereco.cli.main import build_parser

    parser = build_parser()
    parts = ["### `infereco --help`", "", "```text", parser.format_help().rstrip(), "```", ""]
    sub = next((a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"), None)
    for name, p in sub.choices.items() if sub is not None else []:
        parts += [f"### `infereco {name}`", "", "```text", p.format_help().rstrip(), "```", ""]
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:  # the mkdocs hook signature
    if PLACEHOLDER in markdown:
        markdown = markdown.replace(PLACEHOLDER, cli_reference())
    return markdown
