"""Example tools in Python that interoperate with the Swift ones, with their names, addresses,
flags and output lines: ``python -m switchyard.examples.echo`` and ``... .ping``."""
