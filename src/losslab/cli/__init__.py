"""The `losslab` command line: a thin shell over the library (parse -> compute -> render).

`losslab.cli.app.app` is the typer application, `main()` the console script's entry point.
"""
