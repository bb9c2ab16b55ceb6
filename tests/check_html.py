#!/usr/bin/env python3
"""check_html.py FILE: structural check of an nnspy HTML report (report/html.c).

Checks, with Python's html.parser only (no network, no browser):
  - well formed: every element closed in order (void elements excepted), one
    <html>, a <head> with <meta charset> and <title>, a <body>;
  - the sections: #header, #totals, and in every section.process the sections
    layers-macs, layers-time, latency, roofline and hardware;
  - each chart is an <svg> with at least one data mark (<rect>, <circle> or <path>
    of class "mark"), and there is at least one chart;
  - self-contained: no <script>, no on* event attribute, no src/href (or
    xlink:href) to an external URL, no url(...) or @import in CSS, no <iframe>,
    <object>, <embed>, <link> or <img>.
Exit status 0 when the page passes, 1 with one line per problem otherwise.
"""
import re
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}
PROCESS_PARTS = ("layers-macs", "layers-time", "latency", "roofline", "hardware")
FORBIDDEN_TAGS = {"script", "iframe", "object", "embed", "link", "img", "base"}
MARK_TAGS = {"rect", "circle", "path"}
EXTERNAL = re.compile(r"^\s*([a-z][a-z0-9+.-]*:|//)", re.I)  # any scheme, or protocol-relative


class Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.stack = []          # open elements: (tag, attrs)
        self.ids = set()
        self.seen = {}           # tag -> count
        self.processes = []      # one set of part classes per section.process
        self.svgs = []           # marks per <svg>
        self.has_charset = False
        self.in_style = False

    def problem(self, msg):
        line, col = self.getpos()
        self.problems.append(f"line {line}:{col}: {msg}")

    # -------------------------------------------------------------- elements
    def check_attrs(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.problem(f"<{tag}> has an event handler attribute {name}")
            if name in ("src", "href", "xlink:href", "action", "formaction", "poster",
                        "srcset", "data") and EXTERNAL.match(value) and not value.startswith("#"):
                self.problem(f"<{tag} {name}={value!r}>: external URL")
            if name == "style" and re.search(r"url\s*\(|@import", value, re.I):
                self.problem(f"<{tag}> style refers to a URL")
            if name == "id":
                if value in self.ids:
                    self.problem(f"duplicate id {value!r}")
                self.ids.add(value)
            if tag == "meta" and name == "charset":
                self.has_charset = True

    def start(self, tag, attrs, self_closing):
        # <title> in SVG is a tooltip; only the document's own title counts
        key = "head title" if tag == "title" and self.inside("head") else tag
        self.seen[key] = self.seen.get(key, 0) + 1
        if tag in FORBIDDEN_TAGS:
            self.problem(f"<{tag}> is not allowed in a self-contained report")
        self.check_attrs(tag, attrs)
        classes = (dict(attrs).get("class") or "").split()
        if tag == "section" and "process" in classes:
            self.processes.append(set())
        elif tag == "section" and self.processes and self.inside_process():
            self.processes[-1].update(classes)
        if tag == "svg":
            self.svgs.append(0)
        if tag in MARK_TAGS and "mark" in classes:
            if self.inside("svg"):
                self.svgs[-1] += 1
            else:
                self.problem(f"<{tag} class=mark> outside any <svg>")
        if tag == "style":
            self.in_style = True
        if not self_closing and tag not in VOID:
            self.stack.append((tag, classes))

    def inside(self, tag):
        return any(t == tag for t, _ in self.stack)

    def inside_process(self):
        return any(t == "section" and "process" in c for t, c in self.stack)

    def handle_starttag(self, tag, attrs):
        self.start(tag, attrs, False)

    def handle_startendtag(self, tag, attrs):
        # "<rect .../>" is a closed element in SVG; in HTML only void elements may be.
        if tag not in VOID and not self.inside("svg"):
            self.problem(f"<{tag}/> self-closed outside SVG")
        self.start(tag, attrs, True)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack:
            self.problem(f"</{tag}> closes nothing")
            return
        open_tag, _ = self.stack.pop()
        if open_tag != tag:
            self.problem(f"</{tag}> closes <{open_tag}>")
            # resynchronise: drop to the matching element if there is one
            while self.stack and self.stack[-1][0] != tag:
                self.stack.pop()
            if self.stack:
                self.stack.pop()
        if tag == "style":
            self.in_style = False

    def handle_data(self, data):
        if self.in_style and re.search(r"url\s*\(|@import", data, re.I):
            self.problem("CSS refers to a URL")

    # -------------------------------------------------------------- verdict
    def finish(self):
        self.close()
        if self.stack:
            self.problems.append("unclosed at end: " + " ".join(f"<{t}>" for t, _ in self.stack))
        for tag in ("html", "head", "body", "head title"):
            if self.seen.get(tag, 0) != 1:
                self.problems.append(f"expected one <{tag}>, found {self.seen.get(tag, 0)}")
        if not self.has_charset:
            self.problems.append("no <meta charset>")
        for section in ("header", "totals"):
            if section not in self.ids:
                self.problems.append(f"no section #{section}")
        if not self.processes:
            self.problems.append("no section.process")
        for i, parts in enumerate(self.processes):
            for part in PROCESS_PARTS:
                if part not in parts:
                    self.problems.append(f"process section {i}: no section.{part}")
        if not self.svgs:
            self.problems.append("no <svg> chart")
        for i, marks in enumerate(self.svgs):
            if marks == 0:
                self.problems.append(f"<svg> number {i} has no mark (rect/circle/path.mark)")
        return self.problems


def main():
    if len(sys.argv) != 2:
        print("usage: check_html.py FILE", file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        print(f"{sys.argv[1]}: not UTF-8: {e}")
        return 1
    if not text.lstrip().lower().startswith("<!doctype html>"):
        print(f"{sys.argv[1]}: no <!DOCTYPE html>")
        return 1
    checker = Checker()
    checker.feed(text)
    problems = checker.finish()
    for p in problems:
        print(f"{sys.argv[1]}: {p}")
    if not problems:
        print(f"{sys.argv[1]}: ok ({len(checker.svgs)} charts, "
              f"{sum(checker.svgs)} marks, {len(checker.processes)} processes)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
