#!/usr/bin/env python3
"""Keeps the editor syntax files (editors/) in step with the language: every
keyword of the lexer (grammar/hoduscript.l), every dtype and every builtin
the checker knows (src/script/check.c) is named in the Vim syntax file and
the TextMate grammar, and the TextMate grammar is valid JSON whose
patterns compile as regular expressions.

    check_editors.py
"""
import json
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(*p):
    return open(os.path.join(REPO, *p)).read()


def main():
    lexer, check = read("grammar", "hoduscript.l"), read("src", "script", "check.c")
    words = set(re.findall(r'^"([a-z]+)"\s+\{ return HS_T_', lexer, re.M))
    words |= set(re.findall(r'\{"([a-z0-9]+)", HODU_DTYPE_', check))
    words |= set(re.findall(r'strcmp\(name, "([a-z_0-9]+)"\) == 0', check))
    words |= set(re.findall(r'\{"([a-z]+)", "[A-Z][a-z]+"\}', check))
    vim = read("editors", "vim", "syntax", "hodu.vim")
    tm_text = read("editors", "textmate", "hoduscript.tmLanguage.json")
    tm = json.loads(tm_text)
    for p in tm["patterns"]:
        re.compile(p["match"])
    missing = [(w, f) for w in sorted(words) for f, text in (("hodu.vim", vim), ("tmLanguage", tm_text))
               if not re.search(r"\b%s\b" % re.escape(w), text)]
    if len(words) < 40 or missing:
        print(f"FAIL: {len(words)} words; missing: {missing}")
        return 1
    print(f"check_editors: {len(words)} keywords, dtypes and builtins named in both files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
