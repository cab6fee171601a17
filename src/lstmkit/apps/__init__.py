"""The jobs behind the CLI: forecast, classify, textgen. Each is importable without argparse
side effects; the ``*_cli`` modules hold the command-line wiring."""
