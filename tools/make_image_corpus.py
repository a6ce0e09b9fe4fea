#!/usr/bin/python3
"""make_image_corpus.py OUTDIR - the image decoder's test corpus (run with /usr/bin/python3).

Writes OUTDIR/valid/ and OUTDIR/broken/, each with a manifest.json, for
tests/unit/test_image_decode.c.

valid/: one file per supported kind, and next to each the pixels a correct decoder returns,
as raw little-endian float32 in HWC order on the file's own scale (0..255 or 0..65535).
  - PNGs are written by the small encoder below (every colour type and bit depth, all five
    row filters, Adam7 interlacing, split IDATs), because PIL cannot write 16-bit colour,
    1/2/4-bit gray or interlaced files. Expected pixels are the encoded source values; where
    PIL can decode a file at full precision its decode is checked against them here
    ("reference": "pil"), otherwise "reference": "source" (PIL truncates 16-bit colour).
  - JPEGs are written by PIL (libjpeg-turbo) and the expected pixels are PIL's own decode:
    same library, islow IDCT and fancy upsampling, so an exact match is required. EXIF
    orientations are written with PIL's Image.Exif in both byte orders and the expected
    pixels come from ImageOps.exif_transpose. A few JPEGs are edited after PIL wrote them
    (crafted APP1 segments, the Adobe APP14 marker removed); each says how in "note".

broken/: files the decoder must refuse, with the status code it must return.

Deterministic: the same files on every run.
"""
import io
import json
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps

PNG_SIG = b"\x89PNG\r\n\x1a\n"
GRAY, RGB, PALETTE, GRAY_ALPHA, RGBA = 0, 2, 3, 4, 6
CHANNELS = {GRAY: 1, RGB: 3, PALETTE: 1, GRAY_ALPHA: 2, RGBA: 4}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]  # (x0, y0, dx, dy)


# ---------------------------------------------------------------------------- PNG encoder

def chunk(tag, data):
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def ihdr(w, h, depth, color, interlace=0):
    return chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace))


