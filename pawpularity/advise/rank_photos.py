"""`pawpularity rank` as a streaming job: a shelter's photos grouped by animal, each animal
ranked in turn (`rank.py`) and written as it is done.

DIR/ranking.csv gets one row per photo (COLUMNS), DIR/covers/<animal>.jpg each animal's cover
(the improved edit where one won it), DIR/index.html the contact sheets (`sheet.py`). Memory
holds one animal's results, one photo at full size and small thumbnails. Each animal's sheet
and audit line go to DIR/sheets.jsonl before its rows go to ranking.csv; `--resume` keeps the
animals whose rows are all there (and whose photo count has not changed) and ranks the rest.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from PIL import Image
from tqdm import tqdm

from pawpularity.advise import MARGIN
from pawpularity.advise.advisor import Advisor
from pawpularity.advise.evidence import Effect
from pawpularity.advise.photos import JPEG_MAX_SIDE, JPEG_QUALITY
from pawpularity.advise.rank import AUDIT_PERCENTILE, AnimalRanking, PhotoInput, rank_animal
from pawpularity.advise.sheet import AuditEntry, section, thumbnail, write_page
from pawpularity.data.images import IMAGE_SUFFIXES, load_image
from pawpularity.data.photos import collect
from pawpularity.errors import DataError
from pawpularity.explain.draw import shrunk
from pawpularity.files import atomic, photo_error, safe_name, write_text
from pawpularity.progress import note

RANKING, COVERS, INDEX, PARTS = "ranking.csv", "covers", "index.html", "sheets.jsonl"
COLUMNS = (
    "animal",
    *("photo", "rank", "score", "score_low", "score_high", "percentile"),
    *("cover", "best_edit", "top_tip", "error"),
)
BY_FOLDER, BY_CSV = "folder", "csv:"  # --by folder | csv:FILE
CSV_COLUMNS = ("photo", "animal")
NAME_MAX = 100  # characters of an animal id kept in its cover's file name
NOTE = (
    "Each animal's photos best first; the cover (green) is the one to show first. 'Likely' is "
    "the range that holds the true score for most photos; a coin toss means the model cannot "
    "tell two photos apart."
)


@dataclass(frozen=True)
class Animal:
    """An animal's id and its photos."""

    animal: str
    photos: tuple[Path, ...]


@dataclass(frozen=True)
class RankSummary:
    animals: int
    scored: int
    failed: int
    retakes: list[AuditEntry] | None  # None: no --audit

    @property
    def exit_code(self) -> int:
        """0: every photo scored; 2: some failed; 1: none scored."""
        return 0 if not self.failed else (2 if self.scored else 1)


def group(paths: Sequence[str | Path], by: str = BY_FOLDER) -> list[Animal]:
    """The animals of `paths` (photos, folders, globs): `by` ``folder`` (one sub-folder per
    animal, named by it) or ``csv:FILE`` (FILE's ``photo, animal`` columns)."""
    if by == BY_FOLDER:
        return by_folder(paths)
    if by.startswith(BY_CSV) and by[len(BY_CSV) :]:
        return by_csv(Path(by[len(BY_CSV) :]), paths)
    raise DataError(f"--by {by}: give folder (one sub-folder per animal) or csv:FILE")


def by_folder(paths: Sequence[str | Path]) -> list[Animal]:
    """A folder's photos by its sub-folders (deeper folders count for the sub-folder, photos in
    the folder itself for the folder); a photo or glob match by the folder that holds it."""
    found: dict[str, list[Path]] = {}
    for raw in paths:
        root = Path(raw)
        if root.is_dir():
            for f in sorted(root.rglob("*")):
                if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file():
                    parts = f.relative_to(root).parts
                    animal = parts[0] if len(parts) > 1 else root.resolve().name
                    found.setdefault(animal, []).append(f)
        else:
            for item in collect([raw]):
                found.setdefault(item.path.resolve().parent.name, []).append(item.path)
    if not found:
        raise DataError(f"no photos found in {', '.join(map(str, paths))}")
    return [Animal(a, tuple(p)) for a, p in found.items()]


