#!/bin/sh
# install.sh — install weighin on Raspberry Pi OS (Bookworm), or remove it.
#
#   sudo ./install.sh              install or upgrade (idempotent); on a
#                                  terminal it offers to add you (SUDO_USER)
#                                  to group weighin
#   sudo ./install.sh --add-user USER
#                                  the same, and add the login USER to group
#                                  weighin: weighctl may then read the
#                                  evidence and reach weighd's socket
#   sudo ./install.sh --uninstall  clear the station's retained MQTT messages,
#                                  remove the program; keep the evidence
#
# On Raspberry Pi OS and Debian prefer the .deb (README, docs/packaging.md);
# installing it over an install.sh install takes that install over.
#
# Run it from an unpacked `make dist` tarball (weighd and weighctl beside this
# script) or from the source tree after `make build-pi`. It picks the binary
# for the board's architecture, creates the user weighin in groups gpio and
# video, installs the udev rules, the config (an existing one is kept), and
# the systemd unit, enables the service and runs `weighctl doctor`.
set -eu

PREFIX=${PREFIX:-/usr/local}
ETC=/etc/weighin
STATE=/var/lib/weighin
UNIT=/etc/systemd/system/weighd.service
RULES=/etc/udev/rules.d/60-weighin.rules
here=$(cd "$(dirname "$0")" && pwd)

say() { echo "install.sh: $*"; }
die() { echo "install.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (sudo $0)"

systemd_running() { [ -d /run/systemd/system ]; }

uninstall() {
	# Decommissioning first, while weighd and the broker settings are still
	# there: its retained MQTT messages go, so Home Assistant drops the
	# device. Bounded: no network never holds up the removal.
	if [ -x "$PREFIX/bin/weighctl" ]; then
		timeout 30 "$PREFIX/bin/weighctl" ha clear --config "$ETC/weighd.yaml" --timeout 20s ||
			say "could not clear the retained MQTT messages (above); remove the device in Home Assistant by hand"
	fi
	if systemd_running; then systemctl disable --now weighd.service 2>/dev/null || true; else systemctl disable weighd.service 2>/dev/null || true; fi
	rm -f "$UNIT" "$RULES" "$PREFIX/bin/weighd" "$PREFIX/bin/weighctl"
	systemd_running && systemctl daemon-reload || true
	say "removed weighd, weighctl, the unit and the udev rules"
	say "kept the evidence in $STATE, the config in $ETC and the user weighin"
	say "(remove them by hand once the evidence is backed up, with the station key $STATE/station_ed25519)"
}

arch() {
	case "${ARCH:-$(uname -m)}" in
		aarch64|arm64) echo linux-arm64 ;;
		armv7l|armv8l|arm7) echo linux-arm7 ;;
		armv6l|arm6) echo linux-arm6 ;;
		x86_64|amd64) echo linux-amd64 ;;
		*) die "unsupported machine $(uname -m)" ;;
	esac
}

find_bin() { # name → path of the binary for this board
	a=$(arch)
	for d in "$here" "$here/../bin/$a" "$here/bin/$a"; do
		if [ -x "$d/$1" ] && [ -f "$d/$1" ]; then echo "$d/$1"; return; fi
	done
	if [ "$a" = linux-amd64 ] && [ -x "$here/../bin/$1" ]; then echo "$here/../bin/$1"; return; fi
	die "no $1 for $a beside install.sh (run 'make dist' or 'make build-pi')"
}

find_file() { # candidates… → first that exists
	for f in "$@"; do [ -f "$f" ] && { echo "$f"; return; }; done
	die "missing $1"
}

