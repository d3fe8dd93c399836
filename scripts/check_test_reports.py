"""Fail unless every JUnit report exists, ran tests, and none failed or skipped.

A skipped test is not a pass: `make test` exits non-zero when any runner
(jest, pytest, galata) skipped a test or ran none.
"""

import sys
import xml.etree.ElementTree as ET


def totals(path):
    """Return (tests, failures, errors, skipped) summed over a JUnit XML file."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall(".//testsuite")
    t = f = e = s = 0
    for suite in suites:
        cases = suite.findall("testcase")
        t += len(cases)
        f += sum(1 for c in cases if c.find("failure") is not None)
        e += sum(1 for c in cases if c.find("error") is not None)
        s += sum(1 for c in cases if c.find("skipped") is not None)
    return t, f, e, s


def main(paths):
    bad = False
    all_t = all_f = all_s = 0
    for path in paths:
        try:
            t, f, e, s = totals(path)
        except (OSError, ET.ParseError) as exc:
            print(f"{path}: no readable report ({exc})")
            bad = True
            continue
        print(f"{path}: {t} tests, {f + e} failed, {s} skipped")
        all_t, all_f, all_s = all_t + t, all_f + f + e, all_s + s
        if t == 0 or f or e or s:
            bad = True
    print(f"{all_t - all_f - all_s} passed, {all_f} failed, {all_s} skipped")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
