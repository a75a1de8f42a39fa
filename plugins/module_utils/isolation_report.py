# -*- coding: utf-8 -*-
# Copyright: airgap.aks_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reports of the isolation audit: JSON, a Markdown table, JUnit XML (one testcase per check).

``document(summary, scope, generated_at)`` is the one report every format renders; the renderers
are pure (string out), ``write_reports`` writes each file atomically (temporary name, then rename).
"""

from __future__ import annotations

import json
import os
import tempfile
import xml.etree.ElementTree as ET

FORMATS = ("json", "markdown", "junit")
EXTENSIONS = {"json": ".json", "markdown": ".md", "junit": ".xml"}
SCHEMA = "airgap.aks_inference/isolation-audit/v1"


def document(summary, scope, generated_at):
    """The report: what was audited, when, the verdict, every check and every finding."""
    return {
        "schema": SCHEMA,
        "generated_at": generated_at,
        "scope": scope,
        "fail_on": summary["fail_on"],
        "passed": summary["passed"],
        "counts": summary["counts"],
        "checks": summary["checks"],
        "findings": summary["findings"],
    }


def render_json(doc):
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _cell(value):
    text = " ".join(str(value if value is not None else "").split())
    return text.replace("\\", "\\\\").replace("|", "\\|") or " "


def render_markdown(doc):
    counts = doc["counts"]
    verdict = "PASSED: nothing above info" if doc["passed"] else "FAILED: findings above info"
    lines = [
        "# Isolation audit",
        "",
        "%s. Generated %s; fail on: %s." % (verdict, doc["generated_at"], doc["fail_on"]),
        "",
        "| critical | high | medium | low | info |",
        "|---:|---:|---:|---:|---:|",
        "| %(critical)d | %(high)d | %(medium)d | %(low)d | %(info)d |" % counts,
        "",
        "## Findings",
        "",
    ]
    if doc["findings"]:
        lines += ["| Severity | Check | Resource | Finding | Remediation |", "|---|---|---|---|---|"]
        for item in doc["findings"]:
            lines.append("| %s | %s | %s | %s | %s |" % (
                _cell(item["severity"]), _cell("%s %s" % (item["id"], item["title"])),
                _cell("`%s`" % item["resource_id"] if item["resource_id"] else "-"),
                _cell(item["detail"]), _cell(item["remediation"])))
    else:
        lines.append("No findings.")
    lines += ["", "## Checks", "", "| Check | Area | Status | Findings | Note |", "|---|---|---|---:|---|"]
    for check in doc["checks"]:
        lines.append("| %s | %s | %s | %d | %s |" % (
            _cell("%s %s" % (check["id"], check["title"])), _cell(check["area"]), _cell(check["status"]),
            check["findings"], _cell(check.get("reason") or "")))
    lines += ["", "## Scope", ""]
    for name, value in sorted(doc["scope"].items()):
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value) or "-"
        lines.append("- %s: %s" % (name, "`%s`" % value if value else "-"))
    return "\n".join(lines) + "\n"


def _finding_text(item):
    return "[%s] %s\n  resource: %s\n  remediation: %s" % (
        item["severity"], item["detail"], item["resource_id"] or "-", item["remediation"])


def render_junit(doc):
    """One testcase per check: failure for findings at or above fail_on (``low`` when fail_on is
    none), skipped for checks that could not run, findings below the threshold in system-out."""
    threshold = doc["fail_on"] if doc["fail_on"] != "none" else "low"
    rank = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
    suite = ET.Element("testsuite", name="isolation-audit", timestamp=doc["generated_at"], errors="0")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="fail_on", value=doc["fail_on"])
    for name, value in sorted(doc["scope"].items()):
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        ET.SubElement(props, "property", name=name, value=str(value or ""))
    tests = failures = skipped = 0
    for check in doc["checks"]:
        tests += 1
        case = ET.SubElement(suite, "testcase", classname="isolation_audit.%s" % check["area"],
                             name="%s %s" % (check["id"], check["title"]), time="0")
        mine = [f for f in doc["findings"] if f["id"] == check["id"]]
        bad = [f for f in mine if rank[f["severity"]] >= rank[threshold]]
        rest = [f for f in mine if f not in bad]
        if bad:
            failures += 1
            worst = bad[0]["severity"]
            failure = ET.SubElement(case, "failure", type=worst, message="%d finding(s) at or above %s: %s" % (
                len(bad), threshold, bad[0]["detail"]))
            failure.text = "\n\n".join(_finding_text(f) for f in bad)
        elif check["status"] == "skipped":
            skipped += 1
            ET.SubElement(case, "skipped", message=check.get("reason") or "not applicable")
        if rest:
            out = ET.SubElement(case, "system-out")
            out.text = "\n\n".join(_finding_text(f) for f in rest)
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    root = ET.Element("testsuites", name="airgap.aks_inference isolation audit", tests=str(tests),
                      failures=str(failures), errors="0", skipped=str(skipped))
    root.append(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


RENDERERS = {"json": render_json, "markdown": render_markdown, "junit": render_junit}


def _write_atomic(path, text):
    directory = os.path.dirname(path) or "."
    handle, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_reports(doc, directory, formats, name="isolation-audit"):
    """Write the report in each format to ``directory``; returns ``{format: path}``."""
    os.makedirs(directory, exist_ok=True)
    paths = {}
    for fmt in formats:
        path = os.path.join(directory, name + EXTENSIONS[fmt])
        _write_atomic(path, RENDERERS[fmt](doc))
        paths[fmt] = path
    return paths
