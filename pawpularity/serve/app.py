"""The web app: a page for shelter volunteers and a REST API over the library calls the CLI makes.

GET /health (status, version, the device models run on, which model: "imagenet" is the bare
backbone, which checks photos but scores none); POST /api/check, /api/score, /api/explain,
/api/advise with the photo in the multipart field `file`, /api/rank with up to MAX_PHOTOS of one
animal in several `file` fields; GET / (the page), /static/* (its files), /favicon.ico,
/results/<id>/* (advice files, a ranking's improved.zip), /docs and /redoc (served from the
package: no CDN). Errors are JSON `{"detail": ...}`: 413 upload over MAX_UPLOAD (or more than
MAX_PHOTOS photos), 415 not a usable image (broken, unknown format, decompression bomb), 422 bad
parameters (and score, explain, advise or rank without a trained run), 500 anything unexpected.
"""

from __future__ import annotations

import asyncio
import base64
import io
import math
import shutil
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from PIL import Image

from pawpularity.advise import MARGIN
from pawpularity.advise.evidence import Effect
from pawpularity.advise.photos import JPEG_QUALITY, write_advice
from pawpularity.advise.rank import AnimalRanking
from pawpularity.api import FLAGS, IMAGENET_RUN, Model
from pawpularity.data.demo import PHOTOS_DIR
from pawpularity.data.images import load_image
from pawpularity.data.schema import FLAG_WORDS
from pawpularity.errors import ConfigError, ImageError, PawpularityError
from pawpularity.explain.draw import fitted, overlay, shrunk
from pawpularity.explain.methods import described, parse_methods
from pawpularity.files import atomic, unique_name, write_json
from pawpularity.progress import note
from pawpularity.runs.intervals import COLUMNS as INTERVAL_COLUMNS
from pawpularity.serve.guards import BodyTimeout, SameOrigin
from pawpularity.serve.limits import UploadLimit, UploadTooLarge
from pawpularity.version import __version__

MAX_UPLOAD = 20 * 2**20  # bytes of a photo
MAX_PHOTOS = 12  # photos of one animal in one /api/rank request
FORM_OVERHEAD = 64 * 1024  # multipart headers and boundaries around a photo
DISPLAY_SIDE = 512  # pixels of the photos and maps the page shows
RANK_SIDE = 2560  # pixels a side of a ranked photo at most: 12 stay within ~240 MB of RGB
MAX_RESULTS = 50  # advice folders kept under /results/, oldest removed first
HEAVY_QUEUE = 4  # explain and advise requests waiting or running at most (more: 503)
LIKELY = 0.5  # a flag this probable is shown on the page as seen in the photo
METHODS = "gradcam,vanilla,rise"  # SmoothGrad's batch of noisy copies needs ~2 GB more
ZIP = "improved.zip"  # a ranking's improved photos, under /results/<id>/
STATIC = Path(__file__).parent / "static"
# Photos of different sizes: memory reaches its working size within a few requests.
WARM_UP_PHOTOS = ("dog_beagle_10.jpg", "cat_Egyptian_Mau_10.jpg", "cat_Abyssinian_13.jpg")

T = TypeVar("T")
Upload = Annotated[UploadFile, File(description="The photo (JPEG, PNG, WebP, HEIC, ...).")]


