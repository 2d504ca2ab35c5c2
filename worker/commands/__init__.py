"""One module per ``chatmem`` subcommand."""
