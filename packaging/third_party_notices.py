"""THIRD-PARTY-NOTICES for the desktop bundle, made from what the bundle ships.

Run by build_bundle.sh with the bundle's build environment, after PyInstaller:
``faceorganizer.spec`` lists every file it put into the bundle and the file it came from
(``build/bundle-sources.tsv``). Each source file is traced to the Python distribution that
installed it (its RECORD, read through importlib.metadata), or to the Debian package that holds
it (``dpkg -S``: the Python runtime and the system libraries Qt's xcb plugin needs). For each
component the notices give its name, version, declared licence and the full text of every
licence and notice file it ships (a distribution's licence files, a Debian package's copyright
file). A distribution that ships none gets the texts in packaging/licenses/ for the licence it
declares (PySide6 and shiboken6 ship none). ``third-party.json`` lists the same for the bundle's
test, which fails on a component without a licence text or a file no component accounts for.

Usage: python packaging/third_party_notices.py build/bundle-sources.tsv dist/FaceOrganizer
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from faceorganizer import __version__, licensing

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TEXTS = HERE / "licenses"
LICENSE_NAME = re.compile(r"(^|/)(LICEN[CS]E|COPYING|NOTICE|AUTHORS)[^/]*$", re.IGNORECASE)
# Declared licences -> the texts a distribution that ships none is given (the option taken).
FALLBACK = {
    "LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only": ("LGPL-3.0.txt", "GPL-3.0.txt"),
}
# Not a file of the bundle, but in it: the executable is PyInstaller's bootloader.
ALWAYS = ("pyinstaller",)


@dataclass
class Component:
    name: str
    version: str
    kind: str  # "python" (a distribution) or "debian" (a system package)
    license: str
    home: str = ""
    texts: list[tuple[str, str]] = field(default_factory=list)  # (file name, text)
    fallback: bool = False  # texts from packaging/licenses/ (the distribution ships none)
    shipped: set[str] = field(default_factory=set)  # bundle paths (relative to _internal)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "license": self.license,
            "home": self.home,
            "texts": [{"file": f, "chars": len(t)} for f, t in self.texts],
            "fallback": self.fallback,
            "shipped": sorted({p.split("/", 1)[0] for p in self.shipped}),
            "files": len(self.shipped),
        }


def declared_license(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    expression = meta.get("License-Expression")
    if expression:
        return expression.strip()
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) < 100:
        return text
    classifiers = [
        c.split("::")[-1].strip()
        for c in meta.get_all("Classifier") or []
        if c.startswith("License ::")
    ]
    return "; ".join(classifiers) or (text.splitlines()[0][:100] if text else "not declared")


def _home(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    for url in meta.get_all("Project-URL") or []:
        label, _, link = url.partition(",")
        if label.strip().lower() in ("homepage", "home", "source", "repository"):
            return link.strip()
    return (meta.get("Home-page") or "").strip()


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace").strip()


def distribution_texts(dist: metadata.Distribution) -> list[tuple[str, str]]:
    """Its licence and notice files: those its metadata names (PEP 639), else any file it
    installed named LICENSE, COPYING, NOTICE or AUTHORS."""
    files = [f for f in dist.files or [] if LICENSE_NAME.search(str(f))]
    named = dist.metadata.get_all("License-File") or []
    if named:
        wanted = {n.replace("\\", "/") for n in named}
        chosen = [f for f in files if any(str(f).endswith(n) for n in wanted)]
        files = chosen or files
    texts = []
    for f in files:
        path = Path(str(dist.locate_file(f)))
        if path.is_file():
            texts.append((str(f), _read(path)))
    return texts


def python_components() -> tuple[dict[str, Component], dict[Path, str]]:
    """Every installed distribution, and which one installed each file."""
    components: dict[str, Component] = {}
    owner: dict[Path, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in components:
            continue
        components[key] = Component(
            name, dist.version, "python", declared_license(dist), _home(dist),
            distribution_texts(dist),
        )  # fmt: skip
        for f in dist.files or []:
            owner[Path(str(dist.locate_file(f))).resolve()] = key
    for component in components.values():
        if not component.texts and component.license in FALLBACK:
            component.texts = [(n, _read(TEXTS / n)) for n in FALLBACK[component.license]]
            component.fallback = True
    return components, owner


def debian_packages(paths: list[Path]) -> dict[Path, str]:
    """The Debian package of each path dpkg knows (merged /usr: tried with and without it)."""
    if not paths or shutil.which("dpkg") is None:
        return {}
    tried: dict[str, Path] = {}
    for path in paths:
        for variant in {str(path), re.sub(r"^/usr/", "/", str(path)), "/usr" + str(path)}:
            tried[variant] = path
    found: dict[Path, str] = {}
    names = sorted(tried)
    for start in range(0, len(names), 500):
        done = subprocess.run(
            ["dpkg", "-S", *names[start : start + 500]], capture_output=True, text=True
        )
        for line in done.stdout.splitlines():
            package, _, where = line.partition(": ")
            for one in where.split(", "):
                if one in tried and "," not in package:
                    found[tried[one]] = package.split(":")[0]
    return found


def debian_component(package: str) -> Component:
    version = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True
    ).stdout.strip()
    copyright_file = Path("/usr/share/doc") / package / "copyright"
    texts = [(str(copyright_file), _read(copyright_file))] if copyright_file.is_file() else []
    return Component(package, version, "debian", "see its copyright file", "", texts)


def own_component() -> Component:
    """FaceOrganizer itself (PyInstaller may take it from the checkout it runs in)."""
    return Component(
        "faceorganizer", __version__, "python", licensing.SOURCE_LICENSE, "",
        [("LICENSE", _read(REPO / "LICENSE"))],
    )  # fmt: skip


def python_runtime() -> tuple[Component, list[Path]] | None:
    """The Python the bundle carries (its standard library and libpython), where its own
    licence file is beside the standard library (python.org and pyenv builds; Debian's Python
    is found through dpkg instead)."""
    paths = sysconfig.get_paths()
    stdlib = Path(paths["stdlib"])
    license_file = stdlib / "LICENSE.txt"
    if not license_file.is_file():
        return None
    roots = {stdlib.resolve(), Path(paths["platstdlib"]).resolve()}
    libdir = sysconfig.get_config_var("LIBDIR")
    library = sysconfig.get_config_var("LDLIBRARY")
    if libdir and library:
        roots.add((Path(libdir) / library).resolve())
    version = sys.version.split()[0]
    runtime = Component(
        "Python", version, "python-runtime", "PSF-2.0", "https://www.python.org",
        [("LICENSE.txt", _read(license_file))],
    )  # fmt: skip
    return runtime, sorted(roots)


def collect(sources: list[tuple[str, Path]]) -> tuple[list[Component], list[str]]:
    """The components the bundle's files come from, and bundle paths no component explains."""
    components, owner = python_components()
    runtime = python_runtime()
    ours = own_component()
    used: dict[str, Component] = {}
    system: list[tuple[str, Path]] = []
    for dest, source in sources:
        if dest == "base_library.zip":  # PyInstaller's zip of standard library modules
            source = Path(sysconfig.get_paths()["stdlib"]) / "os.py"
        resolved = source.resolve()
        key = owner.get(resolved)
        if key is None and resolved.is_relative_to(REPO / "faceorganizer"):
            used.setdefault("faceorganizer", ours).shipped.add(dest)
            continue
        if key is None and runtime and any(_within(resolved, r) for r in runtime[1]):
            used.setdefault("python", runtime[0]).shipped.add(dest)
            continue
        if key is None:
            system.append((dest, source))
            continue
        component = used.setdefault(key, components[key])
        component.shipped.add(dest)
    for key in ALWAYS:
        if key in components:
            used.setdefault(key, components[key])
    packages = debian_packages(sorted({s.resolve() for _, s in system} | {s for _, s in system}))
    unexplained = []
    for dest, source in system:
        package = packages.get(source) or packages.get(source.resolve())
        if package is None:
            unexplained.append(dest)
            continue
        if package not in used:
            used[package] = debian_component(package)
        used[package].shipped.add(dest)
    kinds = ("python-runtime", "python", "debian")
    order = sorted(used.values(), key=lambda c: (kinds.index(c.kind), c.name.lower()))
    return order, sorted(unexplained)


