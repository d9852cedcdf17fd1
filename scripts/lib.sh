# shellcheck shell=bash
# SPDX-License-Identifier: ISC
# What scripts/up, scripts/down, scripts/test and bench/* source: where the
# checkout is, the service users, messages, and the two halves of the work:
#   scripts/provision.sh  packages, the service user, the build
#   scripts/stack.sh      a private PostgreSQL cluster, the hostscan.fcgi
#                         responder, nginx, the scheduler and the demo SSH
#                         targets under one run directory: start and stop
# Callers use bash with `set -euo pipefail` and source this file.

HS_SRCDIR=${HS_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
HS_USER=${HS_USER:-hostscan}
HS_WEB_GROUP=${HS_WEB_GROUP:-www-data}

hs_say() { printf '%s\n' "$*" >&2; }
hs_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

hs_need_root() {
	[ "$(id -u)" -eq 0 ] || hs_die "$1 must run as root (it installs packages, creates users and starts services as other users)"
}

# shellcheck source=scripts/provision.sh
. "$HS_SRCDIR/scripts/provision.sh"
# shellcheck source=scripts/stack.sh
. "$HS_SRCDIR/scripts/stack.sh"
