#!/usr/bin/python3
"""Writes lvsync.yaml(5), the configuration file's reference, from the `///` doc comments of the types that parse it
(Sources/Config): the same text a reader of the code sees, so the page cannot drift from it. ops/install.sh runs it
(and the package ships its output); a test checks that every key the parsers accept appears in those comments.

    config-man.py REPO_ROOT DATE > lvsync.yaml.5
"""
import re
import sys

ROOT, DATE = sys.argv[1], sys.argv[2]

# The sections in the order a reader meets them in a file, with the type whose doc comment describes each.
SECTIONS = [
    ("THE DIRECTOR AND ITS PEERS", "PeeringConfig.swift", "PeeringConfig"),
    ("FAILOVER", "FailoverConfig.swift", "FailoverConfig"),
    ("CLUSTER", "ClusterConfig.swift", "ClusterConfig"),
    ("VIRTUAL SERVICES", "VirtualServicesConfig.swift", "VirtualServicesConfig"),
    ("HEALTH CHECKS", "HealthConfig.swift", "HealthConfig"),
    ("KERNEL", "KernelConfig.swift", "KernelConfig"),
]


def doc_comment(file, name):
    """The `///` lines right above `struct NAME` or `enum NAME` in Sources/Config/FILE, without the slashes."""
    lines = open(f"{ROOT}/Sources/Config/{file}").read().split("\n")
    for i, line in enumerate(lines):
        if re.match(rf"^(public )?(struct|enum) {name}\b", line):
            j = i
            while j > 0 and lines[j - 1].startswith("///"):
                j -= 1
            return [l[4:] if l.startswith("/// ") else l[3:] for l in lines[j:i]]
    sys.exit(f"config-man: no doc comment above {name} in {file}")


def roff_text(text):
    """Inline markup: `code` in bold, ``Symbol`` as plain words; escapes for roff."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = re.sub(r"``([^`]+)``", lambda m: m.group(1).split("/")[-1], text)
    text = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", text)
    return text


def section(title, lines):
    out = [f".SH {title}"]
    in_code = False
    paragraph = []

    def flush():
        if paragraph:
            out.append(".PP")
            out.append(roff_text(" ".join(paragraph)))
            paragraph.clear()

    for line in lines:
        if line.startswith("```"):
            if not in_code:
                flush()
                out += [".PP", ".RS 2", ".nf", ".ft CR"]
            else:
                out += [".ft R", ".fi", ".RE"]
            in_code = not in_code
            continue
        if in_code:
            escaped = line.replace("\\", "\\e").replace("-", "\\-")
            out.append(("\\&" + escaped) if escaped.startswith((".", "'")) else escaped)
        elif not line.strip():
            flush()
        else:
            paragraph.append(line.strip())
    flush()
    return out


page = [
    f'.TH LVSYNC.YAML 5 "{DATE}" "lvsync" "File Formats Manual"',
    ".SH NAME",
    "lvsync.yaml \\- the configuration of lvsync, IPVS connection mirroring and VIP failover for LVS directors",
    ".SH SYNOPSIS",
    "\\fB/etc/lvsync/lvsync.yaml\\fR",
    ".SH DESCRIPTION",
]
page += section("", doc_comment("LVSyncConfig.swift", "LVSyncConfig"))[1:]
page += [
    ".PP",
    "A file is checked as a whole when it is read: an unknown key, a value out of its range or a missing setting is",
    "refused with the file, the line and column and the key path, and \\fBlvsync run\\fR does not start (a reload",
    "keeps the running configuration). \\fBlvsync check\\fR \\fIFILE\\fR does the same checks and touches nothing.",
    "The sections below show every key, with its default where it has one.",
]
for title, file, name in SECTIONS:
    page += section(title, doc_comment(file, name))
page += [
    ".SH FILES",
    ".TP",
    "\\fB/etc/lvsync/lvsync.yaml\\fR",
    "the configuration lvsync.service starts \\fBlvsync run\\fR with",
    ".TP",
    "\\fB/usr/share/doc/lvsync/examples/\\fR",
    "commented configurations of a pair's two directors and of a cluster's three members",
    ".TP",
    "\\fB/etc/default/lvsync\\fR",
    "more options for \\fBlvsync run\\fR (LVSYNC_OPTIONS)",
    ".SH SEE ALSO",
    "\\fBlvsync\\fR(8), \\fBipvsadm\\fR(8), \\fBkeepalived.conf\\fR(5)",
]
print("\n".join(page))
