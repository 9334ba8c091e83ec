#!/bin/sh
# Install or upgrade zhijian from this unpacked bundle, offline. Run as root:
#   ./install.sh [--prefix /opt/zhijian] [--data /var/lib/zhijian] [--etc /etc/zhijian]
#                [--user zhijian] [--no-systemd]
# Upgrades keep the database (verdicts, appeals), the site's scorecards in ETC/rules and the
# data folder; the new release is checked (files, checksums, models, database schema) before
# PREFIX/current is switched to it, so a bad bundle or a downgrade leaves the running one alone.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=/opt/zhijian data=/var/lib/zhijian etc=/etc/zhijian user=zhijian systemd=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --etc) etc=$2; shift 2 ;;
    --user) user=$2; shift 2 ;;
    --no-systemd) systemd=no; shift ;;
    *) echo "usage: ./install.sh [--prefix DIR] [--data DIR] [--etc DIR] [--user NAME] [--no-systemd]" >&2; exit 1 ;;
  esac
done
version=$(sed -n 's/^zhijian //p' "$here/VERSION")
say() { echo "install: $*" >&2; }

say "checking the bundle's checksums"
(cd "$here" && sha256sum --quiet --strict -c MANIFEST.sha256) || { say "the bundle is damaged; nothing was changed"; exit 1; }

if ! id "$user" >/dev/null 2>&1; then
  say "creating the service user $user"
  useradd --system --home-dir "$data" --no-create-home --shell /usr/sbin/nologin "$user"
fi

dest="$prefix/releases/$version"
mkdir -p "$prefix/releases"
rm -rf "$dest.new"
cp -a "$here" "$dest.new"
# Convert the 4-bit text encoder once, here, so that services never write under PREFIX.
"$dest.new/bin/zhijian" doctor --home "$dest.new" --data "$prefix" --no-sample --min-free-gib 0 >&2 ||
  { say "the new release does not work on this machine (see above); nothing was changed"; rm -rf "$dest.new"; exit 1; }

mkdir -p "$data/inbox" "$data/out" "$etc"
if [ -d "$etc/rules" ]; then
  say "keeping the site's scorecards in $etc/rules (this release's own are in $dest/rules)"
else
  cp -a "$here/rules" "$etc/rules"
fi
chown "$user:" "$data" "$data/inbox" "$data/out" 2>/dev/null || chown "$user" "$data" "$data/inbox" "$data/out"

db="$data/out/zhijian.db"
if [ -f "$db" ]; then
  # Read-only: a newer database than this release (a downgrade) fails here; an older one is
  # upgraded by the first command that opens it, after a backup copy (zhijian.db.vN.bak).
  "$dest.new/bin/zhijian" doctor --home "$dest.new" --db "$db" --data "$data" --no-sample >&2 ||
    { say "not switching to $version: see the database line above"; rm -rf "$dest.new"; exit 1; }
fi

rm -rf "$dest"
mv "$dest.new" "$dest"
ln -sfn "releases/$version" "$prefix/current.new"
mv -T "$prefix/current.new" "$prefix/current"
say "zhijian $version is $prefix/current"

if [ "$systemd" = yes ] && [ -d /run/systemd/system ]; then
  cp "$dest"/systemd/*.service "$dest"/systemd/*.timer /etc/systemd/system/
  systemctl daemon-reload
  say "nightly run: systemctl enable --now zhijian-inspect.timer (drop recordings into $data/inbox)"
  say "many machines: zhijian-worker.service on each (docs/scale-out.md)"
fi
