"""The command line's user error, below the CLI and every module that adds a subcommand to it."""


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


__all__ = ["CliError"]