install_all() {
	if command -v dpkg-query >/dev/null 2>&1 && dpkg-query -W -f '${Status}' weighin 2>/dev/null | grep -q 'install ok installed'; then
		die "the Debian package weighin is installed: upgrade with 'sudo apt install ./weighin_<version>_<arch>.deb' instead"
	fi
	weighd=$(find_bin weighd)
	weighctl=$(find_bin weighctl)
	unit=$(find_file "$here/weighd.service" "$here/../systemd/weighd.service")
	conf=$(find_file "$here/weighd.yaml")
	rules=$(find_file "$here/60-weighin.rules" "$here/udev/60-weighin.rules")

	getent group gpio >/dev/null || groupadd --system gpio
	getent group video >/dev/null || groupadd --system video
	if ! id weighin >/dev/null 2>&1; then
		useradd --system --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin \
			--user-group --groups gpio,video weighin
		say "created user weighin (groups gpio, video)"
	else
		usermod -a -G gpio,video weighin
	fi

	install -D -m 0755 "$weighd" "$PREFIX/bin/weighd"
	install -D -m 0755 "$weighctl" "$PREFIX/bin/weighctl"
	install -D -m 0644 "$rules" "$RULES"
	install -d -m 0755 "$(dirname "$UNIT")"
	sed "s|^ExecStart=/usr/bin/weighd |ExecStart=$PREFIX/bin/weighd |" "$unit" > "$UNIT.tmp"
	chmod 0644 "$UNIT.tmp" && mv -f "$UNIT.tmp" "$UNIT"
	install -d -m 0755 "$ETC"
	if [ -f "$ETC/weighd.yaml" ]; then
		say "kept the existing $ETC/weighd.yaml"
	else
		install -m 0640 -g weighin "$conf" "$ETC/weighd.yaml"
	fi
	install -d -m 0750 -o weighin -g weighin "$STATE"

	if command -v udevadm >/dev/null 2>&1 && systemd_running; then
		udevadm control --reload-rules && udevadm trigger --subsystem-match=gpio --subsystem-match=video4linux || true
	fi
	if systemd_running; then
		systemctl daemon-reload
		systemctl enable --now weighd.service
	else
		systemctl enable weighd.service
		say "systemd is not running here: enabled weighd, not started"
	fi
	add_login_user
	say "installed $(arch) binaries to $PREFIX/bin"
	if systemd_running; then
		"$PREFIX/bin/weighctl" doctor --config "$ETC/weighd.yaml" || say "weighctl doctor found problems (above); fix them and run it again"
	else
		"$PREFIX/bin/weighctl" doctor --config "$ETC/weighd.yaml" || true
	fi
}

# add_login_user adds --add-user's USER to group weighin; without it, on a
# terminal only, it asks whether to add the user who ran sudo.
add_login_user() {
	u=$add_user
	if [ -z "$u" ] && [ -t 0 ] && [ -t 1 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ] &&
		! id -nG "$SUDO_USER" 2>/dev/null | tr ' ' '\n' | grep -qx weighin; then
		printf 'install.sh: add %s to group weighin, so that weighctl can read the evidence and reach weighd? [y/N] ' "$SUDO_USER"
		read -r answer || answer=
		case "$answer" in y|Y|yes|Yes|YES) u=$SUDO_USER ;; esac
	fi
	[ -n "$u" ] || return 0
	usermod -a -G weighin "$u"
	say "added $u to group weighin (from $u's next login on; or now in a shell started with: newgrp weighin)"
}

mode=install
add_user=
while [ $# -gt 0 ]; do
	case "$1" in
		--uninstall) mode=uninstall ;;
		--add-user)
			[ $# -ge 2 ] && [ -n "$2" ] || die "--add-user needs a USER"
			add_user=$2
			shift ;;
		--add-user=*) add_user=${1#--add-user=} ;;
		-h|--help) mode=help ;;
		*) die "unknown option $1 (use --uninstall, --add-user USER or nothing)" ;;
	esac
	shift
done
if [ -n "$add_user" ]; then
	[ "$mode" = install ] || die "--add-user goes with an install, not with $mode"
	id "$add_user" >/dev/null 2>&1 || die "--add-user: there is no user $add_user"
fi
case "$mode" in
	uninstall) uninstall ;;
	install) install_all ;;
	help) sed -n '2,21p' "$0" ;;
esac
