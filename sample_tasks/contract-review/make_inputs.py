"""Generate the contract-review inputs: fictional contracts as .docx, .pdf and .txt.

Stdlib only and deterministic (fixed zip timestamps, no random data), so re-running it gives the same
files. The binaries are committed too; run this only to change the contracts:

    python sample_tasks/contract-review/make_inputs.py [OUTDIR]

The .docx is a real Office Open XML package (a zip holding word/document.xml) and the .pdf a real
PDF with a Flate-compressed text stream, so reading either as plain text yields binary garbage. That
is the point of the Harvey story: the agent must learn a filetype workaround (unzip the XML, inflate
the PDF stream, or use a converter) and carry it across sessions.

Every party, person and address below is invented.
"""

from __future__ import annotations

import sys
import textwrap
import zipfile
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

# A contract is a title, a preamble and sections of (number, heading, body).
Section = tuple[str, str, str]

MSA_NORTHWIND: tuple[str, str, list[Section]] = (
    "MASTER SERVICES AGREEMENT",
    "This Master Services Agreement (the \"Agreement\") is made on 3 February 2025 between Northwind "
    "Analytics Ltd., 14 Quayside Row, Leeds (\"Provider\"), and Larkspur Retail Group, Inc., "
    "220 Alder Street, Portland (\"Customer\"). All names in this document are fictional.",
    [
        ("1.1", "Definitions", "\"Services\" means the data analytics services described in each "
         "Statement of Work. \"Deliverables\" means the reports and dashboards produced under it."),
        ("2.1", "Services", "Provider shall perform the Services with reasonable skill and care and "
         "in accordance with each Statement of Work signed by both parties."),
        ("3.1", "Fees", "Customer shall pay the fees set out in each Statement of Work."),
        ("3.2", "Payment Terms", "Invoices are payable within thirty (30) days of receipt. Late "
         "amounts bear interest at one percent (1%) per month."),
        ("9.1", "Confidentiality", "Each party shall keep the other party's Confidential "
         "Information secret and use it only to perform this Agreement."),
        ("11.1", "Term", "This Agreement begins on the Effective Date and continues for an initial "
         "term of two (2) years, renewing automatically for successive one (1) year terms."),
        ("11.2", "Termination for Convenience", "Customer may terminate this Agreement or any "
         "Statement of Work for convenience on ninety (90) days' prior written notice to Provider."),
        ("11.3", "Termination for Cause", "Either party may terminate this Agreement on written "
         "notice if the other party commits a material breach and fails to cure it within thirty "
         "(30) days after receiving notice describing the breach."),
        ("11.4", "Effect of Termination", "On termination Customer shall pay for Services performed "
         "up to the termination date, and each party shall return or destroy the other party's "
         "Confidential Information within fifteen (15) days."),
        ("14.1", "Limitation of Liability", "Neither party is liable for indirect or consequential "
         "loss. Each party's total liability is capped at the fees paid in the prior twelve months."),
        ("17.1", "Notices", "Notices must be in writing and delivered by hand, courier or email to "
         "the addresses above."),
        ("17.4", "Change of Control", "If either party undergoes a change of control, the other "
         "party may terminate this Agreement by giving sixty (60) days' written notice within six "
         "(6) months after being notified of the change of control."),
        ("17.6", "Governing Law", "This Agreement is governed by the laws of the State of Oregon."),
    ],
)

NDA_BLUEFIN: tuple[str, str, list[Section]] = (
    "MUTUAL NON-DISCLOSURE AGREEMENT",
    "This Mutual Non-Disclosure Agreement is made on 12 August 2024 between Bluefin Logistics "
    "S.A.R.L., 9 Rue des Tanneurs, Lyon (\"Bluefin\"), and Larkspur Retail Group, Inc., 220 Alder "
    "Street, Portland (\"Larkspur\"). All names in this document are fictional.",
    [
        ("1", "Purpose", "The parties wish to evaluate a possible warehousing partnership (the "
         "\"Purpose\") and will exchange Confidential Information for that Purpose only."),
        ("2", "Obligations", "The receiving party shall protect Confidential Information with at "
         "least reasonable care and disclose it only to employees who need to know it."),
        ("5", "No Licence", "Nothing in this Agreement grants any licence to intellectual property."),
        ("7.1", "Term", "This Agreement remains in effect for two (2) years from its date."),
        ("7.2", "Termination", "Either party may terminate this Agreement at any time on thirty "
         "(30) days' written notice to the other party."),
        ("7.3", "Survival", "After expiry or termination, the obligations in Section 2 survive for "
         "three (3) years, and each party shall return or destroy the other's Confidential "
         "Information on request."),
        ("9", "Governing Law", "This Agreement is governed by the laws of France."),
    ],
)