class Results:
    """Folders for advice files, the newest MAX_RESULTS kept."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.Lock()
        root.mkdir(parents=True, exist_ok=True)

    def new(self) -> Path:
        with self.lock:
            folders = sorted((p for p in self.root.iterdir() if p.is_dir()), key=_mtime)
            for old in folders[: max(0, len(folders) - MAX_RESULTS + 1)]:
                shutil.rmtree(old, ignore_errors=True)
            folder = self.root / uuid.uuid4().hex
            folder.mkdir()
            return folder


class ModelThread:
    """Requests' work (decoding, model calls, drawing) on one thread, in turn: memory is that of
    one request at a time, in one glibc heap. With `queue`, at most that many requests wait or
    run: more get 503 with a Retry-After that estimates when a place frees up."""

    def __init__(self, name: str, queue: int | None = None) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix=f"pawpularity-{name}")
        self.queue, self.pending, self.seconds = queue, 0, 1.0  # seconds: a running mean

    async def run(self, work: Callable[[], T]) -> T:
        if self.queue is not None and self.pending >= self.queue:
            wait = max(1, math.ceil(self.seconds * self.pending))
            raise HTTPException(
                503,
                f"the server is busy with {self.pending} heavy requests: try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        self.pending += 1  # only the event loop's thread counts: no lock needed
        start = time.perf_counter()
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, work)
        finally:
            self.pending -= 1
            self.seconds = 0.8 * self.seconds + 0.2 * (time.perf_counter() - start)


def create_app(
    model: Model,
    results: Path,
    effects: dict[str, Effect] | None = None,
    warm: bool = False,
    allow_origins: Sequence[str] = (),
) -> FastAPI:
    """The app around one loaded model; advice files go to `results`. warm: first run shipped
    photos through every model call, so that the first request is as fast as the others and
    memory is at its working size before serving. allow_origins: other sites whose pages may
    call the API (see guards.py). Scores run on a thread of their own, so that they stay fast
    while maps and advice (on another, with a bounded queue) take their time."""
    app = FastAPIOffline(  # /docs works without internet
        title="Pawpularity",
        version=__version__,
        description="Score a pet's adoption photo, see why, and get concrete fixes.",
    )
    app.add_middleware(BodyTimeout)
    per_photo = MAX_UPLOAD + FORM_OVERHEAD
    app.add_middleware(UploadLimit, limit=per_photo, paths={"/api/rank": MAX_PHOTOS * per_photo})
    app.add_middleware(SameOrigin, allow=allow_origins)
    light, heavy = ModelThread("score"), ModelThread("maps", queue=HEAVY_QUEUE)
    app.state.heavy = heavy  # its queue, for tests and monitoring
    if warm:
        heavy.pool.submit(warm_up, model).result()
    store = Results(results)

    def photo_of(upload: UploadFile) -> Image.Image:
        if upload.size is not None and upload.size > MAX_UPLOAD:
            raise UploadTooLarge(MAX_UPLOAD)
        return load_image(upload.file, name=upload.filename or "upload")

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "device": str(model.device),
            "warning": model.warning,  # the page shows it first: a demo model's scores mean nothing
            "model": model.kind,  # "imagenet": photo checks only, no score (the page says so)
            "run": None if model.run is None else model.run.path.name,
            "max_photos": MAX_PHOTOS,
            "max_upload": MAX_UPLOAD,
        }

    @app.post("/api/check")
    async def check(file: Upload) -> dict[str, Any]:
        """The photo check that needs no trained run (the ImageNet backbone alone): is a cat or
        dog in it (pet_probability) and how much of the frame it fills (pet_share), sharpness,
        brightness, blown-out highlights (clipped), each verdict (ok_*) and the tips."""

        def work() -> dict[str, Any]:
            start = time.perf_counter()
            return {**model.check(photo_of(file)).to_dict(), "seconds": _since(start)}

        return await heavy.run(work)

    @app.post("/api/score")
    async def score(file: Upload) -> dict[str, Any]:
        """The photo's score (1–100), the interval that holds the true score for `interval` of
        photos (score_low, score_high), its percentile among the training photos, and the
        predicted probability of each flag."""

        def work() -> dict[str, Any]:
            start = time.perf_counter()
            return {**_scored(model, photo_of(file)), "seconds": _since(start)}

        return await light.run(work)

    @app.post("/api/explain")
    async def explain(
        file: Upload,
        methods: Annotated[
            str, Query(description=f"Comma-separated saliency methods ({described()}).")
        ] = METHODS,
    ) -> dict[str, Any]:
        """The score and its saliency maps (of the folds' average score) over the photo, as
        JPEG data URLs."""
        names = parse_methods(methods)

        def work() -> dict[str, Any]:
            start = time.perf_counter()
            photo = photo_of(file)
            small = shrunk(photo, DISPLAY_SIDE)
            explained = {name: model.explain_notes(photo, name, size=small.size) for name in names}
            maps = {name: m for name, (m, _) in explained.items()}
            return {
                **_scored(model, photo),
                "photo": data_url(small),
                "maps": {name: data_url(overlay(small, m)) for name, m in maps.items()},
                # a constant map: nothing in the photo raises the score (the page says so)
                "empty": {name: bool(m.max() <= m.min()) for name, m in maps.items()},
                # RISE: masks used, split-half agreement, whether it reached 0.9
                "notes": {name: notes for name, (_, notes) in explained.items()},
                "seconds": _since(start),
            }

        return await heavy.run(work)

    @app.post("/api/advise")
    async def advise(
        file: Upload,
        margin: Annotated[
            float, Query(ge=0, le=100, description="Points an edit must gain to be recommended.")
        ] = MARGIN,
    ) -> dict[str, Any]:
        """Tips and the best scored edit; the improved photo and the comparison under /results/."""

        def work() -> dict[str, Any]:
            photo = photo_of(file)
            advice = model.advise(photo, effects, margin)
            folder = store.new()
            write_advice(advice, photo, folder)
            # the page's before and after: photos at display size, captioned by the page
            write_jpeg(shrunk(photo, DISPLAY_SIDE), folder / "before.jpg")
            write_jpeg(shrunk(advice.best, DISPLAY_SIDE), folder / "after.jpg")
            url = f"/results/{folder.name}"
            files = {
                "best": "best.jpg",
                "compare": "compare.png",
                "advice": "advice.json",
                "before": "before.jpg",
                "after": "after.jpg",
            }
            return {**advice.to_dict(), "urls": {k: f"{url}/{v}" for k, v in files.items()}}

        return await heavy.run(work)

    @app.post("/api/rank")
    async def rank(
        file: Annotated[
            list[UploadFile],
            File(
                description=f"Photos of one animal, each in a `file` field: {MAX_PHOTOS} at most."
            ),
        ],
        margin: Annotated[
            float, Query(ge=0, le=100, description="Points an edit must gain to be recommended.")
        ] = MARGIN,
    ) -> dict[str, Any]:
        """The photos ranked best first, the cover (the one to show first) marked, each with its
        score, interval, percentile and tips; the improved photos (those an edit improved) at
        /results/<id>/improved.zip. A photo that cannot be read is listed with its error."""
        if len(file) > MAX_PHOTOS:
            raise HTTPException(
                413, f"{len(file)} photos in one request: send at most {MAX_PHOTOS} of one animal"
            )

        def work() -> dict[str, Any]:
            start = time.perf_counter()
            photos = _decoded(file, photo_of)
            ranking = model.rank(photos, effects, margin)
            answer = _write_ranking(ranking, dict(photos), store.new())
            return {**answer, "seconds": _since(start)}

        return await heavy.run(work)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:  # browsers ask for it whatever the page links
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/results", StaticFiles(directory=results), name="results")
    _handle_errors(app)
    return app


def _handle_errors(app: FastAPI) -> None:
    """The package's errors as JSON with the status that says whose fault it is."""
    statuses: list[tuple[type[Exception], int]] = [
        (ImageError, 415),
        (ConfigError, 422),
        (PawpularityError, 400),
    ]
    for kind, status in statuses:

        def handler(request: Request, error: Exception, status: int = status) -> JSONResponse:
            return JSONResponse({"detail": str(error)}, status)

        app.add_exception_handler(kind, handler)

    def crash(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"internal error ({type(error).__name__})"}, 500)

    app.add_exception_handler(Exception, crash)