def by_csv(table: Path, paths: Sequence[str | Path]) -> list[Animal]:
    """The photos of `paths` by `table`'s ``animal`` column: its ``photo`` is a path relative to
    a folder in `paths`, or a file name. Listed photos that are not found get an error row;
    photos the table does not list are left out (a note says how many)."""
    rows = _read_table(table)
    found: dict[str, Path] = {}
    names: dict[str, list[Path]] = {}
    for raw in paths:
        root = Path(raw)
        for item in collect([raw]):
            key = item.path.relative_to(root).as_posix() if root.is_dir() else str(raw)
            found.setdefault(key, item.path)
            names.setdefault(item.path.name, []).append(item.path)
    animals: dict[str, list[Path]] = {}
    listed: set[Path] = set()
    for photo, animal in rows:
        single = names.get(photo, [])
        path = found.get(Path(photo).as_posix()) or (single[0] if len(single) == 1 else None)
        if path is None and len(single) > 1:
            raise DataError(f"{table}: photo {photo!r} names {len(single)} files: give its path")
        animals.setdefault(animal, []).append(path or Path(photo))  # not found: an error row
        listed.add(path or Path(photo))
    unlisted = {p for p in found.values()} - listed
    if unlisted:
        note(f"{len(unlisted)} photo(s) not listed in {table}: left out")
    return [Animal(a, tuple(p)) for a, p in animals.items()]


