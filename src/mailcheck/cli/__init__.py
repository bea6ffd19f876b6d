"""The ``mailcheck`` command line: a renderer of the library's results."""
