"""Attack: answer a call with a reply whose JSON part holds millions of values.

A few MiB of JSON text become millions of objects in whoever parses it: the
judge once grew to 7.6 GiB parsing a 512 MiB reply. The judge counts a
reply's elements and refuses it before parsing.
"""


def sigmoid_forward(x):
    return [0] * 1_100_000
