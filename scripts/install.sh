#!/usr/bin/env bash
# Builds and installs acextream as a systemd service:
#   /usr/local/bin/acextream, /etc/acextream/acextream.toml (kept if present),
#   /etc/systemd/system/acextream.service. Run as root from the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $EUID -ne 0 ]]; then
    echo "install.sh: run as root (sudo scripts/install.sh)" >&2
    exit 1
fi

cargo build --release --bin acextream
install -D -m 0755 target/release/acextream /usr/local/bin/acextream
install -d -m 0755 /etc/acextream
if [[ ! -e /etc/acextream/acextream.toml ]]; then
    install -m 0644 config/acextream.toml /etc/acextream/acextream.toml
    echo "installed /etc/acextream/acextream.toml (edit it, then restart the service)"
else
    echo "kept the existing /etc/acextream/acextream.toml"
fi
if [[ ! -e /etc/acextream/acextream.env ]]; then
    install -m 0600 /dev/null /etc/acextream/acextream.env
    echo "# ACEXTREAM_ADMIN__PASSWORD=choose-a-password" > /etc/acextream/acextream.env
fi
install -D -m 0644 scripts/acextream.service /etc/systemd/system/acextream.service
install -D -m 0644 README.md /usr/share/doc/acextream/README.md
if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl daemon-reload
    systemctl enable --now acextream
    echo "acextream is running: systemctl status acextream; journalctl -u acextream"
    echo "the first start prints a generated admin password in the journal unless"
    echo "ACEXTREAM_ADMIN__PASSWORD is set in /etc/acextream/acextream.env"
else
    echo "systemd is not running here; start it with: systemctl enable --now acextream"
fi
