"""`python -m matcalc …` is the `matcalc` command."""
from .cli import run

run()
