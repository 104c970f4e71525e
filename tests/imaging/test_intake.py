"""Photo intake: formats, orientation, reduced decoding, metadata stripping, clear errors."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from dosemap.imaging.errors import PhotoError
from dosemap.imaging.intake import (
    DETECT_MAX_SIDE,
    export_stripped,
    photo_from_bytes,
    read_photo,
    save_rgb,
)


def _quadrants(width: int = 400, height: int = 300) -> np.ndarray:
    """Red top-left quadrant, the rest grey: shows where a rotation moved the top-left."""
    rgb = np.full((height, width, 3), 128, dtype=np.uint8)
    rgb[: height // 2, : width // 2] = (220, 20, 20)
    return rgb


def _encode(rgb: np.ndarray, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}  # GPS IFD
    return exif


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height but holds one tiny IDAT: a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


class TestFormats:
    def test_png_grey_and_rgba_become_rgb(self):
        grey = np.arange(100 * 80, dtype=np.uint8).reshape(80, 100) % 251
        photo = photo_from_bytes(_encode(grey, "PNG"), "g.png")
        assert photo.format == "PNG" and photo.detect_rgb.shape == (80, 100, 3)
        assert (photo.detect_rgb[..., 0] == grey).all()
        rgba = np.dstack([_quadrants(), np.full((300, 400), 255, np.uint8)])
        assert photo_from_bytes(_encode(rgba, "PNG"), "a.png").detect_rgb.shape == (300, 400, 3)

    def test_heic_is_read(self):
        data = _encode(_quadrants(), "HEIF", quality=90)
        photo = photo_from_bytes(data, "phone.heic")
        assert photo.format == "HEIF" and photo.size == (400, 300)
        red, grey = photo.detect_rgb[40, 40], photo.detect_rgb[250, 350]
        assert red[0] > 180 and red[1] < 80 and abs(int(grey[0]) - 128) < 12

    @pytest.mark.parametrize(
        ("orientation", "red_corner"), [(1, "tl"), (3, "br"), (6, "tr"), (8, "bl")]
    )
    def test_exif_orientation_is_applied(self, orientation, red_corner):
        data = _encode(_quadrants(), "JPEG", exif=_exif_with_gps(orientation), quality=95)
        photo = photo_from_bytes(data, "o.jpg")
        expected = (300, 400) if orientation in (6, 8) else (400, 300)
        assert photo.size == expected
        h, w = photo.detect_rgb.shape[:2]
        corners = {"tl": (10, 10), "tr": (10, w - 10), "bl": (h - 10, 10), "br": (h - 10, w - 10)}
        reds = {k for k, (r, c) in corners.items() if photo.detect_rgb[r, c, 0] > 180}
        assert reds == {red_corner}

    def test_large_jpeg_is_decoded_reduced_and_full_on_demand(self):
        rng = np.random.default_rng(0)
        rgb = np.repeat(
            np.repeat(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8), 10, 0), 10, 1
        )
        photo = photo_from_bytes(_encode(rgb, "JPEG", quality=90), "big.jpg")
        assert photo.size == (4000, 3000)
        assert max(photo.detect_rgb.shape[:2]) <= DETECT_MAX_SIDE
        assert max(photo.detect_rgb.shape[:2]) >= DETECT_MAX_SIDE * 0.6
        assert photo.detect_scale == pytest.approx(4000 / photo.detect_rgb.shape[1])
        full = photo.full_rgb()
        assert full.shape == (3000, 4000, 3)
        # the reduced copy is the same picture: compare block means
        small = full.reshape(300, 10, 400, 10, 3).mean(axis=(1, 3))
        reduced = np.asarray(Image.fromarray(photo.detect_rgb).resize((400, 300), Image.BOX))
        assert np.abs(small - reduced).mean() < 12

    @pytest.mark.parametrize("orientation", [1, 6])
    def test_a_photo_decoded_whole_is_not_decoded_twice(self, orientation):
        data = _encode(_quadrants(), "JPEG", exif=_exif_with_gps(orientation), quality=95)
        photo = photo_from_bytes(data, "small.jpg")
        assert photo.full_rgb() is photo.detect_rgb  # already full resolution
        assert not photo.full_rgb().flags.writeable  # so nobody can change both at once
        fresh = photo_from_bytes(data, "small.jpg", detect_max_side=64).full_rgb()
        assert np.array_equal(fresh, photo.full_rgb())  # what a full decode gives


class TestErrors:
    def test_not_an_image(self):
        with pytest.raises(PhotoError, match="not an image") as caught:
            photo_from_bytes(b"%PDF-1.7 hello", "scan.pdf")
        assert caught.value.code == "not_an_image" and "scan.pdf" in str(caught.value)

    def test_missing_file(self, tmp_path):
        with pytest.raises(PhotoError) as caught:
            read_photo(tmp_path / "nope.jpg")
        assert caught.value.code == "not_an_image"

    def test_truncated_jpeg(self):
        rng = np.random.default_rng(1)
        data = _encode(rng.integers(0, 255, (400, 400, 3), dtype=np.uint8), "JPEG")
        with pytest.raises(PhotoError, match="truncated") as caught:
            photo_from_bytes(data[: len(data) // 2], "cut.jpg")
        assert caught.value.code == "truncated"

    def test_file_cut_inside_the_header(self):
        data = _encode(_quadrants(), "JPEG", exif=_exif_with_gps(1))
        with pytest.raises(PhotoError, match="truncated") as caught:
            photo_from_bytes(data[:300], "cut.jpg")
        assert caught.value.code == "truncated"

    @pytest.mark.parametrize("side", [8000, 60000])  # 64 MP (our limit); 3.6 GP (Pillow's)
    def test_decompression_bomb(self, side):
        with pytest.raises(PhotoError, match="MP") as caught:
            photo_from_bytes(_png_header_only(side, side), "bomb.png")
        assert caught.value.code == "too_many_pixels"

    def test_unsupported_format(self):
        with pytest.raises(PhotoError, match="GIF") as caught:
            photo_from_bytes(_encode(_quadrants(), "GIF"), "anim.gif")
        assert caught.value.code == "unsupported_format"


class TestMetadata:
    def test_exif_and_gps_are_not_exported(self, tmp_path):
        data = _encode(_quadrants(), "JPEG", exif=_exif_with_gps(6), quality=95)
        source = Image.open(io.BytesIO(data))
        assert source.getexif().get_ifd(0x8825)  # the input really carries GPS
        photo = photo_from_bytes(data, "gps.jpg")
        for name in ("out.jpg", "out.png"):
            export_stripped(photo, tmp_path / name)
            with Image.open(tmp_path / name) as stored:
                assert not stored.getexif() and "exif" not in stored.info
                assert stored.size == (300, 400)  # orientation baked into the pixels
            assert b"PhoneMaker" not in (tmp_path / name).read_bytes()

    def test_unknown_output_suffix(self, tmp_path):
        with pytest.raises(PhotoError, match="suffix"):
            save_rgb(_quadrants(), tmp_path / "x.tiff")


def _red_corner(rgb: np.ndarray) -> set[str]:
    h, w = rgb.shape[:2]
    corners = {"tl": (5, 5), "tr": (5, w - 5), "bl": (h - 5, 5), "br": (h - 5, w - 5)}
    return {k for k, (r, c) in corners.items() if rgb[r, c, 0] > 180}


# Where the red top-left quadrant ends up under each EXIF orientation (EXIF 2.3, tag 0x0112).
RED_CORNER = {1: "tl", 2: "tr", 3: "br", 4: "bl", 5: "tl", 6: "tr", 7: "br", 8: "bl"}


@settings(max_examples=60, deadline=None)
@given(
    orientation=st.one_of(st.none(), st.integers(0, 9)),
    big_endian=st.booleans(),
    fmt=st.sampled_from(["JPEG", "PNG"]),
    make=st.text(max_size=12),
)
def test_every_orientation_is_applied_and_a_bad_one_means_upright(
    orientation, big_endian, fmt, make
):
    exif = Image.Exif()
    exif[0x010F] = make  # an entry before the orientation
    if orientation is not None:
        exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}  # and a sub-IFD after it
    exif.endian = ">" if big_endian else "<"
    photo = photo_from_bytes(_encode(_quadrants(40, 30), fmt, exif=exif.tobytes()), "o")
    applied = orientation if orientation in RED_CORNER else 1
    assert photo.size == ((30, 40) if applied >= 5 else (40, 30))
    assert _red_corner(photo.detect_rgb) == {RED_CORNER[applied]}
    assert photo.notes == ()


@pytest.mark.parametrize(
    "raw", [b"", b"Exif\x00\x00", b"Exif\x00\x00II*\x00\xff\xff\xff\x7f", b"garbage" * 20]
)
def test_unreadable_exif_means_upright(raw):
    photo = photo_from_bytes(_encode(_quadrants(), "JPEG", exif=raw), "odd.jpg")
    assert photo.size == (400, 300) and _red_corner(photo.detect_rgb) == {"tl"}
    assert all("taken as upright" in note for note in photo.notes)


# EXIF whose first directory claims 255 entries but holds one: Pillow warns and goes on.
CORRUPT_EXIF = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\x00" + bytes(20)


def test_corrupt_exif_is_one_note_not_a_warning():
    """Pillow's own ``UserWarning`` (with its file path) never escapes: the suite turns
    warnings into errors, so this fails if one does."""
    photo = photo_from_bytes(_encode(_quadrants(), "JPEG", exif=CORRUPT_EXIF), "phone.jpg")
    assert _red_corner(photo.detect_rgb) == {"tl"}  # upright
    assert len(photo.notes) == 1
    assert photo.notes[0].startswith("EXIF metadata partly unreadable (Corrupt EXIF data")
    assert "taken as upright" in photo.notes[0] and "site-packages" not in photo.notes[0]


def test_sixteen_bit_grey_png_is_scaled_not_clipped():
    """A 16-bit grey PNG holds 0-65535: clipped to 8 bits, every pixel would be white."""
    rng = np.random.default_rng(3)
    grey = rng.integers(0, 256, (60, 80), dtype=np.uint8)
    sixteen = grey.astype(np.uint16) * 257  # the same picture at 16 bits
    photo = photo_from_bytes(_encode(sixteen, "PNG"), "scan.png")
    assert photo.detect_rgb.shape == (60, 80, 3)
    assert np.array_equal(photo.detect_rgb[..., 0], grey)
    assert np.array_equal(photo.detect_rgb[..., 2], grey)


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_a_path_that_is_not_a_file_is_named(tmp_path, kind):
    path = tmp_path / "nope.jpg" if kind == "missing" else tmp_path
    with pytest.raises(PhotoError) as caught:
        read_photo(path)
    assert str(path) in str(caught.value)
    assert ("a folder" in str(caught.value)) == (kind == "folder")
