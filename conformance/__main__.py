"""``python -m conformance`` is ``dhome conformance``."""

from conformance.cli import app

app(prog_name="dhome conformance")
