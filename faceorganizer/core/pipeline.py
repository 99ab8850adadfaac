"""The face engine: photo files in, faces with boxes, landmarks, embeddings and thumbnails out.

Decoding runs ahead on a thread pool (PIL releases the GIL). On the CPU, each photo is then
detected, aligned and embedded by one of ``workers`` threads (one per CPU, each running torch on
one thread: ``core/threads.py``), a batch of photos at a time; on a GPU, detection and embedding
run on the thread that iterates ``process``, in batches that span photos.

Threading contract: several threads may share one ``FaceEngine`` (a scan and a search by photo
in the desktop app): every model call holds the engine's lock, so their batches interleave and
never run the models at once (the engine's own workers run only while it holds the lock);
``process`` may be stopped with a ``threading.Event`` checked between photos, or by closing the
generator.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch

from faceorganizer.config import DEFAULT_MODEL_ID
from faceorganizer.core import detection as det
from faceorganizer.core.allocator import keep_freed_memory
from faceorganizer.core.device import resolve_device
from faceorganizer.core.images import ImageLoadError, LoadedImage, load_image
from faceorganizer.core.models.base import Embedder
from faceorganizer.core.quality import quality_model
from faceorganizer.core.quality import recipe as quality_recipe
from faceorganizer.core.quality_signals import measure
from faceorganizer.core.threads import torch_worker_pool, usable_cpus
from faceorganizer.core.thumbnails import face_thumbnail
from faceorganizer.core.types import Detection, EmbeddedFace, PhotoFaces

# Decoded images are at most this long: enough for the detector and for sharp chips of faces
# that are small in a large photo. A JPEG is kept at the DCT scale that lands between
# DECODE_MIN_SHARE of this and this (a 12 MP phone photo at 1/2: 2016 px), so it is never
# resized whole; the detector works on it as it is (its pyramid starts at the same size
# whatever the photo's: ``Detector.min_face``).
DEFAULT_DECODE_SIDE = 2048
DECODE_MIN_SHARE = 0.75
# At most this many photo workers on the CPU: each holds a photo's pyramid and summed-area
# tables (tens of MB), and few laptops have more cores.
MAX_WORKERS = 8
# Photos given to the workers per hold of the models lock, per worker: the batch ends when its
# slowest photo does (decoding fills the gap); a search by photo waits for at most one batch.
PHOTOS_PER_WORKER = 4


def judged(
    detection: Detection,
    embedding: np.ndarray,
    model_id: str,
    thumbnail: bytes,
    width: int,
    height: int,
) -> EmbeddedFace:
    """A face with its quality signals and quality (``core.quality``), in original pixels."""
    model = quality_model(model_id)
    signals = measure(
        detection.box, detection.landmarks, detection.score, width, height, thumbnail,
        embedding, model,
    )  # fmt: skip
    return EmbeddedFace(
        detection=detection,
        embedding=embedding,
        model_id=model_id,
        quality=model.quality(signals),
        thumbnail=thumbnail,
        signals=signals.as_dict(),
        quality_recipe=quality_recipe(model_id),
    )


@dataclass(eq=False)
class _Pending:
    """A photo between detection and embedding."""

    result: PhotoFaces
    detections: list[Detection] = field(default_factory=list)
    chips: torch.Tensor | None = None
    thumbnails: list[bytes] = field(default_factory=list)


class FaceEngine:
    """Runs decode → detect → align → embed → thumbnail over photo paths.

    ``min_face_size`` is in pixels of the detection image (see ``Detector``). ``workers``:
    photos processed at once on the CPU (default: one per CPU, at most ``MAX_WORKERS``); 1
    runs every model call on the thread that iterates ``process``, with torch's own threads.
    """

    def __init__(
        self,
        model_id: str = DEFAULT_MODEL_ID,
        device: str | torch.device = "auto",
        *,
        embedder: Embedder | None = None,
        detector: det.Detector | None = None,
        decode_threads: int = 2,
        batch_size: int = 32,
        decode_side: int = DEFAULT_DECODE_SIDE,
        min_face_size: int | None = None,
        workers: int | None = None,
    ) -> None:
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        keep_freed_memory()
        if embedder is None:
            from faceorganizer.core.models.registry import load_embedder

            embedder = load_embedder(model_id, self.device)
        self.embedder = embedder
        self.model_id = embedder.spec.model_id
        if detector is None:
            detector = det.Detector(
                self.device, min_face_size=int(min_face_size or det.DEFAULT_MIN_FACE_SIZE)
            )
        self.detector = detector
        self.decode_threads = max(1, int(decode_threads))
        self.batch_size = max(1, int(batch_size))
        self.decode_side = max(int(decode_side), detector.detect_side or 0)
        on_cpu = self.device.type == "cpu"
        self._detect_batch = 1 if on_cpu else detector.batch_size
        if workers is None:
            workers = min(usable_cpus(), MAX_WORKERS) if on_cpu else 1
        self.workers = max(1, int(workers))
        self._workers: ThreadPoolExecutor | None = None  # started on first use
        self._models_lock = threading.Lock()

    def embed_image(self, path: str | os.PathLike[str]) -> PhotoFaces:
        """Faces of one photo (for a search by photo, or ``compare``)."""
        return next(iter(self.process([path])))

    def embed_boxes(
        self, path: str | os.PathLike[str], boxes: Sequence[tuple[float, float, float, float]]
    ) -> PhotoFaces:
        """Faces cut from ``boxes`` (pixels of the upright original) of one photo, embedded by
        this engine's model: regions drawn by a person or another app that detection missed
        (``core.region_faces``). An unreadable photo gives ``PhotoFaces.error``."""
        from faceorganizer.core.region_faces import detections_for_boxes

        result = PhotoFaces(path=str(path))
        try:
            image = self.load_photo(path)
        except ImageLoadError as exc:
            result.error = exc.reason
            return result
        result.width, result.height = image.width, image.height
        s = image.scale
        scaled = [(b[0] / s, b[1] / s, b[2] / s, b[3] / s) for b in boxes]
        with self._models_lock:
            found = detections_for_boxes(self.detector, image.rgb, scaled)
            chips = self.embedder.prepare(image.rgb, found)
            vectors = self.embedder.embed(chips) if len(found) else np.empty((0, 0), np.float32)
        for d, vector in zip(found, vectors, strict=True):
            result.faces.append(
                judged(
                    _to_original(d, s),
                    vector,
                    self.model_id,
                    face_thumbnail(image.rgb, d.box),
                    image.width,
                    image.height,
                )  # fmt: skip
            )
        return result

    def process(
        self, paths: Iterable[str | os.PathLike[str]], cancel: threading.Event | None = None
    ) -> Iterator[PhotoFaces]:
        """One ``PhotoFaces`` per path, in order; a file that cannot be read has ``.error``.

        Stops early (without yielding the rest) once ``cancel`` is set.
        """
        queue = deque(str(p) for p in paths)
        per_batch = self._detect_batch if self.workers == 1 else PHOTOS_PER_WORKER * self.workers
        window = max(4, 2 * self.decode_threads, 2 * per_batch)
        pool = ThreadPoolExecutor(self.decode_threads, thread_name_prefix="decode")
        decoding: deque[tuple[str, Future[tuple[LoadedImage, float]]]] = deque()
        waiting: list[_Pending] = []
        try:
            while queue or decoding or waiting:
                if cancel is not None and cancel.is_set():
                    return
                while queue and len(decoding) < window:
                    path = queue.popleft()
                    decoding.append((path, pool.submit(self._decode, path)))
                batch: list[tuple[str, Future[tuple[LoadedImage, float]]]] = []
                while decoding and len(batch) < per_batch:
                    batch.append(decoding.popleft())
                if self.workers > 1:
                    with self._models_lock:
                        done = self._in_workers(batch, cancel)
                    for result in done:
                        if cancel is not None and cancel.is_set():
                            return
                        yield result
                    continue
                with self._models_lock:
                    waiting.extend(self._detect_and_align(batch))
                faces_waiting = sum(len(p.detections) for p in waiting)
                if waiting and (
                    faces_waiting >= self.batch_size
                    or len(waiting) >= 4 * self.batch_size
                    or not (queue or decoding)
                ):
                    with self._models_lock:
                        done, waiting = self._embed(waiting), []
                    for result in done:
                        if cancel is not None and cancel.is_set():
                            return
                        yield result
        finally:
            for _, future in decoding:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def _in_workers(
        self,
        batch: list[tuple[str, Future[tuple[LoadedImage, float]]]],
        cancel: threading.Event | None,
    ) -> list[PhotoFaces]:
        """Each photo of ``batch`` detected, aligned and embedded by one worker; the caller
        holds the models lock. Photos not started when ``cancel`` is set are skipped."""
        if self._workers is None:
            self._workers = torch_worker_pool(self.workers, "engine")

        def one(item: tuple[str, Future[tuple[LoadedImage, float]]]) -> PhotoFaces:
            if cancel is not None and cancel.is_set():
                return PhotoFaces(path=item[0], error="cancelled")
            return self._embed(self._detect_and_align([item]))[0]

        return list(self._workers.map(one, batch))

    def load_photo(self, path: str | os.PathLike[str]) -> LoadedImage:
        """A photo decoded as the engine decodes it (raises ``ImageLoadError``)."""
        return load_image(
            path, max_side=self.decode_side, min_side=round(DECODE_MIN_SHARE * self.decode_side)
        )

    def _decode(self, path: str) -> tuple[LoadedImage, float]:
        start = time.perf_counter()
        image = self.load_photo(path)
        return image, time.perf_counter() - start

    def _detect_and_align(
        self, batch: list[tuple[str, Future[tuple[LoadedImage, float]]]]
    ) -> list[_Pending]:
        pending: list[_Pending] = []
        images: list[tuple[_Pending, LoadedImage]] = []
        for path, future in batch:
            result = PhotoFaces(path=path)
            try:
                image, seconds = future.result()
            except ImageLoadError as exc:
                result.error = exc.reason
            except Exception as exc:  # never let one file stop a scan
                result.error = f"cannot decode: {exc}"
            else:
                result.width, result.height = image.width, image.height
                result.timings["decode"] = seconds
                images.append((_Pending(result), image))
            if result.error:
                pending.append(_Pending(result))
        if not images:
            return pending
        start = time.perf_counter()
        try:
            found = self.detector.detect([image.rgb for _, image in images])
        except Exception as exc:
            for item, _ in images:
                item.result.error = f"detection failed: {exc}"
                pending.append(item)
            return pending
        per_photo = (time.perf_counter() - start) / len(images)
        for (item, image), faces in zip(images, found, strict=True):
            item.result.timings["detect"] = per_photo
            start = time.perf_counter()
            try:
                item.detections = faces
                item.chips = self.embedder.prepare(image.rgb, faces)
                item.result.timings["align"] = time.perf_counter() - start
                start = time.perf_counter()
                item.thumbnails = [face_thumbnail(image.rgb, f.box) for f in faces]
                item.result.timings["thumbnail"] = time.perf_counter() - start
                item.detections = [_to_original(f, image.scale) for f in faces]
            except Exception as exc:
                item.result.error = f"alignment failed: {exc}"
                item.detections, item.chips = [], None
            pending.append(item)
        return pending

    def _embed(self, waiting: list[_Pending]) -> list[PhotoFaces]:
        with_faces = [p for p in waiting if p.chips is not None and len(p.detections)]
        vectors: list[np.ndarray] = []
        seconds = 0.0
        if with_faces:
            chips = torch.cat([p.chips for p in with_faces if p.chips is not None])
            start = time.perf_counter()
            for i in range(0, len(chips), self.batch_size):
                vectors.append(self.embedder.embed(chips[i : i + self.batch_size]))
            seconds = time.perf_counter() - start
        embeddings = np.concatenate(vectors) if vectors else np.empty((0, 0), np.float32)
        total = max(1, len(embeddings))
        embedded = {id(p) for p in with_faces}
        row = 0
        done = []
        for item in waiting:
            result = item.result
            if id(item) in embedded:
                n = len(item.detections)
                result.timings["embed"] = seconds * n / total
                for k, d in enumerate(item.detections):
                    result.faces.append(
                        judged(
                            d,
                            embeddings[row + k],
                            self.model_id,
                            item.thumbnails[k],
                            result.width,
                            result.height,
                        )  # fmt: skip
                    )
                row += n
            elif result.error is None:
                result.timings.setdefault("embed", 0.0)
            done.append(result)
        return done


def _to_original(face: Detection, scale: float) -> Detection:
    """A detection in decoded pixels mapped to the upright original photo."""
    if scale == 1.0:
        return face
    x0, y0, x1, y1 = face.box
    return Detection(
        box=(x0 * scale, y0 * scale, x1 * scale, y1 * scale),
        score=face.score,
        landmarks=(face.landmarks * scale).astype(np.float32),
    )
