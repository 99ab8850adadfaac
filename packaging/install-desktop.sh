#!/bin/sh
# Put FaceOrganizer in the desktop's application menu, for the current user only.
#
#   install-desktop.sh [--from SHARE] [--exec COMMAND] [--uninstall]
#
# Copies the desktop entry, the AppStream metainfo and the icons from SHARE (default: the
# share/ folder beside this script, as in the bundle) into $XDG_DATA_HOME (default
# ~/.local/share), with the entry's Exec set to COMMAND (default: the faceorganizer program
# beside this script). `make install-desktop` runs it for a source checkout's .venv.
set -eu
APP_ID=io.github.faceorganizer.FaceOrganizer
here=$(cd "$(dirname "$0")" && pwd)
from=$here/share
exec_path=$here/faceorganizer
uninstall=no
while [ $# -gt 0 ]; do
  case $1 in
    --from) from=$2; shift 2 ;;
    --exec) exec_path=$2; shift 2 ;;
    --uninstall) uninstall=yes; shift ;;
    *) echo "usage: $0 [--from SHARE] [--exec COMMAND] [--uninstall]" >&2; exit 2 ;;
  esac
done
data=${XDG_DATA_HOME:-$HOME/.local/share}
sizes="16 24 32 48 64 128 256 512"

refresh() {
  if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$data/applications" 2>/dev/null || true
  fi
  if command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q -t "$data/icons/hicolor" 2>/dev/null || true
  fi
}

if [ "$uninstall" = yes ]; then
  rm -f "$data/applications/$APP_ID.desktop" "$data/metainfo/$APP_ID.metainfo.xml" \
    "$data/icons/hicolor/scalable/apps/$APP_ID.svg"
  for size in $sizes; do rm -f "$data/icons/hicolor/${size}x$size/apps/$APP_ID.png"; done
  refresh
  echo "removed FaceOrganizer from the menu ($data)"
  exit 0
fi

case $exec_path in
  /*) ;;
  *) echo "error: --exec needs an absolute path, got: $exec_path" >&2; exit 2 ;;
esac
case $exec_path in
  *[\"\`\$\\%\|\&]*)
    echo "error: a menu entry cannot run a path with any of \" \` \$ \\ % | &: $exec_path" >&2
    exit 2 ;;
esac
[ -x "$exec_path" ] || { echo "error: $exec_path is not a program" >&2; exit 2; }
[ -f "$from/applications/$APP_ID.desktop" ] || { echo "error: no desktop files in $from" >&2; exit 2; }
case $exec_path in
  *[[:space:]\'\>\<~\;\*\?\#\(\)]*) quoted="\"$exec_path\"" ;;
  *) quoted=$exec_path ;;
esac

mkdir -p "$data/applications" "$data/metainfo" "$data/icons/hicolor/scalable/apps"
sed -e "s|^Exec=faceorganizer |Exec=$quoted |" -e "s|^TryExec=.*|TryExec=$exec_path|" \
  "$from/applications/$APP_ID.desktop" > "$data/applications/$APP_ID.desktop.tmp"
mv "$data/applications/$APP_ID.desktop.tmp" "$data/applications/$APP_ID.desktop"
cp "$from/metainfo/$APP_ID.metainfo.xml" "$data/metainfo/"
cp "$from/icons/hicolor/scalable/apps/$APP_ID.svg" "$data/icons/hicolor/scalable/apps/"
for size in $sizes; do
  mkdir -p "$data/icons/hicolor/${size}x$size/apps"
  cp "$from/icons/hicolor/${size}x$size/apps/$APP_ID.png" "$data/icons/hicolor/${size}x$size/apps/"
done
refresh
echo "FaceOrganizer is in the menu: $data/applications/$APP_ID.desktop runs $exec_path"
