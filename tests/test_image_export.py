"""db-out --format coco|folders from the shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import run, seed


def seed_pets(tmp_path: Path, db_path: Path) -> tuple[Path, Path]:
    """Dataset 'pets': a box on a cat, a dog that is a DOG, the same dog that is no CAT."""
    from PIL import Image

    cat, dog = tmp_path / "cat.png", tmp_path / "dog.jpg"
    Image.new("RGB", (64, 48), "orange").save(cat)
    Image.new("RGB", (80, 60), "brown").save(dog)
    box = {"label": "CAT", "type": "rect", "x": 5, "y": 6, "width": 20, "height": 10,
           "points": [[5, 6], [25, 6], [25, 16], [5, 16]]}
    seed(db_path, "pets", [
        {"image": str(cat), "width": 64, "height": 48, "spans": [box], "answer": "accept",
         "_view_id": "image_manual", "_session_id": "pets-alice"},
        {"image": str(dog), "width": 80, "height": 60, "label": "DOG", "answer": "accept",
         "_view_id": "classification", "_session_id": "pets-alice"},
        {"image": str(dog), "width": 80, "height": 60, "label": "CAT", "answer": "reject",
         "_view_id": "classification", "_session_id": "pets-alice"},
    ])
    return cat, dog


def test_coco_export(tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat, _ = seed_pets(tmp_path, db_path)
    out_file = tmp_path / "coco.json"
    code, _, err = run(capsys, "db-out", "pets", str(out_file), "--format", "coco", "--db", db_path)
    coco = json.loads(out_file.read_text())
    assert code == 0 and "coco" in err
    cats = {c["name"]: c["id"] for c in coco["categories"]}
    assert "CAT" in cats and "DOG" in cats
    [annotation] = coco["annotations"]
    assert annotation["bbox"] == [5, 6, 20, 10] and annotation["category_id"] == cats["CAT"]
    image = next(i for i in coco["images"] if i["id"] == annotation["image_id"])
    assert (image["file_name"], image["width"], image["height"]) == (str(cat), 64, 48)
    code, out, _ = run(capsys, "db-out", "pets", "--format", "coco", "--db", db_path)
    assert code == 0 and json.loads(out)["annotations"] == coco["annotations"]


def test_folders_export(tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed_pets(tmp_path, db_path)
    folders = tmp_path / "by_label"
    code, _, err = run(capsys, "db-out", "pets", str(folders), "--format", "folders", "--db", db_path)
    assert code == 0
    assert sorted(p.relative_to(folders).as_posix() for p in folders.rglob("*") if p.is_file()) == [
        "CAT/cat.png", "DOG/dog.jpg"]
    code, _, _ = run(capsys, "db-out", "pets", "--format", "folders", "--db", db_path)
    assert code == 2  # a folder is needed
    (tmp_path / "a_file").write_text("x")
    code, _, err = run(capsys, "db-out", "pets", tmp_path / "a_file", "--format", "folders", "--db", db_path)
    assert code == 1 and "is not a folder" in err
