"""The device a Library is opened with is where its searches and its clustering compute."""

from __future__ import annotations

import pytest
import torch

from faceorganizer.core import evidence, grouping, knn
from faceorganizer.services.errors import LibraryError
from faceorganizer.services.library import Library


def test_cpu_reaches_search_and_clustering(library: Library, monkeypatch) -> None:
    library.device = "cpu"
    made: list[tuple[object, torch.device]] = []
    real = knn.as_tensor

    def recording(x, device):  # type: ignore[no-untyped-def]
        t = real(x, device)
        made.append((device, t.device))
        return t

    monkeypatch.setattr(knn, "as_tensor", recording)
    monkeypatch.setattr(grouping, "as_tensor", recording)
    monkeypatch.setattr(evidence, "as_tensor", recording)
    library.cluster()
    assert made and all(asked == torch.device("cpu") == got for asked, got in made)
    face = library.faces()[0]
    library.search(face_id=face.face_id, threshold=0)
    index = library._search.index._index  # type: ignore[union-attr]
    assert index is not None and index.device == torch.device("cpu")
    assert index._matrix.device == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_a_missing_gpu_is_a_clear_error_for_search_and_clustering(library: Library) -> None:
    library.device = "cuda"
    face = library.faces()[0]
    with pytest.raises(LibraryError, match="CUDA was requested"):
        library.search(face_id=face.face_id)
    with pytest.raises(LibraryError, match="CUDA was requested"):
        library.cluster()
