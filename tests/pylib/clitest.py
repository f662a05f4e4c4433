"""What the Python-driven tests that drive the real `hodu` share.

    from clitest import CliTest
    t = CliTest("denormals", __doc__)      # parses --hodu and --work
    t.run([t.hodu, "--build", ...])       # raises RuntimeError on failure
    ...
    return t.finish(errors)               # prints, cleans up, exit status

Exit status convention: 0 when every check held, 1 when one failed, 2 when
the test cannot start (no hodu, a missing Python package).  Nothing skips.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class CliTest:
    def __init__(self, name, doc, options=()):
        """`options`: more (flag, help) pairs, each taking a value, or
        (flag, help, default) for an optional one; their values land in
        self.options by the flag's name ("--rt" -> "rt")."""
        self.name = name
        ap = argparse.ArgumentParser(description=doc.split("\n")[0])
        ap.add_argument("--hodu", default=os.path.join(REPO, "build", "hodu"))
        ap.add_argument("--work", help="keep the files here (default: a temporary folder)")
        for flag, what, *default in options:
            ap.add_argument(flag, required=not default, default=default[0] if default else None, help=what)
        a = ap.parse_args()
        self.options = {o[0].lstrip("-").replace("-", "_"): getattr(a, o[0].lstrip("-").replace("-", "_"))
                        for o in options}
        if not os.access(a.hodu, os.X_OK):
            print(f"{name}: cannot start: no hodu at {a.hodu}", file=sys.stderr)
            sys.exit(2)
        self.hodu = a.hodu
        self.keep = a.work is not None
        self.work = a.work or tempfile.mkdtemp(prefix=f"hodu-{name}-")
        os.makedirs(self.work, exist_ok=True)

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    @staticmethod
    def run(cmd, timeout=300):
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit status {p.returncode}: {p.stderr.strip()}")
        return p

    @staticmethod
    def expect_fail(errors, what, cmd, needles, timeout=300):
        """Runs cmd, which must exit non-zero, not crash, and name every
        one of needles on stderr; each way it falls short goes to errors."""
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if p.returncode == 0:
            errors.append(f"{what}: succeeded, expected an error")
            return
        if p.returncode < 0 or "Segmentation" in p.stderr:
            errors.append(f"{what}: crashed ({p.returncode})")
        for n in needles:
            if n not in p.stderr:
                errors.append(f"{what}: message lacks '{n}': {p.stderr.strip()}")

    def finish(self, errors, summary=""):
        if not self.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        for e in errors:
            print(f"{self.name}: {e}", file=sys.stderr)
        print(f"{self.name}: {'FAILED' if errors else 'passed'}{summary}")
        return 1 if errors else 0
