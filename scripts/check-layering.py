#!/usr/bin/env python3
"""Checks every #include of src/ against the table of ARCHITECTURE.md.

Usage: check-layering.py [ROOT]   (ROOT holds ARCHITECTURE.md and src/; default: this repository)

The table `| folder | what | may include |` is the only source of the rules. In the third cell,
each name in backticks is what the row's folder may include: a folder (`util`: all its headers)
or one header (`target/target.hpp`: that file only). Words outside backticks are for readers. A
folder always may include its own headers. Files directly in src/ (main.cpp) are in no folder
and are not checked; neither is anything outside src/.

Prints one line per problem and exits 1 when there is any:
  src/<file>:<line>: <folder> may not include "<header>" (ARCHITECTURE.md allows: ...)
It also fails for a folder of src/ without a row, an include of a folder the table does not
name, a project header included with <...>, a backticked name that is no folder of the table,
and a one-header allowance that no file of the folder uses any more (a stale exception). A row
whose folder does not exist yet is fine: it has no files to check.
"""

import os
import posixpath
import re
import sys

TABLE_HEADER = re.compile(r"^\|\s*folder\s*\|\s*what\s*\|\s*may include\s*\|\s*$")
FOLDER_CELL = re.compile(r"^`([a-z0-9_]+)/`$")
BACKTICKED = re.compile(r"`([^`]*)`")
NAME = re.compile(r"^[a-z0-9_]+(/[A-Za-z0-9_./-]+)?$")
QUOTED_INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
ANGLE_INCLUDE = re.compile(r"^\s*#\s*include\s*<([^>]+)>")
SOURCE_SUFFIXES = (".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx", ".inl", ".ipp")


class Row:
    def __init__(self, folder, line):
        self.folder = folder
        self.line = line  # line number in ARCHITECTURE.md
        self.folders = []  # folders whose headers it may all include
        self.headers = []  # single headers it may include, as written

    def allows(self, header):
        return header.split("/", 1)[0] in self.folders or header in self.headers

    def describe(self):
        names = self.folders + self.headers
        return ", ".join(names) if names else "nothing of the project"


def read_table(path, problems):
    """Returns the rows of the table by folder name; appends to problems what it cannot read."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        problems.append(f"ARCHITECTURE.md: cannot read it: {e.strerror}")
        return {}
    start = next((i for i, line in enumerate(lines) if TABLE_HEADER.match(line)), None)
    if start is None:
        problems.append('ARCHITECTURE.md: no table "| folder | what | may include |"')
        return {}
    rows = {}
    for i in range(start + 2, len(lines)):  # after the header and its |---| line
        line = lines[i]
        if not line.startswith("|"):
            break
        where = f"ARCHITECTURE.md:{i + 1}"
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        folder = FOLDER_CELL.match(cells[0]) if len(cells) == 3 else None
        if not folder:
            problems.append(f"{where}: a row is | `folder/` | what | may include |")
            continue
        row = Row(folder.group(1), i + 1)
        if row.folder in rows:
            problems.append(f"{where}: a second row for {row.folder}/")
        for name in BACKTICKED.findall(cells[2]):
            if not NAME.match(name):
                problems.append(f"{where}: `{name}` is neither a folder nor folder/header")
            elif "/" in name:
                row.headers.append(name)
            else:
                row.folders.append(name)
        rows[row.folder] = row
    if not rows:
        problems.append("ARCHITECTURE.md: the table has no rows")
    for row in rows.values():
        for name in row.folders + row.headers:
            if name.split("/", 1)[0] not in rows:
                problems.append(
                    f"ARCHITECTURE.md:{row.line}: {row.folder} may include `{name}`, "
                    "but the table has no such folder")
    return rows


def source_files(folder_dir):
    for parent, dirs, files in os.walk(folder_dir):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(SOURCE_SUFFIXES):
                yield os.path.join(parent, name)


def check(root):
    problems = []
    rows = read_table(os.path.join(root, "ARCHITECTURE.md"), problems)
    if not rows:
        return problems
    src = os.path.join(root, "src")
    if not os.path.isdir(src):
        return problems + ["src/: no such folder"]
    folders = sorted(name for name in os.listdir(src)
                     if os.path.isdir(os.path.join(src, name)) and not name.startswith("."))
    used_headers = set()  # (folder, header) of every include a row allows
    for folder in folders:
        row = rows.get(folder)
        if row is None:
            problems.append(f"src/{folder}/: no row in ARCHITECTURE.md's table; add one that "
                            "says what it may include")
            continue
        for path in source_files(os.path.join(src, folder)):
            shown = os.path.relpath(path, root).replace(os.sep, "/")
            with open(path, encoding="utf-8", errors="replace") as f:
                for number, line in enumerate(f, start=1):
                    angle = ANGLE_INCLUDE.match(line)
                    if angle and os.path.isfile(os.path.join(src, angle.group(1))):
                        problems.append(f'{shown}:{number}: include the project header '
                                        f'"{angle.group(1)}" with quotes, not <...>')
                    quoted = QUOTED_INCLUDE.match(line)
                    if not quoted or "/" not in quoted.group(1):
                        continue  # a header beside the file, or not an include
                    header = posixpath.normpath(quoted.group(1))
                    target = header.split("/", 1)[0]
                    if target not in rows:
                        problems.append(f'{shown}:{number}: "{header}" is in no folder of '
                                        "ARCHITECTURE.md's table")
                    elif target != folder and not row.allows(header):
                        problems.append(f'{shown}:{number}: {folder} may not include "{header}" '
                                        f"(ARCHITECTURE.md allows: {row.describe()})")
                    else:
                        used_headers.add((folder, header))
    for row in rows.values():
        if row.folder not in folders:
            continue
        for header in row.headers:
            if (row.folder, header) not in used_headers:
                problems.append(f"ARCHITECTURE.md:{row.line}: {row.folder} may include "
                                f"`{header}`, but none of its files does; remove it from the row")
    return problems


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith("-")):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    root = argv[1] if len(argv) == 2 else os.path.join(os.path.dirname(__file__), "..")
    problems = check(os.path.abspath(root))
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