SUPPLY_OAKRIDGE: tuple[str, str, list[Section]] = (
    "SUPPLY AGREEMENT",
    "This Supply Agreement is made on 20 May 2025 between Oakridge Components GmbH, Werkstrasse 41, "
    "Stuttgart (\"Supplier\"), and Larkspur Retail Group, Inc., 220 Alder Street, Portland "
    "(\"Buyer\"). All names in this document are fictional.",
    [
        ("2.1", "Supply", "Supplier shall manufacture and deliver the shelving components listed in "
         "Schedule 1 against purchase orders issued by Buyer."),
        ("4.2", "Delivery", "Supplier shall deliver DAP Buyer's Reno warehouse on the dates stated "
         "in each purchase order. A delivery more than five (5) business days late is a \"Late "
         "Delivery\"."),
        ("6.1", "Price", "Prices are fixed for the first twelve (12) months and may then be revised "
         "once per year on sixty (60) days' notice."),
        ("8.1", "Term", "This Agreement has an initial term of three (3) years from its date."),
        ("8.2", "Termination for Insolvency", "Either party may terminate this Agreement with "
         "immediate effect by written notice if the other party becomes insolvent, enters "
         "administration or makes an arrangement with its creditors."),
        ("8.3", "Termination for Late Delivery", "Buyer may terminate this Agreement on fifteen "
         "(15) days' written notice if three (3) or more Late Deliveries occur in any rolling twelve "
         "(12) month period."),
        ("12.1", "Warranty", "Supplier warrants that the components conform to the specifications "
         "in Schedule 1 for twenty-four (24) months from delivery."),
        ("15.1", "Force Majeure", "Neither party is liable for delay caused by events beyond its "
         "reasonable control, including fire, flood, strikes and government action."),
        ("15.6", "Prolonged Force Majeure", "If a force majeure event continues for more than "
         "ninety (90) consecutive days, either party may terminate this Agreement by written notice "
         "to the other party."),
        ("18.2", "Governing Law", "This Agreement is governed by the laws of Germany."),
    ],
)

CONSULTING_REYES: tuple[str, str, list[Section]] = (
    "CONSULTING AGREEMENT",
    "This Consulting Agreement is made on 7 January 2025 between Larkspur Retail Group, Inc., 220 "
    "Alder Street, Portland (\"Company\"), and Dana Reyes, an independent consultant "
    "(\"Consultant\"). All names in this document are fictional.",
    [
        ("1.1", "Engagement", "Company engages Consultant to advise on store layout and inventory "
         "planning as described in Exhibit A."),
        ("3.1", "Fees", "Company shall pay Consultant USD 140 per hour, invoiced monthly."),
        ("3.4", "Non-Payment", "If an undisputed invoice remains unpaid forty-five (45) days after "
         "Consultant gives written notice of non-payment, Consultant may suspend the services or "
         "terminate this Agreement by further written notice."),
        ("4.1", "Independent Contractor", "Consultant is an independent contractor and not an "
         "employee of Company."),
        ("6.1", "Termination on Notice", "Either party may terminate this Agreement for any reason "
         "on fourteen (14) days' written notice to the other party."),
        ("6.2", "Termination for Breach of Confidentiality", "Company may terminate this Agreement "
         "immediately if Consultant breaches Section 7 (Confidentiality)."),
        ("7.1", "Confidentiality", "Consultant shall not disclose Company's non-public information "
         "during or after the engagement."),
        ("9.1", "Governing Law", "This Agreement is governed by the laws of the State of Oregon."),
    ],
)

# Fixed zip timestamp: docx bytes must not depend on when the script ran.
_ZIP_DATE = (2025, 1, 1, 0, 0, 0)

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '<Override PartName="/docProps/core.xml" '
    'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    "</Types>"
)

_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/'
    'metadata/core-properties" Target="docProps/core.xml"/>'
    "</Relationships>"
)

_DOC_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'
)


def _core_xml(title: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
        'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{escape(title)}</dc:title><dc:creator>dreamcli sample generator</dc:creator>"
        '<dcterms:created xsi:type="dcterms:W3CDTF">2025-01-01T00:00:00Z</dcterms:created>'
        "</cp:coreProperties>"
    )


