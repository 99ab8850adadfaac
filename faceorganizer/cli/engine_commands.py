"""`detect` and `compare`: the engine on a user's own photos, no library needed."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from faceorganizer.cli.arguments import index, percent
from faceorganizer.cli.output import CliError, emit
from faceorganizer.core.types import EmbeddedFace, PhotoFaces
from faceorganizer.core.writer import Guard, WriteRefused, fit_name, make_folder, put_unique


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "detect",
        parents=[common],
        help="list the faces in photos (box, score, landmarks)",
        description="Find the faces in each photo and list them; optionally save face crops.",
    )
    p.add_argument("photos", nargs="+", type=Path, metavar="PHOTO")
    p.add_argument("--save-crops", type=Path, metavar="DIR", help="write each face as a JPEG here")
    p.set_defaults(func=run_detect)

    c = sub.add_parser(
        "compare",
        parents=[common],
        help="how similar are the faces in two photos",
        description="Detect a face in each photo (the largest, or --face N), embed both and "
        "print a calibrated similarity percentage and a same/different verdict.",
    )
    c.add_argument("photo_a", type=Path, metavar="A")
    c.add_argument("photo_b", type=Path, metavar="B")
    c.add_argument("--model", default=None, help="embedding model id (default: dlib-resnet-v1)")
    c.add_argument("--face", type=index, default=None, metavar="N", help="face in A (0: largest)")
    c.add_argument("--face-b", type=index, default=None, metavar="N", help="face number in B")
    c.add_argument(
        "--threshold",
        type=percent,
        default=50.0,
        metavar="PCT",
        help="same person at or above (%%)",
    )
    c.set_defaults(func=run_compare)


def _engine(args: argparse.Namespace, model_id: str | None = None) -> Any:
    from faceorganizer.core.device import DeviceUnavailableError
    from faceorganizer.core.models.registry import DEFAULT_MODEL_ID
    from faceorganizer.core.pipeline import FaceEngine
    from faceorganizer.core.weights import WeightsError

    try:
        return FaceEngine(model_id=model_id or DEFAULT_MODEL_ID, device=args.device)
    except (DeviceUnavailableError, WeightsError) as exc:
        raise CliError(str(exc).strip("'\"")) from exc


def _by_size(photo: PhotoFaces) -> list[EmbeddedFace]:
    """Faces largest first: the numbering `--face N` refers to."""
    return sorted(photo.faces, key=lambda f: f.detection.width * f.detection.height, reverse=True)


def _face_dict(index: int, face: EmbeddedFace) -> dict[str, Any]:
    d = face.detection
    return {
        "face": index,
        "box": [round(v, 1) for v in d.box],
        "score": round(d.score, 4),
        "landmarks": [[round(float(x), 1), round(float(y), 1)] for x, y in d.landmarks],
    }


def run_detect(args: argparse.Namespace) -> int:
    engine = _engine(args)
    if args.save_crops:
        try:
            make_folder(args.save_crops, Guard(), chosen=True)
        except WriteRefused as exc:
            raise CliError(str(exc)) from None
    results: list[dict[str, Any]] = []
    lines: list[str] = []
    failed = 0
    taken: set[Path] = set()
    for photo in engine.process([str(p) for p in args.photos]):
        if photo.error:
            failed += 1
            results.append({"path": photo.path, "error": photo.error})
            lines.append(f"{photo.path}: cannot read: {photo.error}")
            continue
        faces = _by_size(photo)
        entry = {
            "path": photo.path,
            "width": photo.width,
            "height": photo.height,
            "faces": [_face_dict(i, f) for i, f in enumerate(faces)],
        }
        lines.append(f"{photo.path}: {len(faces)} face(s) in {photo.width}x{photo.height}")
        original = _full_resolution(photo.path) if args.save_crops and faces else None
        for i, f in enumerate(faces):
            x0, y0, x1, y1 = f.detection.box
            lines.append(
                f"  face {i}: box ({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f}) "
                f"score {f.detection.score:.3f}"
            )
            if original is not None:
                name = fit_name(Path(photo.path).stem, f"_face{i}.jpg")
                try:
                    crop = _save_crop(original, f, args.save_crops, name, taken)
                except WriteRefused as exc:
                    raise CliError(str(exc)) from None
                entry["faces"][i]["crop"] = str(crop)
        results.append(entry)
    emit(args, results, "\n".join(lines))
    return 1 if failed == len(args.photos) else 0


def _full_resolution(path: str) -> Any:
    """The upright full-resolution photo, decoded once for all of its crops."""
    from PIL import Image

    from faceorganizer.core.images import load_image

    return Image.fromarray(load_image(path).rgb)


def _save_crop(image: Any, face: EmbeddedFace, folder: Path, name: str, taken: set[Path]) -> Path:
    """A crop with a margin from the full-resolution photo (never the thumbnail), as ``name``
    in ``folder``: never over an existing file (``name (2).jpg`` then), and the same crop found
    again on a re-run rather than written twice."""
    import io

    x0, y0, x1, y1 = face.detection.box
    m = 0.2 * max(x1 - x0, y1 - y0)
    w, h = image.size
    box = (max(0, int(x0 - m)), max(0, int(y0 - m)), min(w, int(x1 + m)), min(h, int(y1 + m)))
    buf = io.BytesIO()
    image.crop(box).save(buf, format="JPEG", quality=92)
    path, _written = put_unique(folder, name, buf.getvalue(), taken=taken)
    taken.add(path)
    return path


def _pick(photo: PhotoFaces, index: int | None, label: str) -> EmbeddedFace:
    if photo.error:
        raise CliError(f"cannot read {photo.path}: {photo.error}")
    faces = _by_size(photo)
    if not faces:
        raise CliError(f"no face found in {photo.path}")
    i = 0 if index is None else index
    if not 0 <= i < len(faces):
        raise CliError(f"{label} has {len(faces)} face(s); --face must be 0..{len(faces) - 1}")
    return faces[i]


def run_compare(args: argparse.Namespace) -> int:
    import numpy as np

    from faceorganizer.core.models.registry import calibration_for

    engine = _engine(args, args.model)
    a = _pick(engine.embed_image(str(args.photo_a)), args.face, str(args.photo_a))
    b = _pick(engine.embed_image(str(args.photo_b)), args.face_b, str(args.photo_b))
    cosine = float(np.dot(a.embedding, b.embedding))
    percent = float(calibration_for(a.model_id).percent(cosine))
    same = percent >= args.threshold
    verdict = "same person" if same else "different people"
    data = {
        "a": str(args.photo_a),
        "b": str(args.photo_b),
        "model": a.model_id,
        "cosine": round(cosine, 4),
        "percent": round(percent, 1),
        "threshold": args.threshold,
        "same": same,
    }
    emit(args, data, f"{percent:.1f}% similar ({a.model_id}, cosine {cosine:.3f}): {verdict}")
    return 0