def data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def _scored(model: Model, photo: Image.Image) -> dict[str, Any]:
    """The photo's score with its interval (at level `interval`) and percentile, the flag
    probabilities, rounded for the page, and the likely flags (`seen`) in plain words."""
    row = model.score(photo).iloc[0]
    flags = {f: round(float(row[f]), 4) for f in FLAGS}
    return {
        "score": round(float(row["score"]), 3),
        **{k: round(float(row[k]), 3) for k in INTERVAL_COLUMNS},
        "interval": model.interval,
        "flags": flags,
        "seen": [
            {"flag": f, "words": FLAG_WORDS[f], "probability": p}
            for f, p in flags.items()
            if p >= LIKELY
        ],
    }


def _decoded(
    uploads: Sequence[UploadFile], photo_of: Callable[[UploadFile], Image.Image]
) -> list[tuple[str, Image.Image | str]]:
    """Each upload under a name of its own (two phones' IMG_0001.jpg stay two), decoded at most
    RANK_SIDE a side (one full-size photo in memory at a time), or its error. When no photo
    can be read, the first one's error is raised: one photo gets the codes of /api/score."""
    photos: list[tuple[str, Image.Image | str]] = []
    used: set[str] = set()
    first: Exception | None = None
    for upload in uploads:
        original = Path(upload.filename or "photo").name or "photo"
        stem, suffix = Path(original).stem, Path(original).suffix
        name = unique_name(stem, used) + suffix
        try:
            photos.append((name, shrunk(photo_of(upload), RANK_SIDE)))
        except (ImageError, UploadTooLarge) as e:
            first = first or e
            photos.append((name, str(e.detail if isinstance(e, UploadTooLarge) else e)))
    if first is not None and all(isinstance(p, str) for _, p in photos):
        raise first
    return photos


