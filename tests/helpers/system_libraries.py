"""Run a command as if some system libraries were not installed.

A private mount namespace (``unshare -m``, needs root or CAP_SYS_ADMIN) lays an overlay with
whiteouts over the system library folder, so the dynamic loader, ``ldd`` and Qt all find the
libraries missing, for that command only; the machine is left as it was.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

LIB_DIR = Path("/usr/lib/x86_64-linux-gnu")

_SCRIPT = """set -e
t=$(mktemp -d)
mount -t tmpfs tmpfs "$t"
mkdir "$t/upper" "$t/work"
cd {lib_dir}
for pattern in {patterns}; do
  for f in $pattern; do [ -e "$f" ] && mknod "$t/upper/$f" c 0 0; done
done
mount -t overlay overlay -o "lowerdir={lib_dir},upperdir=$t/upper,workdir=$t/work" {lib_dir}
cd /
exec "$@"
"""


def can_hide_libraries() -> str | None:
    """None when hiding works here, else why not (the reason a test is skipped)."""
    if not LIB_DIR.is_dir():
        return f"no {LIB_DIR} (not a Debian-style x86_64 system)"
    if shutil.which("unshare") is None:
        return "no unshare command"
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs tmpfs /mnt"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"cannot make a private mount namespace: {probe.stderr.strip()}"
    return None


def without_libraries(
    patterns: Sequence[str], command: Sequence[str], **kwargs
) -> subprocess.CompletedProcess:
    """Run ``command`` with the files matching ``patterns`` (e.g. ``libGL.so.1*``) hidden from
    the system library folder."""
    script = _SCRIPT.format(
        lib_dir=shlex.quote(str(LIB_DIR)), patterns=" ".join(shlex.quote(p) for p in patterns)
    )
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", *command],
        capture_output=True,
        text=True,
        **kwargs,
    )
