"""``python -m autograder``: the command line, where the ``autograder`` script is not installed."""
from .cli import main

main()
