#!/bin/sh
# Installs the Debian 12 host packages the Xen lab needs, if any are missing
# (the list and the installer are tests/scripts/deps.sh's).
exec "$(dirname "$0")/../scripts/deps.sh" xen-lab
