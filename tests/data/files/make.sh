#!/bin/sh
# Regenerates the reader test fixtures from src/guide.fodt, a small document
# written for these tests (headings, a list, a table, a table of contents,
# automatic hyphenation, alternating running headers, page-number footers and
# a sentence that runs over a page break). Real producers make the files:
# LibreOffice writes the PDF, DOCX, EPUB and HTML; qpdf encrypts; Pillow writes
# the image-only "scans". CI does not run this: the outputs are committed.
#
# Needs: apt-get install libreoffice-writer-nogui hyphen-en-us qpdf
#        and a Python with pypdfium2 and Pillow (PY=/path/to/python).
set -eu
cd "$(dirname "$0")"
PY=${PY:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for fmt in pdf docx epub html; do
    soffice --headless "-env:UserInstallation=file://$tmp/profile" --convert-to "$fmt" --outdir . src/guide.fodt
done
# A one-page PDF with a user password ("secret"), AES-256.
qpdf --empty --pages guide.pdf 4 -- "$tmp/one.pdf"
qpdf --encrypt secret secret 256 -- "$tmp/one.pdf" encrypted.pdf
"$PY" make_scans.py
ls -l guide.* encrypted.pdf scanned.pdf garbage-layer.pdf