def _read_table(table: Path) -> list[tuple[str, str]]:
    """(photo, animal) rows of the --by CSV, or a DataError saying what is wrong with it."""
    try:
        frame = pd.read_csv(table, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise DataError(f"--by csv:{table}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise DataError(f"{table}: not a CSV ({' '.join(str(e).split())})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if missing := [c for c in CSV_COLUMNS if c not in frame.columns]:
        raise DataError(
            f"{table}: columns {', '.join(missing)} missing (has {', '.join(frame.columns)}); "
            f"--by csv needs {', '.join(CSV_COLUMNS)}"
        )
    rows = [(p.strip(), a.strip()) for p, a in zip(frame["photo"], frame["animal"], strict=True)]
    if blank := [i + 2 for i, (p, a) in enumerate(rows) if not p or not a]:
        raise DataError(f"{table}: empty photo or animal on line {blank[0]}")
    if len({p for p, _ in rows}) < len(rows):
        raise DataError(f"{table}: a photo is listed twice; give each photo one animal")
    if not rows:
        raise DataError(f"{table}: no rows")
    return rows


def cover_names(animals: Sequence[str]) -> dict[str, str]:
    """A file name stem per animal id: safe (no separator, no climbing), unique even where the
    file system ignores case, and the same whenever the same animals come in the same order."""
    taken: set[str] = set()
    names: dict[str, str] = {}
    for animal in animals:
        base = safe_name(animal)[:NAME_MAX]
        name, k = base, 1
        while name.casefold() in taken:
            k += 1
            name = f"{base}_{k}"
        taken.add(name.casefold())
        names[animal] = name
    return names


def rank_photos(
    advisor: Advisor,
    groups: Sequence[Animal],
    out: Path,
    effects: dict[str, Effect] | None = None,
    margin: float = MARGIN,
    audit: bool = False,
    resume: bool = False,
) -> RankSummary:
    """Rank every animal into `out` (see the module), one at a time; `resume` keeps the animals
    already done there."""
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} is a file: give a folder to write the ranking to")
    csv_path, parts_path = out / RANKING, out / PARTS
    if csv_path.exists() and not resume:
        raise DataError(f"--out {out} holds a ranking: add --resume to continue it")
    names = cover_names([g.animal for g in groups])
    sizes = {g.animal: len(g.photos) for g in groups}
    rows, parts = _done(csv_path, parts_path, sizes) if resume else ([], [])
    done = {p["animal"] for p in parts}
    out.mkdir(parents=True, exist_ok=True)
    _rewrite(csv_path, rows, parts_path, parts)
    scored = sum(1 for r in rows if r[2])
    failed = len(rows) - scored
    todo = [g for g in groups if g.animal not in done]
    total = sum(sizes.values())
    bar = tqdm(total=total, initial=total - sum(sizes[g.animal] for g in todo), unit="photo")
    bar.set_description("ranking")
    with csv_path.open("a", newline="") as table, parts_path.open("a") as sheets:
        writer = csv.writer(table, lineterminator="\n")
        for g in todo:
            thumbs: dict[str, str] = {}
            ranking = rank_animal(
                advisor, g.animal, _photos(g, thumbs, bar), effects, margin, cover_only=True
            )
            part = _finish(ranking, thumbs, out, names[g.animal])
            sheets.write(json.dumps(part) + "\n")
            sheets.flush()
            batch = _rows(ranking)
            writer.writerows(batch)
            table.flush()
            scored += sum(1 for r in batch if r[2])
            failed += sum(1 for r in batch if not r[2])
    bar.close()
    entries = [AuditEntry(**p["audit"]) for p in _parts(parts_path) if p["audit"]]
    retakes = entries if audit else None
    write_page(out / INDEX, (p["html"] for p in _parts(parts_path)), retakes, NOTE)
    return RankSummary(len(groups), scored, failed, retakes)


def _photos(g: Animal, thumbs: dict[str, str], bar: tqdm) -> Iterator[PhotoInput]:
    """The animal's photos loaded one at a time (or their errors), each thumbnailed."""
    for path in g.photos:
        try:
            image: Image.Image | str = load_image(path)
        except Exception as e:  # this photo's failure: an error row
            image = photo_error(e)
        if isinstance(image, Image.Image):
            thumbs[str(path)] = thumbnail(image)
        yield str(path), image
        bar.update(1)


def _finish(ranking: AnimalRanking, thumbs: dict[str, str], out: Path, name: str) -> dict:
    """The cover written to covers/; the animal's sheets.jsonl line: its sheet and audit line."""
    cover, improved = ranking.cover, None
    if cover is not None:
        image = cover.improved if cover.improved is not None else load_image(cover.photo)
        with atomic(out / COVERS / f"{name}.jpg") as tmp:
            shrunk(image, JPEG_MAX_SIDE).save(tmp, format="JPEG", quality=JPEG_QUALITY)
        improved = None if cover.improved is None else thumbnail(cover.improved)
    best = ranking.best
    entry = None
    if best is not None and ranking.needs_retake:
        entry = AuditEntry(
            ranking.animal, name, best.score or 0.0, best.percentile or 0.0, ranking.retake_tips()
        )
    return {
        "animal": ranking.animal,
        "html": section(ranking, thumbs, name, improved),
        "audit": None if entry is None else asdict(entry),
    }


def _rows(ranking: AnimalRanking) -> list[list[str]]:
    def f(v: float | None, digits: int = 3) -> str:
        return "" if v is None else f"{v:.{digits}f}"

    return [
        [
            ranking.animal,
            p.photo,
            "" if p.rank is None else str(p.rank),
            f(p.score),
            f(p.score_low),
            f(p.score_high),
            f(p.percentile, 1),
            "1" if p.cover else "0",
            p.best_edit or "",
            p.top_tip or "",
            p.error or "",
        ]
        for p in ranking.photos
    ]


def _done(
    csv_path: Path, parts_path: Path, sizes: dict[str, int]
) -> tuple[list[list[str]], list[dict[str, Any]]]:
    """The rows and sheets of the animals an earlier run finished: every photo's row in the
    ranking and its sheet in sheets.jsonl, as many photos as the animal has now."""
    if not csv_path.is_file():
        return [], []
    text = csv_path.read_text()
    rows = list(csv.reader(io.StringIO(text[: text.rfind("\n") + 1])))
    if not rows or tuple(rows[0]) != COLUMNS:
        raise DataError(f"{csv_path}: not a ranking of this version; --resume needs one")
    counts: dict[str, int] = {}
    for r in rows[1:]:
        counts[r[0]] = counts.get(r[0], 0) + 1
    sheets = {p["animal"]: p for p in _parts(parts_path)}  # the last one of an animal counts
    done = {a for a, n in counts.items() if sizes.get(a) == n and a in sheets}
    kept = [p for a, p in sheets.items() if a in done]
    return [r for r in rows[1:] if r[0] in done], kept


def _rewrite(
    csv_path: Path, rows: list[list[str]], parts_path: Path, parts: list[dict[str, Any]]
) -> None:
    """ranking.csv and sheets.jsonl holding only what is kept (the header to start with)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows([list(COLUMNS), *rows])
    write_text(csv_path, buf.getvalue())
    write_text(parts_path, "".join(json.dumps(p) + "\n" for p in parts))


def _parts(path: Path) -> Iterator[dict[str, Any]]:
    """The lines of sheets.jsonl one by one; a torn last line is skipped."""
    if not path.is_file():
        return
    with path.open() as f:
        for line in f:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


__all__ = ["AUDIT_PERCENTILE", "COLUMNS", "Animal", "RankSummary", "group", "rank_photos"]