def _write_ranking(
    ranking: AnimalRanking, images: dict[str, Image.Image | str], folder: Path
) -> dict:
    """The ranking's JSON with each photo's display-size `urls` (the photo, and the improved
    one when an edit improved it), improved.zip of the improved photos at full size (ranked
    first to last; only when there is one) and ranking.json, all in `folder`."""
    answer = ranking.to_dict()
    url = f"/results/{folder.name}"
    pairs = list(zip(answer["photos"], ranking.photos, strict=True))
    for k, (entry, ranked) in enumerate(pairs):
        entry["urls"] = {}
        image = images.get(entry["photo"])
        if isinstance(image, Image.Image):
            write_jpeg(shrunk(image, DISPLAY_SIDE), folder / f"photo-{k}.jpg")
            entry["urls"]["photo"] = f"{url}/photo-{k}.jpg"
        if ranked.improved is not None:
            write_jpeg(shrunk(ranked.improved, DISPLAY_SIDE), folder / f"improved-{k}.jpg")
            entry["urls"]["improved"] = f"{url}/improved-{k}.jpg"
    better = [(e, p.improved) for e, p in pairs if p.improved is not None]
    if better:
        with atomic(folder / ZIP) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            for entry, image in better:  # JPEG is compressed already: stored as it is
                with zf.open(f"{entry['rank']:02d}-{Path(entry['photo']).stem}.jpg", "w") as m:
                    image.save(m, format="JPEG", quality=JPEG_QUALITY)
    answer["urls"] = {"zip": f"{url}/{ZIP}" if better else None, "ranking": f"{url}/ranking.json"}
    write_json(folder / "ranking.json", answer)
    return answer


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 4)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile
        return 0.0


def write_jpeg(image: Image.Image, path: Path) -> None:
    with atomic(path) as tmp:
        image.save(tmp, format="JPEG", quality=JPEG_QUALITY)


def warm_up(model: Model) -> None:
    """Shipped photos through every model call the page makes (the bare backbone: the check)."""
    scores = model.kind != IMAGENET_RUN
    calls = f"{METHODS}, advice and the check" if scores else "the photo check"
    for i, name in enumerate(WARM_UP_PHOTOS, 1):
        note(f"warming up: photo {i} of {len(WARM_UP_PHOTOS)} through {calls} ...")
        photo = load_image(PHOTOS_DIR / name)
        model.check(photo)
        if scores:
            for method in parse_methods(METHODS):
                model.explain(photo, method, size=fitted(photo.size, DISPLAY_SIDE))
            model.advise(photo)
