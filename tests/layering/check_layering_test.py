#!/usr/bin/env python3
"""Tests of scripts/check-layering.py on the trees beside this file.

good/ keeps to its table; bad/ has one include its row does not allow. The other cases copy
good/ into a temporary folder and break it one way each.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, "..", "..", "scripts", "check-layering.py")


def run_checker(root):
    done = subprocess.run([sys.executable, CHECKER, root], capture_output=True, text=True,
                          timeout=60)
    return done.returncode, done.stdout + done.stderr


class CheckLayeringTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = os.path.join(self.tmp.name, "tree")
        shutil.copytree(os.path.join(HERE, "good"), self.root)

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, path, text):
        path = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def edit(self, path, old, new):
        with open(os.path.join(self.root, path), encoding="utf-8") as f:
            text = f.read()
        self.assertIn(old, text)
        self.write(path, text.replace(old, new))

    def assert_fails_with(self, expected):
        code, output = run_checker(self.root)
        self.assertEqual(code, 1, output)
        self.assertEqual(output.strip(), expected)

    def test_passes_a_tree_that_keeps_to_its_table(self):
        # Also: a row of a folder not yet in src/, <sys/...> system headers, a header beside
        # the file, src/main.cpp and tests/ including anything.
        code, output = run_checker(os.path.join(HERE, "good"))
        self.assertEqual((code, output), (0, ""))

    def test_names_the_file_and_line_of_an_include_the_row_does_not_allow(self):
        code, output = run_checker(os.path.join(HERE, "bad"))
        self.assertEqual(code, 1)
        self.assertEqual(output.strip(), 'src/low/clock.hpp:3: low may not include "mid/plan.hpp" '
                         "(ARCHITECTURE.md allows: nothing of the project)")

    def test_lists_what_the_row_allows(self):
        self.write("src/mid/late.cpp", '#include "mid/plan.hpp"\n#include "top/run.hpp"\n')
        self.assert_fails_with('src/mid/late.cpp:2: mid may not include "top/run.hpp" '
                               "(ARCHITECTURE.md allows: low, sys, top/model.hpp)")

    def test_finds_includes_in_subfolders(self):
        self.write("src/low/deep/inner.hpp", '#pragma once\n\n#include "top/model.hpp"\n')
        self.assert_fails_with('src/low/deep/inner.hpp:3: low may not include "top/model.hpp" '
                               "(ARCHITECTURE.md allows: nothing of the project)")

    def test_fails_for_a_folder_without_a_row(self):
        self.write("src/extra/thing.hpp", "#pragma once\n")
        self.assert_fails_with("src/extra/: no row in ARCHITECTURE.md's table; add one that "
                               "says what it may include")

    def test_fails_for_an_include_of_a_folder_the_table_does_not_name(self):
        self.write("src/top/more.cpp", '#include "nowhere/thing.hpp"\n')
        self.assert_fails_with(
            "src/top/more.cpp:1: \"nowhere/thing.hpp\" is in no folder of ARCHITECTURE.md's table")

    def test_fails_for_a_project_header_included_with_angle_brackets(self):
        self.write("src/top/more.cpp", "#include <low/clock.hpp>\n")
        self.assert_fails_with('src/top/more.cpp:1: include the project header "low/clock.hpp" '
                               "with quotes, not <...>")

    def test_fails_for_a_single_header_exception_no_file_uses(self):
        self.edit("src/mid/plan.hpp", '#include "top/model.hpp"\n', "")
        self.assert_fails_with("ARCHITECTURE.md:10: mid may include `top/model.hpp`, but none "
                               "of its files does; remove it from the row")

    def test_fails_for_a_row_that_names_no_folder_of_the_table(self):
        self.edit("ARCHITECTURE.md", "| every folder below: `low`, `mid` |",
                  "| every folder below: `low`, `mdi` |")
        self.assert_fails_with("ARCHITECTURE.md:11: top may include `mdi`, but the table has no "
                               "such folder\n"
                               'src/top/run.cpp:2: top may not include "mid/plan.hpp" '
                               "(ARCHITECTURE.md allows: low, mdi)")

    def test_fails_without_the_table(self):
        self.edit("ARCHITECTURE.md", "| folder | what | may include |", "| folder | what |")
        self.assert_fails_with('ARCHITECTURE.md: no table "| folder | what | may include |"')


if __name__ == "__main__":
    unittest.main()
