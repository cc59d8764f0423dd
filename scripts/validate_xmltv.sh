#!/usr/bin/env bash
# Validates an XMLTV file against the XMLTV DTD with tv_validate_file (Debian's
# xmltv-util), installing the package first when the tool is missing.
#
#   scripts/validate_xmltv.sh guide.xml
#
# Exits with tv_validate_file's status (0: valid); 2 on wrong usage, 3 when the
# tool is missing and cannot be installed (no apt-get, not root, no network).
set -euo pipefail

if [ $# -ne 1 ] || [ ! -r "$1" ]; then
    echo "usage: $0 FILE.xml (a readable XMLTV file)" >&2
    exit 2
fi

if ! command -v tv_validate_file >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "tv_validate_file is missing and apt-get is not available: install xmltv-util" >&2
        exit 3
    fi
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo=(sudo -n); else
            echo "tv_validate_file is missing and installing xmltv-util needs root" >&2
            exit 3
        fi
    fi
    echo "installing xmltv-util for tv_validate_file…" >&2
    if ! { "${sudo[@]}" apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq xmltv-util; } >&2; then
        echo "could not install xmltv-util" >&2
        exit 3
    fi
    if ! command -v tv_validate_file >/dev/null 2>&1; then
        echo "xmltv-util is installed but tv_validate_file is not on PATH" >&2
        exit 3
    fi
fi

# The tool fetches the DTD from supplement.xmltv.org unless told otherwise: use the
# copy xmltv-util installs, so validation works offline (CI has no network).
args=()
for dtd in /usr/share/xmltv/xmltv.dtd /usr/share/sgml/xmltv/dtd/0.5/xmltv.dtd; do
    if [ -r "$dtd" ]; then
        args=(--dtd-file "$dtd")
        break
    fi
done
export XMLTV_SUPPLEMENT="${XMLTV_SUPPLEMENT:-/usr/share/xmltv}"

# tv_validate_file prints its findings and exits non-zero on an invalid file.
status=0
tv_validate_file "${args[@]}" "$1" || status=$?
exit "$status"
