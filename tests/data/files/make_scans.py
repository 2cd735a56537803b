"""Image-only PDFs for the OCR tests, made from guide.pdf as a scanner would make them.

scanned.pdf: pages 2 to 4 of guide.pdf as 200 dpi black-and-white images, as
office scanners store text pages (a sentence runs from page 3 to page 4). garbage-layer.pdf: page 3's image
under an invisible text layer of one repeated glyph, as broken OCR software
leaves behind; a reader must ignore such a layer.
"""

from __future__ import annotations

import zlib

import pypdfium2 as pdfium

DPI = 200


def main() -> None:
    pdf = pdfium.PdfDocument("guide.pdf")
    grey = [pdf[i].render(scale=DPI / 72, grayscale=True).to_pil() for i in (1, 2, 3)]
    images = [g.point(lambda v: 255 if v > 160 else 0).convert("1") for g in grey]
    images[0].save("scanned.pdf", "PDF", resolution=DPI, save_all=True, append_images=images[1:])
    page3 = images[1]
    width, height = (round(v * 72 / DPI, 2) for v in page3.size)
    write_pdf_with_layer("garbage-layer.pdf", zlib.compress(page3.tobytes(), 9), page3.size, (width, height))


def write_pdf_with_layer(name: str, bits: bytes, pixels: tuple[int, int], size: tuple[float, float]) -> None:
    w, h = size
    junk = " ".join(["llllll"] * 60)
    content = f"q {w} 0 0 {h} 0 0 cm /Im1 Do Q BT 3 Tr /F1 9 Tf 20 {h - 40} Td ({junk}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w} {h}] /Contents 6 0 R "
        "/Resources << /Font << /F1 4 0 R >> /XObject << /Im1 5 0 R >> >> >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Type /XObject /Subtype /Image /Width {pixels[0]} /Height {pixels[1]} /ColorSpace /DeviceGray "
        f"/BitsPerComponent 1 /Filter /FlateDecode /Length {len(bits)} >>\nstream\n".encode() + bits + b"\nendstream",
        f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    with open(name, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