def _run(text: str, bold: bool = False) -> str:
    props = "<w:rPr><w:b/></w:rPr>" if bold else ""
    return f'<w:r>{props}<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


def document_xml(contract: tuple[str, str, list[Section]]) -> str:
    """word/document.xml. Headings are split into several runs, as Word does, so even grepping the
    raw XML for a whole heading fails; each body sentence sits in one run."""
    title, preamble, sections = contract
    paras = [
        f'<w:p><w:pPr><w:jc w:val="center"/></w:pPr>{_run(title, bold=True)}</w:p>',
        f"<w:p>{_run(preamble)}</w:p>",
    ]
    for number, heading, body in sections:
        first, _, rest = heading.partition(" ")
        runs = _run(f"{number} ", bold=True) + _run(first, bold=True)
        if rest:
            runs += _run(f" {rest}", bold=True)
        paras.append(f"<w:p>{runs}</w:p>")
        paras.append(f"<w:p>{_run(body)}</w:p>")
    body_xml = "".join(paras)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f'<w:body>{body_xml}<w:sectPr><w:pgSz w:w="12240" w:h="15840"/></w:sectPr></w:body>'
        "</w:document>"
    )


def build_docx(contract: tuple[str, str, list[Section]]) -> bytes:
    import io

    parts = [
        ("[Content_Types].xml", _CONTENT_TYPES),
        ("_rels/.rels", _ROOT_RELS),
        ("docProps/core.xml", _core_xml(contract[0])),
        ("word/document.xml", document_xml(contract)),
        ("word/_rels/document.xml.rels", _DOC_RELS),
    ]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in parts:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, text.encode("utf-8"), compresslevel=9)
    return buf.getvalue()


def plain_lines(contract: tuple[str, str, list[Section]], width: int) -> list[str]:
    title, preamble, sections = contract
    lines = [title, "", *textwrap.wrap(preamble, width), ""]
    for number, heading, body in sections:
        lines.append(f"{number}  {heading}")
        lines.extend(textwrap.wrap(body, width))
        lines.append("")
    return lines


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_page_stream(lines: list[str]) -> bytes:
    ops = ["BT", "/F1 10 Tf", "13 TL", "72 740 Td"]
    ops += [f"({_pdf_escape(line)}) Tj T*" for line in lines]
    ops.append("ET")
    return ("\n".join(ops) + "\n").encode("latin-1")


def build_pdf(contract: tuple[str, str, list[Section]], lines_per_page: int = 50) -> bytes:
    """A small PDF 1.4: catalog, page tree, Helvetica, one Flate-compressed content stream a page."""
    lines = plain_lines(contract, width=92)
    pages = [lines[i : i + lines_per_page] for i in range(0, len(lines), lines_per_page)]
    n = len(pages)
    # Object numbers: 1 catalog, 2 pages, 3 font, then (page, contents) pairs.
    page_ids = [4 + 2 * i for i in range(n)]
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(f'{p} 0 R' for p in page_ids)}] /Count {n} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for page_id, page_lines in zip(page_ids, pages, strict=True):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_id + 1} 0 R >>".encode()
        )
        data = zlib.compress(pdf_page_stream(page_lines), 9)
        objects.append(
            f"<< /Length {len(data)} /Filter /FlateDecode >>\nstream\n".encode() + data + b"\nendstream"
        )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n".encode()
    )
    return bytes(out)


def build_txt(contract: tuple[str, str, list[Section]]) -> bytes:
    return ("\n".join(plain_lines(contract, width=88)).rstrip("\n") + "\n").encode("utf-8")


OUTPUTS = {
    "msa-northwind-2025.docx": lambda: build_docx(MSA_NORTHWIND),
    "nda-bluefin-2024.docx": lambda: build_docx(NDA_BLUEFIN),
    "supply-agreement-oakridge.pdf": lambda: build_pdf(SUPPLY_OAKRIDGE),
    "consulting-agreement-reyes.txt": lambda: build_txt(CONSULTING_REYES),
}


def main(argv: list[str]) -> int:
    outdir = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent / "contracts"
    outdir.mkdir(parents=True, exist_ok=True)
    for name, build in OUTPUTS.items():
        (outdir / name).write_bytes(build())
        print(f"wrote {outdir / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
