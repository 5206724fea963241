"""``cart19 config``: print the full default configuration (or a file's, validated) as TOML."""

from __future__ import annotations

import typer

from cart19.cli.common import ConfigOpt, OutputOpt, command


def register(app: typer.Typer) -> None:
    @app.command(
        "config",
        help=(
            "Print the full configuration as TOML: the spec's defaults, or with --config a file's "
            "settings merged over them (validated). Save it, edit it, pass it with --config.\n\n"
            "\b\nExamples:\n  cart19 config > cart19.toml\n"
            "  cart19 config --config cart19.toml -o merged.toml\n"
            "  cart19 derive examples/events.csv --config cart19.toml"
        ),
    )
    @command
    def config(config_path: ConfigOpt = None, output: OutputOpt = None) -> int:
        from cart19.config import load_config, to_toml

        text = to_toml(load_config(config_path))
        if output is not None:
            from cart19.io.write import write_bytes

            write_bytes(output, text)
        else:
            typer.echo(text, nl=False)
        return 0
