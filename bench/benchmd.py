"""BENCHMARKS.md: each benchmark owns a block between its begin and end
markers, rewritten whole by its run (appended the first time)."""

import os
import re

PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "BENCHMARKS.md")


def write_block(lines):
    """lines: the block, its first line the begin marker, its last the end
    marker. Replaces that block in BENCHMARKS.md and prints it."""
    begin, end = lines[0], lines[-1]
    text = open(PATH).read() if os.path.exists(PATH) else "# Benchmarks\n\n"
    block = "\n".join(lines)
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda m: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(PATH, "w") as f:
        f.write(text)
    print(block)
