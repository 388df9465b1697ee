# Sourced by dev/demo and dev/netbox: the environment of the local demo NetBox instance.
# NetBox reads $NETBOX_ROOT/conf/configuration.py when NETBOX_CONFIGURATION is unset.
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export NETBOX_ROOT="$REPO_ROOT/.netbox"
export DJANGO_SETTINGS_MODULE=netbox.settings
unset NETBOX_CONFIGURATION
NETBOX="$REPO_ROOT/.venv/bin/netbox"