def raw_rows(arr, depth):
    """Rows of samples as bytes: big-endian 16-bit, bytes, or packed MSB-first below 8."""
    h, w, c = arr.shape
    if depth == 16:
        return arr.astype(">u2").reshape(h, w * c).view(np.uint8)
    if depth == 8:
        return arr.astype(np.uint8).reshape(h, w * c)
    per = 8 // depth
    padded = np.zeros((h, -(-w // per) * per), np.uint16)
    padded[:, :w] = arr[:, :, 0]
    groups = padded.reshape(h, -1, per)
    shifts = np.array([8 - depth * (i + 1) for i in range(per)], np.uint16)
    return (groups << shifts).sum(axis=2).astype(np.uint8)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def filter_rows(rows, bpp):
    """Each row gets the filter type (row index mod 5), so all five filters are exercised."""
    out, prev = [], np.zeros(rows.shape[1], np.int16)
    for i, row in enumerate(rows.astype(np.int16)):
        a = np.concatenate([np.zeros(bpp, np.int16), row[:-bpp]])
        c = np.concatenate([np.zeros(bpp, np.int16), prev[:-bpp]])
        kind = i % 5
        pred = [0 * row, a, prev, (a + prev) // 2, paeth(a, prev, c)][kind]
        out.append(bytes([kind]) + ((row - pred) % 256).astype(np.uint8).tobytes())
        prev = row
    return b"".join(out)


def image_data(arr, depth, interlace):
    bpp = max(1, arr.shape[2] * depth // 8)
    if not interlace:
        return filter_rows(raw_rows(arr, depth), bpp)
    parts = []
    for x0, y0, dx, dy in ADAM7:
        sub = arr[y0::dy, x0::dx]
        if sub.shape[0] and sub.shape[1]:
            parts.append(filter_rows(raw_rows(sub, depth), bpp))
    return b"".join(parts)


def idat_chunks(data, split):
    z = zlib.compress(data, 9)
    step = split or len(z)
    return b"".join(chunk(b"IDAT", z[i:i + step]) for i in range(0, len(z), step))


def encode_png(arr, depth, color, interlace=False, plte=None, trns=None, split=0, extra=b""):
    h, w, _ = arr.shape
    out = PNG_SIG + ihdr(w, h, depth, color, int(interlace)) + extra
    if plte is not None:
        out += chunk(b"PLTE", plte.astype(np.uint8).tobytes())
    if trns is not None:
        out += chunk(b"tRNS", trns)
    return out + idat_chunks(image_data(arr, depth, interlace), split) + chunk(b"IEND", b"")


# --------------------------------------------------------------------------- pixel sources

def samples(h, w, c, maxv, seed):
    """Gradients plus noise, with the extremes 0 and maxv present."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    ramp = (x / max(w - 1, 1) + y / max(h - 1, 1)) / 2
    arr = np.stack([(ramp * maxv * (k + 1) / c) % (maxv + 1) for k in range(c)], axis=2)
    noise = rng.integers(0, maxv + 1, size=(h, w, c))
    arr = np.where(rng.random((h, w, c)) < 0.5, arr, noise).astype(np.int64)
    arr.flat[0] = 0
    arr.flat[-1] = maxv
    return arr


def smooth_rgb(h, w, seed, c=3):
    """Photo-like content for JPEG: smooth shapes, an edge and mild noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    chans = [128 + 100 * np.sin(x / (3 + k) + y / (5 + 2 * k)) for k in range(c)]
    arr = np.stack(chans, axis=2) + rng.normal(0, 12, (h, w, c))
    arr[: h // 2, : w // 3] = 240
    return np.clip(arr, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------- manifest

class Corpus:
    def __init__(self, root):
        self.valid_dir = os.path.join(root, "valid")
        self.broken_dir = os.path.join(root, "broken")
        os.makedirs(self.valid_dir, exist_ok=True)
        os.makedirs(self.broken_dir, exist_ok=True)
        self.valid, self.broken = [], []

    def add_valid(self, name, data, expected, bit_depth, has_alpha, reference, note=""):
        fmt = "png" if data.startswith(PNG_SIG) else "jpeg"
        file = name + (".png" if fmt == "png" else ".jpg")
        expected = np.asarray(expected)
        if expected.ndim == 2:
            expected = expected[:, :, None]
        h, w, c = expected.shape
        assert c in (1, 3), name
        write(os.path.join(self.valid_dir, file), data)
        bin_name = name + ".bin"
        write(os.path.join(self.valid_dir, bin_name), expected.astype("<f4").tobytes())
        self.valid.append({"file": file, "expected": bin_name, "format": fmt, "width": w,
                           "height": h, "channels": c, "bit_depth": bit_depth,
                           "max_value": 65535 if bit_depth == 16 else 255,
                           "has_alpha": has_alpha, "reference": reference, "note": note})

    def add_broken(self, name, data, status, note):
        write(os.path.join(self.broken_dir, name), data)
        self.broken.append({"file": name, "status": status, "note": note})

    def finish(self):
        for d, entries in ((self.valid_dir, self.valid), (self.broken_dir, self.broken)):
            with open(os.path.join(d, "manifest.json"), "w") as f:
                json.dump({"files": entries}, f, indent=1)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


# ------------------------------------------------------------------------------ valid PNG

def pil_png(data, channels):
    """PIL's decode when it keeps full precision, else None."""
    im = Image.open(io.BytesIO(data))
    if im.mode == "1":
        im = im.convert("L")
    if im.mode == "P":
        im = im.convert("RGBA")
    arr = np.array(im)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return arr[:, :, :channels] if channels <= arr.shape[2] else None


def add_png(corpus, name, arr, depth, color, scale=1, **kw):
    """Encodes arr; the expected pixels are arr (scaled for 1/2/4-bit gray), PIL-checked."""
    data = encode_png(arr, depth, color, **kw)
    has_alpha = color in (GRAY_ALPHA, RGBA) or kw.get("trns") is not None
    if color == PALETTE:
        expected = kw["plte"].reshape(-1, 3)[arr[:, :, 0]]
    else:
        expected = arr[:, :, :3 if CHANNELS[color] >= 3 else 1] * scale
    reference = "source"
    pil = None if depth == 16 and color != GRAY else pil_png(data, expected.shape[2])
    if pil is not None:
        assert np.array_equal(pil.astype(np.int64), expected), name
        reference = "pil"
    corpus.add_valid(name, data, expected, 16 if depth == 16 else 8, has_alpha, reference)


def valid_png(corpus):
    for depth in (1, 2, 4, 8, 16):
        arr = samples(17, 33, 1, (1 << depth) - 1, depth)
        scale = 255 // ((1 << depth) - 1) if depth < 8 else 1
        add_png(corpus, f"png_gray{depth}_33x17", arr, depth, GRAY, scale)
    for depth in (8, 16):
        m = (1 << depth) - 1
        add_png(corpus, f"png_gray_alpha{depth}", samples(9, 14, 2, m, 20 + depth), depth,
                GRAY_ALPHA)
        add_png(corpus, f"png_rgb{depth}", samples(12, 21, 3, m, 30 + depth), depth, RGB)
        add_png(corpus, f"png_rgba{depth}", samples(10, 11, 4, m, 40 + depth), depth, RGBA)
    plte = samples(1, 16, 3, 255, 50)
    idx = samples(15, 19, 1, 15, 51)
    add_png(corpus, "png_palette8", idx, 8, PALETTE, plte=plte)
    add_png(corpus, "png_palette4_trns", idx, 4, PALETTE, plte=plte, trns=bytes(range(0, 160, 10)))
    add_png(corpus, "png_palette1", idx % 2, 1, PALETTE, plte=plte[:, :2])
    add_png(corpus, "png_gray8_trns", samples(6, 7, 1, 255, 52), 8, GRAY, trns=b"\x00\x07")
    for w, h in ((1, 1), (17, 5), (5, 17)):
        add_png(corpus, f"png_gray8_{w}x{h}", samples(h, w, 1, 255, w * h), 8, GRAY)
        add_png(corpus, f"png_rgb8_{w}x{h}", samples(h, w, 3, 255, w * h + 1), 8, RGB)
    add_png(corpus, "png_rgb8_split_idat", samples(20, 31, 3, 255, 60), 8, RGB, split=97)
    add_png(corpus, "png_rgb8_text_chunk", samples(5, 6, 3, 255, 61), 8, RGB,
            extra=chunk(b"tEXt", b"Comment\0ignored by the decoder"))
    interlaced(corpus)


def interlaced(corpus):
    for w, h in ((1, 1), (2, 3), (9, 9), (33, 17)):
        add_png(corpus, f"png_interlaced_rgb8_{w}x{h}", samples(h, w, 3, 255, 70 + w), 8, RGB,
                interlace=True, split=50)
    add_png(corpus, "png_interlaced_gray2", samples(13, 11, 1, 3, 80), 2, GRAY, 85,
            interlace=True)
    add_png(corpus, "png_interlaced_gray16", samples(10, 13, 1, 65535, 81), 16, GRAY,
            interlace=True)
    add_png(corpus, "png_interlaced_rgba16", samples(7, 10, 4, 65535, 82), 16, RGBA,
            interlace=True)
    add_png(corpus, "png_interlaced_palette_trns", samples(9, 12, 1, 15, 83), 4, PALETTE,
            plte=samples(1, 16, 3, 255, 84), trns=b"\x00\x80", interlace=True)


# ----------------------------------------------------------------------------- valid JPEG

def pil_jpeg(im, **save):
    buf = io.BytesIO()
    im.save(buf, "JPEG", **save)
    return buf.getvalue()


def decoded(data, transpose=False):
    im = Image.open(io.BytesIO(data))
    if transpose:
        im = ImageOps.exif_transpose(im)
    if im.mode == "CMYK":
        im = im.convert("RGB")
    return np.array(im)


def add_jpeg(corpus, name, data, transpose=False, note=""):
    corpus.add_valid(name, data, decoded(data, transpose), 8, False,
                     "pil-exif-transpose" if transpose else "pil", note)


def valid_jpeg(corpus):
    rgb = Image.fromarray(smooth_rgb(48, 64, 1))
    gray = Image.fromarray(smooth_rgb(48, 64, 2, 1)[:, :, 0])
    add_jpeg(corpus, "jpeg_gray", pil_jpeg(gray, quality=90))
    add_jpeg(corpus, "jpeg_rgb_420", pil_jpeg(rgb, quality=85))
    add_jpeg(corpus, "jpeg_rgb_422", pil_jpeg(rgb, quality=85, subsampling=1))
    add_jpeg(corpus, "jpeg_rgb_444", pil_jpeg(rgb, quality=95, subsampling=0))
    add_jpeg(corpus, "jpeg_rgb_optimized", pil_jpeg(rgb, quality=70, optimize=True))
    add_jpeg(corpus, "jpeg_rgb_progressive", pil_jpeg(rgb, quality=85, progressive=True))
    add_jpeg(corpus, "jpeg_gray_progressive", pil_jpeg(gray, quality=80, progressive=True))
    for w, h in ((1, 1), (17, 5), (5, 17)):
        add_jpeg(corpus, f"jpeg_rgb_{w}x{h}", pil_jpeg(Image.fromarray(smooth_rgb(h, w, w)),
                                                        quality=90))
        add_jpeg(corpus, f"jpeg_gray_{w}x{h}",
                 pil_jpeg(Image.fromarray(smooth_rgb(h, w, h, 1)[:, :, 0]), quality=90))
    cmyk(corpus)
    exif(corpus)


def strip_segment(data, marker):
    """Removes every segment with this marker from the header (before SOS)."""
    out, i = data[:2], 2
    while data[i + 1] != 0xDA:
        n = struct.unpack(">H", data[i + 2:i + 4])[0]
        if data[i + 1] != marker:
            out += data[i:i + 2 + n]
        i += 2 + n
    return out + data[i:]


def cmyk(corpus):
    src = Image.fromarray(np.concatenate([smooth_rgb(24, 29, 5), smooth_rgb(24, 29, 6, 1)], 2),
                          "CMYK")
    data = pil_jpeg(src, quality=90)
    assert b"\xff\xee\x00\x0eAdobe" in data
    add_jpeg(corpus, "jpeg_cmyk_adobe", data, note="PIL writes an Adobe APP14 marker: "
             "inverted (Photoshop) CMYK")
    plain = strip_segment(data, 0xEE)
    inv = np.array(Image.open(io.BytesIO(plain))).astype(np.int64)  # PIL always inverts
    expected = (inv[:, :, :3] * inv[:, :, 3:4] + 127) // 255
    corpus.add_valid("jpeg_cmyk_no_adobe", plain, expected, 8, False, "pil-cmyk-plain",
                     "APP14 removed: libjpeg reports plain CMYK, R = (255-C)(255-K)/255; PIL "
                     "assumes Adobe polarity regardless, so the expected RGB is computed from "
                     "PIL's CMYK samples")


def exif_bytes(orientation, endian):
    ex = Image.Exif()
    ex.endian = endian
    ex[0x010F] = "xaid"
    ex[0x0110] = "corpus"
    ex[0x0112] = orientation
    return ex.tobytes()


def tiff_app1(endian, entries, ifd_offset=8, ifd_count=None):
    """Hand-built EXIF APP1 payload; entries are (tag, type, count, 4 value bytes)."""
    e = "<" if endian == "II" else ">"
    head = endian.encode() + struct.pack(e + "HI", 42, ifd_offset)
    n = len(entries) if ifd_count is None else ifd_count
    body = struct.pack(e + "H", n)
    for tag, typ, count, value in entries:
        body += struct.pack(e + "HHI", tag, typ, count) + value
    return b"Exif\0\0" + head + body + b"\0\0\0\0"


def with_app1(data, *payloads):
    segs = b"".join(b"\xff\xe1" + struct.pack(">H", len(p) + 2) + p for p in payloads)
    return data[:2] + segs + data[2:]


def exif(corpus):
    rgb = Image.fromarray(smooth_rgb(7, 13, 9))
    for o in range(1, 9):
        for endian, tag in (("<", "le"), (">", "be")):
            add_jpeg(corpus, f"jpeg_exif_{o}_{tag}",
                     pil_jpeg(rgb, quality=90, exif=exif_bytes(o, endian)), True)
    gray = Image.fromarray(smooth_rgb(5, 11, 10, 1)[:, :, 0])
    add_jpeg(corpus, "jpeg_exif_6_gray", pil_jpeg(gray, exif=exif_bytes(6, "<")), True)
    cm = Image.fromarray(np.concatenate([smooth_rgb(6, 9, 11), smooth_rgb(6, 9, 12, 1)], 2),
                         "CMYK")
    add_jpeg(corpus, "jpeg_exif_8_cmyk", pil_jpeg(cm, exif=exif_bytes(8, ">")), True)
    crafted_exif(corpus, pil_jpeg(rgb, quality=90))


def crafted_exif(corpus, base):
    short6_be = (0x0112, 3, 1, b"\x00\x06\x00\x00")
    short3_be = (0x0112, 3, 1, b"\x00\x03\x00\x00")
    xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>"
    add_jpeg(corpus, "jpeg_exif_after_xmp", with_app1(base, xmp, tiff_app1("MM", [short6_be])),
             True, "an XMP APP1 comes first; the EXIF APP1 after it says 6")
    add_jpeg(corpus, "jpeg_exif_first_wins",
             with_app1(base, tiff_app1("MM", [short3_be]), tiff_app1("MM", [short6_be])), True,
             "two EXIF APP1s (3 then 6): the first decides, as in PIL")
    ignored = {  # malformed EXIF: the orientation is ignored, the image decoded as stored
        "jpeg_exif_ifd_out_of_range": (tiff_app1("MM", [short6_be], ifd_offset=5000),
                                       "IFD0 offset beyond the APP1 payload"),
        "jpeg_exif_ifd_offset_wraps": (tiff_app1("MM", [short6_be], ifd_offset=0xFFFFFFF0),
                                       "IFD0 offset near 2^32"),
        "jpeg_exif_value_9": (tiff_app1("MM", [(0x0112, 3, 1, b"\x00\x09\x00\x00")]),
                              "orientation 9"),
        "jpeg_exif_type_long": (tiff_app1("II", [(0x0112, 4, 1, b"\x06\x00\x00\x00")]),
                                "orientation stored as LONG, not SHORT (PIL would apply it; "
                                "browsers ignore it)"),
        "jpeg_exif_bad_byte_order": (tiff_app1("MM", [short6_be]).replace(b"MM", b"MI", 1),
                                     "byte order mark 'MI'"),
        "jpeg_exif_cut_short": (tiff_app1("MM", [short6_be])[:20],
                                "payload ends inside the orientation entry"),
    }
    for name, (payload, note) in ignored.items():
        corpus.add_valid(name, with_app1(base, payload), decoded(base), 8, False, "pil",
                         "malformed EXIF, orientation ignored: " + note)


# ----------------------------------------------------------------------------- broken PNG

def chunk_offsets(data):
    """(offset, tag, length) of every chunk."""
    out, i = [], 8
    while i + 8 <= len(data):
        n = struct.unpack(">I", data[i:i + 4])[0]
        out.append((i, data[i + 4:i + 8], n))
        i += 12 + n
    return out


def patched(data, offset, new):
    return data[:offset] + new + data[offset + len(new):]


def with_ihdr(w, h, depth=8, color=RGB, tail=b""):
    return PNG_SIG + ihdr(w, h, depth, color) + tail


def broken_png(corpus):
    good = encode_png(samples(48, 64, 3, 255, 90), 8, RGB, split=500)
    cuts = {"sig4": 4, "sig8": 8, "ihdr": 20, "after_ihdr": 33, "idat": len(good) // 2,
            "no_iend": len(good) - 12, "iend_crc": len(good) - 1}
    for tag, n in cuts.items():
        corpus.add_broken(f"png_truncated_{tag}.png", good[:n], "bad_image",
                          f"the first {n} of {len(good)} bytes")
    lace = encode_png(samples(33, 17, 3, 255, 91), 8, RGB, interlace=True)
    corpus.add_broken("png_truncated_interlaced.png", lace[:len(lace) * 2 // 3], "bad_image",
                      "interlaced, cut in the middle of the passes")
    crc_errors(corpus, good)
    bad_headers(corpus)
    bad_data(corpus)
    bombs(corpus)


def crc_errors(corpus, good):
    chunks = chunk_offsets(good)
    off, _, n = next(c for c in chunks if c[1] == b"IDAT")
    crc = off + 8 + n
    corpus.add_broken("png_crc_idat.png", patched(good, crc, bytes([good[crc] ^ 0x10])),
                      "bad_image", "the first IDAT's CRC wrong, its data intact")
    flip = off + 8 + n // 2
    corpus.add_broken("png_idat_byte_changed.png", patched(good, flip, bytes([good[flip] ^ 0x10])),
                      "bad_image", "one IDAT data byte changed, CRC left as it was")
    corpus.add_broken("png_crc_ihdr.png", patched(good, 29, bytes([good[29] ^ 1])), "bad_image",
                      "IHDR CRC wrong")
    text = encode_png(samples(5, 6, 3, 255, 92), 8, RGB, extra=chunk(b"tEXt", b"Key\0value"))
    t_off = next(c[0] for c in chunk_offsets(text) if c[1] == b"tEXt")
    corpus.add_broken("png_crc_ancillary.png", patched(text, t_off + 9, b"X"), "bad_image",
                      "CRC error in a tEXt chunk (ancillary chunks are checked too)")


def idat_of(raw):
    return chunk(b"IDAT", zlib.compress(raw, 9))


def bad_headers(corpus):
    arr = samples(4, 4, 3, 255, 93)
    body = idat_of(image_data(arr, 8, False)) + chunk(b"IEND", b"")
    corpus.add_broken("png_ihdr_depth3.png", with_ihdr(4, 4, 3, RGB, body), "bad_image",
                      "IHDR bit depth 3 (CRC valid)")
    corpus.add_broken("png_ihdr_color5.png", with_ihdr(4, 4, 8, 5, body), "bad_image",
                      "IHDR colour type 5")
    corpus.add_broken("png_ihdr_width0.png", with_ihdr(0, 4, 8, RGB, body), "bad_image",
                      "IHDR width 0")
    corpus.add_broken("png_ihdr_height0.png", with_ihdr(4, 0, 8, RGB, body), "bad_image",
                      "IHDR height 0")
    corpus.add_broken("png_no_ihdr.png", PNG_SIG + body, "bad_image", "IDAT first, no IHDR")
    corpus.add_broken("png_palette_missing.png",
                      with_ihdr(4, 4, 8, PALETTE, idat_of(bytes(20)) + chunk(b"IEND", b"")),
                      "bad_image", "palette colour type without PLTE")
    corpus.add_broken("png_unknown_critical.png",
                      with_ihdr(4, 4, 8, RGB, chunk(b"QUUX", b"x") + body), "bad_image",
                      "an unknown critical chunk")


def bad_data(corpus):
    arr = samples(8, 8, 3, 255, 94)
    raw = image_data(arr, 8, False)
    end = chunk(b"IEND", b"")
    corpus.add_broken("png_too_little_data.png", with_ihdr(8, 8, tail=idat_of(raw[:-30]) + end),
                      "bad_image", "the zlib stream ends before the last row (CRCs valid)")
    corpus.add_broken("png_too_much_data.png", with_ihdr(8, 8, tail=idat_of(raw + raw) + end),
                      "bad_image", "twice the image data in the zlib stream")
    z = bytearray(zlib.compress(raw, 9))
    z[-1] ^= 0xFF
    corpus.add_broken("png_adler32.png", with_ihdr(8, 8, tail=chunk(b"IDAT", bytes(z)) + end),
                      "bad_image", "zlib Adler-32 wrong (chunk CRC valid)")
    corpus.add_broken("png_bad_filter.png",
                      with_ihdr(8, 8, tail=idat_of(b"\x09" + raw[1:]) + end), "bad_image",
                      "row filter type 9")
    idx = np.full((4, 4, 1), 200)
    pal = encode_png(idx, 8, PALETTE, plte=samples(1, 4, 3, 255, 95))
    corpus.add_broken("png_palette_index_range.png", pal, "bad_image",
                      "pixel index 200 with a 4-entry palette")


def bombs(corpus):
    tiny = idat_of(b"\0" * 16) + chunk(b"IEND", b"")
    for w, h, note in ((100000, 100000, "decompression bomb: 10^10 pixels, tiny IDAT"),
                       (16384, 16384, "within the side limits, over 64 Mpx"),
                       (20000, 1, "wider than 16384"), (1, 1 << 31, "taller than PNG allows")):
        corpus.add_broken(f"png_declared_{w}x{h}.png", with_ihdr(w, h, 8, GRAY, tiny),
                          "too_large", note)


# ---------------------------------------------------------------------------- broken JPEG

def segment_offset(data, marker):
    i = 2
    while data[i + 1] != marker:
        i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
    return i


def broken_jpeg(corpus):
    rgb = Image.fromarray(smooth_rgb(48, 64, 20))
    base = pil_jpeg(rgb, quality=85)
    prog = pil_jpeg(rgb, quality=85, progressive=True)
    for name, data in (("baseline", base), ("progressive", prog)):
        sos = segment_offset(data, 0xDA)
        cuts = {"soi": 2, "header": sos // 2, "scan": (sos + len(data)) // 2,
                "no_eoi": len(data) - 2, "half_eoi": len(data) - 1}
        for tag, n in cuts.items():
            corpus.add_broken(f"jpeg_{name}_truncated_{tag}.jpg", data[:n], "bad_image",
                              f"the first {n} of {len(data)} bytes")
    sof = segment_offset(base, 0xC0)
    corpus.add_broken("jpeg_sof_precision12.jpg", patched(base, sof + 4, b"\x0c"), "bad_image",
                      "SOF says 12-bit samples")
    corpus.add_broken("jpeg_sof_lossless.jpg", patched(base, sof + 1, b"\xc3"), "bad_image",
                      "SOF3 (lossless) instead of SOF0")
    corpus.add_broken("jpeg_sof_height0.jpg", patched(base, sof + 5, b"\0\0"), "bad_image",
                      "SOF height 0 (DNL)")
    corpus.add_broken("jpeg_sof_components0.jpg", patched(base, sof + 9, b"\0"), "bad_image",
                      "SOF with zero components")
    dqt = segment_offset(base, 0xDB)
    corpus.add_broken("jpeg_dqt_bad_table.jpg", patched(base, dqt + 4, b"\x07"), "bad_image",
                      "DQT table number 7")
    mid = (segment_offset(base, 0xDA) + len(base)) // 2
    corpus.add_broken("jpeg_marker_in_scan.jpg", patched(base, mid, b"\xff\xd9"), "bad_image",
                      "EOI in the middle of the entropy-coded data")
    corpus.add_broken("jpeg_no_sof.jpg", base[:sof] + base[segment_offset(base, 0xC4):],
                      "bad_image", "SOF segment removed")
    for w, h, note in ((65000, 65000, "decompression bomb: SOF says 65000x65000"),
                       (20000, 100, "wider than 16384")):
        corpus.add_broken(f"jpeg_declared_{w}x{h}.jpg",
                          patched(base, sof + 5, struct.pack(">HH", h, w)), "too_large", note)


# --------------------------------------------------------------------------- not PNG/JPEG

def other_formats(corpus):
    im = Image.fromarray(smooth_rgb(8, 8, 30))
    for fmt, ext in (("GIF", "gif"), ("BMP", "bmp"), ("TIFF", "tif"), ("WEBP", "webp")):
        buf = io.BytesIO()
        im.save(buf, fmt)
        corpus.add_broken(f"other.{ext}", buf.getvalue(), "unsupported_media_type", fmt)
    dicom = bytes(128) + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00" + bytes(64)
    corpus.add_broken("other.dcm", dicom, "unsupported_media_type", "DICOM preamble")
    corpus.add_broken("empty.bin", b"", "unsupported_media_type", "zero bytes")
    corpus.add_broken("text.txt", b"hello <script>alert(1)</script>\n", "unsupported_media_type",
                      "a text file (the message must not echo it)")
    png = encode_png(samples(4, 4, 3, 255, 96), 8, RGB)
    corpus.add_broken("png_wrong_magic.png", b"\x88" + png[1:], "unsupported_media_type",
                      "PNG with its first byte changed")
    corpus.add_broken("jpeg_wrong_magic.jpg", b"\xff\xd8\x00" + bytes(30),
                      "unsupported_media_type", "SOI not followed by a marker")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_image_corpus.py OUTDIR")
    corpus = Corpus(sys.argv[1])
    valid_png(corpus)
    valid_jpeg(corpus)
    broken_png(corpus)
    broken_jpeg(corpus)
    other_formats(corpus)
    corpus.finish()
    print(f"{len(corpus.valid)} valid and {len(corpus.broken)} broken files in {sys.argv[1]}")


if __name__ == "__main__":
    main()
