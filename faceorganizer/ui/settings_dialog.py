"""Settings: recognition model (download or import its weights), device, thresholds, minimum
face size, face names in XMP, and where the library lives. Returns the changes; the window
applies them."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from faceorganizer.ui.engine_worker import user_message


def model_choices() -> list[tuple[str, str, bool]]:
    """(model id, label, installed) for every known model."""
    from faceorganizer.core.models.registry import MODELS, model_status

    out = []
    for model_id, spec in MODELS.items():
        try:
            installed = model_status(model_id).installed
        except Exception:
            installed = False
        label = f"{spec.display_name} ({spec.dims}-d)"
        out.append((model_id, label + ("" if installed else " — not installed"), installed))
    return out


def device_choices() -> list[tuple[str, str]]:
    from faceorganizer.core.device import describe_devices

    found = describe_devices()
    gpus = [d for d in found if not d.startswith("cpu")]
    auto = f"Automatic (uses {gpus[0]})" if gpus else "Automatic (CPU: no GPU found)"
    out = [("auto", auto), ("cpu", "CPU")]
    out += [(d.split()[0], f"GPU: {d}") for d in gpus]
    return out


class _Transfer(QObject):
    """Runs a weights download/import on a plain thread; reports through queued signals."""

    progress = Signal(int, int)  # done bytes, total (0: unknown)
    finished = Signal(str)  # "" on success, else a message

    def start(self, model_id: str, source: Path | None) -> None:
        def run() -> None:
            from faceorganizer.core.models import registry

            try:
                if source is None:
                    registry.download_weights(
                        model_id, progress=lambda d, t: self.progress.emit(int(d), int(t or 0))
                    )
                else:
                    registry.import_weights(model_id, source)
            except Exception as exc:
                self.finished.emit(user_message(exc) or "failed")
            else:
                self.finished.emit("")

        threading.Thread(target=run, name="faceorganizer-weights", daemon=True).start()


class SettingsDialog(QDialog):
    """Edits a copy of the settings; ``changes()`` after ``exec()`` says what to apply."""

    def __init__(
        self,
        settings: dict[str, Any],
        library_path: str | None,
        device: str,
        parent: QWidget | None = None,
        cluster: tuple[str, str] = ("", ""),
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._initial = dict(settings)
        self._initial_device = device
        self._initial_cluster = cluster
        self._initial_library = library_path or ""

        self.model_combo = QComboBox()
        self.model_status = QLabel()
        self.model_status.setWordWrap(True)
        self.download_button = QPushButton("Download…")
        self.import_button = QPushButton("Import file…")
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_combo, 1)
        model_row.addWidget(self.download_button)
        model_row.addWidget(self.import_button)

        self.device_combo = QComboBox()
        for key, label in device_choices():
            self.device_combo.addItem(label, key)
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(device)))

        self.ray_address = QLineEdit(cluster[0])
        self.ray_address.setPlaceholderText("This computer")
        self.ray_address.setToolTip(
            "Read the photos on a Ray cluster (HOST:PORT); the library stays on this computer. "
            "Needs faceorganizer[cluster] here and on the workers"
        )
        self.ray_path_map = QLineEdit(cluster[1])
        self.ray_path_map.setPlaceholderText("/home/me/Pictures=/mnt/pictures")
        self.ray_path_map.setToolTip(
            "Where the workers find your folders (here=there, several separated by ;); "
            "a photo they cannot open is sent to them"
        )

        self.threshold = QSpinBox()
        self.threshold.setRange(1, 99)
        self.threshold.setSuffix(" %")
        self.threshold.setValue(round(float(settings["threshold_percent"])))
        self.threshold.setToolTip("How similar two faces must be to count as the same person")

        self.min_face = QSpinBox()
        self.min_face.setRange(0, 400)
        self.min_face.setSuffix(" px")
        self.min_face.setSpecialValueText("Automatic")
        self.min_face.setValue(int(settings.get("min_face_size") or 0))
        self.min_face.setToolTip("Faces smaller than this are ignored by the next scan")

        self.quality_bar = QDoubleSpinBox()
        self.quality_bar.setRange(0.0, 1.0)
        self.quality_bar.setSingleStep(0.05)
        self.quality_bar.setDecimals(2)
        self.quality_bar.setValue(float(settings["quality_bar"]))
        self.quality_bar.setToolTip(
            "Faces of a lower quality (cut by the edge, too small, blurred, turned away) are kept "
            "under Other faces but never grouped, suggested or shown as likely matches; 0 judges "
            "every face, 0.5 is where faces stop being reliably recognised"
        )

        self.xmp_import = QCheckBox("Read face names from XMP on every scan")
        self.xmp_import.setChecked(bool(self._setting("xmp_import_on_scan")))
        self.xmp_import.setToolTip(
            "Names that digiKam, Lightroom or exiftool wrote (photo.jpg.xmp, photo.xmp or the "
            "photo) arrive as your decisions; names that disagree are reported, not applied"
        )
        self.xmp_write = QCheckBox("Keep XMP sidecars up to date with names")
        self.xmp_write.setChecked(bool(self._setting("xmp_write_sidecars")))
        self.xmp_write.setToolTip(
            "After every edit, undo and redo, write the names into photo.jpg.xmp sidecars "
            "(photos are never changed)"
        )

        self.library_edit = QLineEdit(self._initial_library)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_library)
        lib_row = QHBoxLayout()
        lib_row.addWidget(self.library_edit, 1)
        lib_row.addWidget(browse)

        form = QFormLayout()
        form.addRow("Recognition model", model_row)
        form.addRow("", self.model_status)
        form.addRow("Run on", self.device_combo)
        form.addRow("Scan on a Ray cluster", self.ray_address)
        form.addRow("Photos on the workers", self.ray_path_map)
        form.addRow("Same person at", self.threshold)
        form.addRow("Smallest face", self.min_face)
        form.addRow("Quality to judge a face", self.quality_bar)
        form.addRow("Face names in XMP", self.xmp_import)
        form.addRow("", self.xmp_write)
        form.addRow("Library file", lib_row)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

        self._fill_models(str(settings["model_id"]))
        self.model_combo.currentIndexChanged.connect(self._update_model_status)
        self.download_button.clicked.connect(self._download)
        self.import_button.clicked.connect(self._import)
        self._update_model_status()

    def _fill_models(self, current: str) -> None:
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self._installed: dict[str, bool] = {}
        for model_id, label, installed in model_choices():
            self.model_combo.addItem(label, model_id)
            self._installed[model_id] = installed
        self.model_combo.setCurrentIndex(max(0, self.model_combo.findData(current)))
        self.model_combo.blockSignals(False)

    def selected_model(self) -> str:
        return str(self.model_combo.currentData())

    def _update_model_status(self) -> None:
        model_id = self.selected_model()
        installed = self._installed.get(model_id, False)
        changed = model_id != self._initial.get("model_id")
        if not installed:
            text = "Its weights are not on this computer: download them or import the file."
        elif changed:
            text = "Changing the model re-reads every face in the background after you press OK."
        else:
            text = "Installed."
        self.model_status.setText(text)
        self.download_button.setEnabled(not installed)
        self.import_button.setEnabled(not installed)

    def _choose_library(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Library file",
            self.library_edit.text(),
            "FaceOrganizer library (*.sqlite3)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            self.library_edit.setText(path)

    def _run_transfer(self, source: Path | None) -> None:
        model_id = self.selected_model()
        dialog = QProgressDialog("Getting the model's weights…", "", 0, 0, self)
        dialog.setCancelButton(None)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        transfer = _Transfer(self)

        def on_progress(done: int, total: int) -> None:
            if total:
                dialog.setRange(0, 1000)
                dialog.setValue(int(1000 * done / total))
                dialog.setLabelText(f"Downloading… {done / 1e6:.0f} of {total / 1e6:.0f} MB")

        def on_finished(message: str) -> None:
            dialog.close()
            if message:
                QMessageBox.warning(self, "Model not installed", message)
            self._fill_models(model_id)
            self._update_model_status()

        transfer.progress.connect(on_progress)
        transfer.finished.connect(on_finished)
        transfer.start(model_id, source)
        dialog.show()

    def _download(self) -> None:
        self._run_transfer(None)

    def _import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Weights file", "", "Weights (*.pt *.pth *.dat)"
        )
        if path:
            self._run_transfer(Path(path))

    def _setting(self, key: str) -> Any:
        """The value the dialog opened with (the library's settings name every one)."""
        return self._initial[key]

    def changes(self) -> dict[str, Any]:
        """Only what differs from what the dialog opened with."""
        out: dict[str, Any] = {}
        if self.selected_model() != self._initial.get("model_id"):
            out["model_id"] = self.selected_model()
        if float(self.threshold.value()) != float(self._initial["threshold_percent"]):
            out["threshold_percent"] = float(self.threshold.value())
        min_face = self.min_face.value() or None
        if min_face != self._initial.get("min_face_size"):
            out["min_face_size"] = min_face
        if round(self.quality_bar.value(), 2) != round(float(self._setting("quality_bar")), 2):
            out["quality_bar"] = round(self.quality_bar.value(), 2)
        for key, box in (
            ("xmp_import_on_scan", self.xmp_import),
            ("xmp_write_sidecars", self.xmp_write),
        ):
            if box.isChecked() != bool(self._setting(key)):
                out[key] = box.isChecked()
        if self.device_combo.currentData() != self._initial_device:
            out["device"] = self.device_combo.currentData()
        cluster = (self.ray_address.text().strip(), self.ray_path_map.text().strip())
        for key, value, initial in zip(
            ("ray_address", "ray_path_map"), cluster, self._initial_cluster, strict=True
        ):
            if value != initial:
                out[key] = value
        if self.library_edit.text().strip() != self._initial_library:
            out["library"] = self.library_edit.text().strip()
        return out
