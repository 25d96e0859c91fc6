"""Writes a generated report between its <!-- NAME:begin/end --> markers in a Markdown file,
keeping the rest of the file (both bench.sh reports share docs/benchmarks.md)."""
import os


def write_section(out_file: str, marker: str, section: str) -> None:
    begin, end = "<!-- %s:begin -->" % marker, "<!-- %s:end -->" % marker
    block = "%s\n%s\n%s" % (begin, section.rstrip(), end)
    old = open(out_file).read() if os.path.exists(out_file) else "# Benchmarks\n"
    if begin in old and end in old:
        new = old[:old.index(begin)] + block + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    os.makedirs(os.path.dirname(out_file) or ".", exist_ok=True)
    open(out_file, "w").write(new)