def _within(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


HEADER = """\
FaceOrganizer {version}: the desktop bundle's licences and notices

{summary}

FaceOrganizer's own licence is in LICENSE; the GNU GPL, version 3, in COPYING. Each component
below remains under its own licence, whose full text follows its entry. The source code of the
Python components is on PyPI (their sdists, at the versions listed) or at the home pages listed;
that of the system libraries is in Debian's source packages of the same names and versions; the
Qt and PySide6 libraries are separate files in _internal/ that can be replaced.

This file was generated from the bundle's contents when it was built.
"""


def write(bundle: Path, components: list[Component], unexplained: list[str]) -> None:
    lines = [HEADER.format(version=__version__, summary=licensing.summary()), ""]
    lines.append(f"Components ({len(components)}):")
    for c in components:
        lines.append(f"  {c.name} {c.version}: {c.license}")
    for c in components:
        lines += ["", "=" * 78, f"{c.name} {c.version}", f"Licence: {c.license}"]
        if c.home:
            lines.append(f"Home: {c.home}")
        if c.fallback:
            lines.append("(It ships no licence file: the text of the licence taken follows.)")
        for name, text in c.texts:
            lines += ["", f"---- {name}", "", text]
    (bundle / licensing.NOTICES).write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copyfile(REPO / "LICENSE", bundle / "LICENSE")
    shutil.copyfile(TEXTS / "GPL-3.0.txt", bundle / "COPYING")
    data = {
        "bundle_license": licensing.BUNDLE_LICENSE,
        "source_license": licensing.SOURCE_LICENSE,
        "components": [c.to_json() for c in components],
        "unexplained": unexplained,
    }
    (bundle / "third-party.json").write_text(json.dumps(data, indent=1) + "\n")


def read_sources(path: Path) -> list[tuple[str, Path]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        dest, _, source = line.partition("\t")
        if source:
            rows.append((dest, Path(source)))
    return rows


def main(argv: list[str]) -> int:
    sources_file, bundle = Path(argv[1]), Path(argv[2])
    components, unexplained = collect(read_sources(sources_file))
    write(bundle, components, unexplained)
    missing = [c.name for c in components if not c.texts]
    print(
        f"{licensing.NOTICES}: {len(components)} components, "
        f"{sum(c.fallback for c in components)} with texts from packaging/licenses"
        + (f"; NO LICENCE TEXT: {', '.join(missing)}" if missing else "")
        + (f"; {len(unexplained)} files of no known component" if unexplained else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
