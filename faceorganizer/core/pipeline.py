"""The face engine: photo files in, faces with boxes, landmarks, embeddings and thumbnails out.

Decoding runs ahead on a thread pool (PIL releases the GIL); detection, alignment and
embedding run on the thread that iterates ``process``, embedding in batches that span
photos. Threading contract: several threads may share one ``FaceEngine`` (a scan and a search by
photo in the desktop app): every model call holds the engine's lock, so their batches interleave
and never run the models at once; ``process`` may be stopped with a ``threading.Event`` checked
between photos, or by closing the generator.
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
from faceorganizer.core.device import resolve_device
from faceorganizer.core.images import ImageLoadError, LoadedImage, load_image
from faceorganizer.core.models.base import Embedder
from faceorganizer.core.thumbnails import face_thumbnail
from faceorganizer.core.types import Detection, EmbeddedFace, PhotoFaces

# Faces reach full quality at this side in original pixels: about the size at which a face
# fills dlib's 150 px chip without upsampling.
QUALITY_FULL_SIZE = 100.0
# Decoded images are at most this long: enough for the detector (which shrinks further to its
# ``detect_side``) and for sharp chips of faces that are small in a large photo.
DEFAULT_DECODE_SIDE = 1600


def face_quality(detection: Detection) -> float:
    """Detection confidence times a size factor that reaches 1 at ``QUALITY_FULL_SIZE`` px.

    Small faces embed poorly (few real pixels per chip pixel) and low-confidence ones are often
    profiles or partial faces; the product ranks covers and search results sensibly.
    """
    return float(detection.score * min(1.0, detection.size / QUALITY_FULL_SIZE))


@dataclass(eq=False)
class _Pending:
    """A photo between detection and embedding."""

    result: PhotoFaces
    detections: list[Detection] = field(default_factory=list)
    chips: torch.Tensor | None = None
    thumbnails: list[bytes] = field(default_factory=list)


class FaceEngine:
    """Runs decode → detect → align → embed → thumbnail over photo paths.

    ``min_face_size`` is in pixels of the detection image (see ``Detector``).
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
    ) -> None:
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
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
        self._detect_batch = 1 if self.device.type == "cpu" else detector.batch_size
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
            image = load_image(path, max_side=self.decode_side)
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
            original = _to_original(d, s)
            result.faces.append(
                EmbeddedFace(
                    detection=original,
                    embedding=vector,
                    model_id=self.model_id,
                    quality=face_quality(original),
                    thumbnail=face_thumbnail(image.rgb, d.box),
                )
            )
        return result

    def process(
        self, paths: Iterable[str | os.PathLike[str]], cancel: threading.Event | None = None
    ) -> Iterator[PhotoFaces]:
        """One ``PhotoFaces`` per path, in order; a file that cannot be read has ``.error``.

        Stops early (without yielding the rest) once ``cancel`` is set.
        """
        queue = deque(str(p) for p in paths)
        window = max(4, 2 * self.decode_threads, 2 * self._detect_batch)
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
                while decoding and len(batch) < self._detect_batch:
                    batch.append(decoding.popleft())
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

    def _decode(self, path: str) -> tuple[LoadedImage, float]:
        start = time.perf_counter()
        image = load_image(path, max_side=self.decode_side)
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
                        EmbeddedFace(
                            detection=d,
                            embedding=embeddings[row + k],
                            model_id=self.model_id,
                            quality=face_quality(d),
                            thumbnail=item.thumbnails[k],
                        )
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
