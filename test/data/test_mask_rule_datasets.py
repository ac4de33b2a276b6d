"""The mask-geometry grasp rule on every dataset reader that has masks (``spgrasp eval --masks ground-truth``),
on small files in each dataset's real layout: Jacquard, OCID, GraspNet-1Billion and recorded sequences.

The recorded sequences are synthetic scenes, whose ground-truth grasps follow the objects' shapes, so the
rule's accuracy is checked there; the other fixtures are a few hand-made boxes, so only that each split is
read, measured and reported (with GraspNet's depth and focal length) is checked.
"""

import pytest
from dataset_fixtures import ALONG_X, corner_lines
from test_readers_graspnet import write_scene
from test_readers_jacquard import write_item
from test_readers_ocid import ocid_order, write_frame

from spgrasp_ros.data.synthetic import SynthConfig, write_synthetic
from spgrasp_ros.data.types import Sequence
from spgrasp_ros.evaluation.mask_rule import CELL, _fx, evaluate_mask_rule
from spgrasp_ros.training.sources import SourceConfig, read_source


def _read(kind: str, root, **options) -> list[Sequence]:
    sequences, report = read_source(SourceConfig(kind=kind, root=str(root), options=options))
    assert sequences, report.summary()
    return sequences


def test_the_rule_on_each_reader_with_masks(tmp_path):
    jacquard = tmp_path / "jacquard" / "Jacquard_Dataset_0" / "1a1ec1cfe633adcdebbf11b1629fc16a"
    write_item(jacquard, 0, ["21;15;90;12;6"])  # the fixture's object: a bar 18 px wide, 10 px high
    write_frame(tmp_path / "ocid" / "ARID20" / "table" / "top" / "seq08", "result_2018-08-21-14-44-31",
                corner_lines(ocid_order(ALONG_X)))
    write_scene(tmp_path / "graspnet", 0)
    write_synthetic(tmp_path / "recorded", 4, SynthConfig(frames=3), 300_500, progress=False)
    splits = {kind: _read(kind, tmp_path / kind) for kind in ("jacquard", "ocid", "recorded")}
    splits["graspnet"] = _read("graspnet", tmp_path / "graspnet", views=[0, 1, 2])  # the fixture's 3 of 256
    results = evaluate_mask_rule(splits, progress=False)
    for kind in splits:
        figures = results[kind][CELL]
        assert figures["frames_with_masks"] > 0 and figures["scored"] > 0, kind
        assert 0.0 <= figures["grasp_accuracy"] <= 1.0, kind
    assert results["jacquard"][CELL]["grasp_accuracy"] == 1.0  # across the bar, at its middle
    assert results["recorded"][CELL]["grasp_accuracy"] >= 0.85
    assert _fx(splits["graspnet"][0]) == pytest.approx(631.5)  # GraspNet's camK: the opening limit in metres
    assert _fx(splits["jacquard"][0]) is None


def test_a_split_without_masks_says_so(tmp_path):
    from dataset_fixtures import write_cornell

    write_cornell(tmp_path / "cornell", 2)
    results = evaluate_mask_rule({"cornell": _read("cornell", tmp_path / "cornell")}, progress=False)
    figures = results["cornell"][CELL]
    assert figures["frames_with_masks"] == 0 and figures["grasp_accuracy"] is None and figures["scored"] == 0
