"""The metric face atlas: zones, mirror table, anchors, signed distances, danger hits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import Polygon

from dosemap.domain.atlas._mirror import MIRROR
from dosemap.domain.atlas.danger import DANGER_ZONES, signed_distances
from dosemap.domain.atlas.mesh import resolve_anchor
from dosemap.domain.atlas.patch import zone_patch
from dosemap.domain.atlas.surface import Outline, anchor_point
from dosemap.domain.atlas.zones import UNSUPPORTED_ZONES, ZONE_ORDER, ZONES, zone
from dosemap.domain.errors import InvalidInputError, UnknownNameError
from dosemap.domain.library import KNOWN_ZONES
from dosemap.resources import template_mesh

MESH = template_mesh()


def _frontal(ring: tuple[int, ...]) -> Polygon:
    return Polygon(MESH.vertices_mm[list(ring), :2])


class TestZones:
    def test_atlas_holds_every_known_zone_but_the_neck(self):
        assert set(ZONES) | set(UNSUPPORTED_ZONES) == set(KNOWN_ZONES)
        assert set(ZONE_ORDER) == set(ZONES)

    def test_neck_is_refused_with_the_reason(self):
        with pytest.raises(InvalidInputError, match="no neck"):
            zone("neck")

    def test_unknown_zone_names_the_known_ones(self):
        with pytest.raises(UnknownNameError, match="forehead"):
            zone("cheek")

    def test_mirror_table_matches_the_mesh(self):
        mirrored = MESH.vertices_mm * np.array([-1.0, 1.0, 1.0])
        assert np.allclose(mirrored[list(MIRROR)], MESH.vertices_mm, atol=1e-6)

    @pytest.mark.parametrize("stem", ["temple", "crows_feet", "infraorbital", "medial_cheek"])
    def test_paired_zones_are_mirror_images(self, stem):
        left = MESH.vertices_mm[list(ZONES[f"{stem}_left"].ring)]
        right = MESH.vertices_mm[list(ZONES[f"{stem}_right"].ring)]
        assert (left[:, 0] > 0).all() and (right[:, 0] < 0).all()
        assert np.isclose(
            _frontal(ZONES[f"{stem}_left"].ring).area, _frontal(ZONES[f"{stem}_right"].ring).area
        )

    def test_zones_do_not_overlap(self):
        ids = sorted(ZONES)
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                overlap = _frontal(ZONES[a].ring).intersection(_frontal(ZONES[b].ring)).area
                assert overlap < 1.0, (a, b, overlap)

    @pytest.mark.parametrize("side", ["left", "right"])
    def test_cheeks_keep_clear_of_fold_eyes_and_lips(self, side):
        for stem in ("medial_cheek", "lateral_cheek"):
            cheek = _frontal(ZONES[f"{stem}_{side}"].ring)
            for danger_id, gap_mm in (("ha_nasolabial_fold", 1.0), ("eyelids", 5.0), ("lips", 8.0)):
                for ring in DANGER_ZONES[danger_id].rings:
                    assert cheek.distance(_frontal(ring)) >= gap_mm, (stem, danger_id)
            assert cheek.intersection(_frontal(ZONES["nose"].ring)).area < 1.0

    @pytest.mark.parametrize("zone_id", sorted(ZONES))
    def test_unrolling_keeps_lengths(self, zone_id):
        patch = zone_patch(MESH, ZONES[zone_id])
        assert patch.polygon.is_valid and patch.area_mm2 > 100
        # Interior lengths are kept to a few per cent; nose and lips fold more than the rest.
        assert patch.max_stretch < (0.35 if zone_id in {"nose", "perioral"} else 0.15)


class TestAnchors:
    @settings(max_examples=60, deadline=None)
    @given(
        tri=st.integers(0, len(MESH.triangles) - 1),
        a=st.floats(0.0, 1.0),
        b=st.floats(0.0, 1.0),
    )
    def test_anchor_of_a_surface_point_resolves_back_to_it(self, tri, a, b):
        if a + b > 1:
            a, b = 1 - a, 1 - b
        corners = MESH.vertices_mm[MESH.triangles[tri]]
        point = (1 - a - b) * corners[0] + a * corners[1] + b * corners[2]
        anchor = anchor_point(MESH, point)
        assert sum(anchor.weights) == pytest.approx(1.0, abs=1e-9)
        assert np.allclose(resolve_anchor(anchor, MESH.vertices_mm), point, atol=2e-4)

    def test_anchor_follows_another_landmark_set_exactly(self):
        point = MESH.vertices_mm[MESH.triangles[100]].mean(axis=0)
        anchor = anchor_point(MESH, point)
        # A photo's landmarks: the template scaled, rotated in-plane and shifted, in pixels.
        angle = 0.3
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        pixels = MESH.vertices_mm[:, :2] @ rotation.T * 4.0 + [600.0, 800.0]
        expected = point[:2] @ rotation.T * 4.0 + [600.0, 800.0]
        assert np.allclose(resolve_anchor(anchor, pixels), expected, atol=1e-3)


class TestSignedDistance:
    def test_inside_is_negative_outside_positive(self):
        lips = DANGER_ZONES["lips"]
        inside = MESH.vertices_mm[[13]]  # upper lip, inner edge
        outside = MESH.vertices_mm[[10]]  # top of the forehead
        assert signed_distances(lips, MESH.vertices_mm, inside)[0] < 0
        assert signed_distances(lips, MESH.vertices_mm, outside)[0] > 50

    def test_distance_of_a_corner_is_zero(self):
        outline = Outline.from_corners(MESH.vertices_mm[list(ZONES["chin"].ring)])
        assert abs(outline.signed_distances(MESH.vertices_mm[[152]])[0]) < 1e-9


def test_every_danger_zone_cites_a_library_source():
    from dosemap.resources import load_library

    library = load_library()
    assert set(library.danger_margins) == set(DANGER_ZONES)
    for danger in DANGER_ZONES.values():
        assert library.danger_margin(danger.id).margin_mm.source in library.sources, danger.id
