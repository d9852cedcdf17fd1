# shellcheck shell=bash
# SPDX-License-Identifier: ISC
# Provisioning, sourced by scripts/lib.sh: the Debian packages hostscan
# builds, runs and is tested with (HS_PACKAGES: CI installs exactly these),
# its service user, and the out-of-tree build.

HS_PACKAGES=(build-essential autoconf automake libtool pkg-config
	libfcgi-dev libjansson-dev libpq-dev libsodium-dev libssh-dev
	postgresql postgresql-contrib nginx-light spawn-fcgi fcgiwrap wrk curl openssl iproute2
	perl procps util-linux openssh-server openssh-client mandoc
	liboath-dev libqrencode-dev libcurl4-openssl-dev oathtool libjson-validator-perl
	libyaml-libyaml-perl python3-paramiko clang-14 libclang-rt-14-dev
	shellcheck debhelper dpkg-dev lintian cpio debootstrap systemd systemd-container
	man-db apache2 libapache2-mod-fcgid apache2-suexec-pristine libfcgi-perl
	libio-socket-ssl-perl patroni etcd-server python3-psycopg2
	prometheus)

hs_pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

ensure_packages() {
	local p missing=()

	for p in "${HS_PACKAGES[@]}"; do
		hs_pkg_installed "$p" && continue
		# Any nginx flavour with the FastCGI module will do.
		if [ "$p" = nginx-light ] && { hs_pkg_installed nginx ||
		    hs_pkg_installed nginx-core || hs_pkg_installed nginx-full; }; then
			continue
		fi
		missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	hs_need_root "installing ${missing[*]}"
	hs_say "installing missing packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# A mirror that drops a connection now and then must not fail the
	# run: apt retries each download, and the whole step is tried again.
	local try
	for try in 1 2 3; do
		if apt-get -o Acquire::Retries=5 update -q >&2 &&
		    apt-get -o Acquire::Retries=5 install -y -q \
		    --no-install-recommends "${missing[@]}" >&2; then
			return 0
		fi
		hs_say "installing packages failed (try $try of 3)"
		sleep $((try * 10))
	done
	return 1
}

hs_builddir() {
	if [ -n "${HOSTSCAN_BUILD_DIR:-}" ]; then
		printf '%s\n' "$HOSTSCAN_BUILD_DIR"
	elif [ "${HOSTSCAN_SANITIZERS:-0}" = 1 ]; then
		printf '%s\n' "$HS_SRCDIR/build-san"
	else
		printf '%s\n' "$HS_SRCDIR/build"
	fi
}

# Configures out of tree (once) and builds everything, test programs
# included.  HOSTSCAN_SANITIZERS=1 selects build-san/ with ASan+UBSan;
# HOSTSCAN_BUILD_DIR names another build directory, and with
# HOSTSCAN_NO_BUILD=1 its binaries are used as they are.
build() {
	local b flags=()

	b=$(hs_builddir)
	if [ "${HOSTSCAN_NO_BUILD:-0}" = 1 ]; then
		[ -x "$b/hostscan.fcgi" ] && [ -x "$b/hostscanctl" ] ||
			hs_die "HOSTSCAN_NO_BUILD=1 but $b has no hostscan.fcgi/hostscanctl"
		return 0
	fi
	if [ ! -x "$HS_SRCDIR/configure" ]; then
		hs_say "running autoreconf -fi in $HS_SRCDIR"
		(cd "$HS_SRCDIR" && autoreconf -fi) >&2
	fi
	[ "${HOSTSCAN_SANITIZERS:-0}" = 1 ] && flags+=(--enable-sanitizers)
	mkdir -p "$b"
	# A sanitizer build directory configured without them (by hand, or
	# an old run) would test the plain binaries under the sanitizer name.
	if [ -f "$b/config.status" ] && [ "${HOSTSCAN_SANITIZERS:-0}" = 1 ] &&
	    ! grep -q -- '--enable-sanitizers' "$b/config.status"; then
		hs_say "$b was configured without --enable-sanitizers: configuring again"
		(cd "$b" && "$HS_SRCDIR/configure" -q "${flags[@]}") >&2
		make -C "$b" -s clean >&2
	fi
	if [ ! -f "$b/Makefile" ]; then
		hs_say "configuring in $b ${flags[*]}"
		(cd "$b" && "$HS_SRCDIR/configure" -q "${flags[@]}") >&2
	fi
	hs_say "building in $b"
	# Two runs, not one with both goals: automake's "all" is a recursive
	# make, which would build libhscommon.a's objects at the same time as
	# the top-level make does for hs-sign, and the two race on them.
	make -C "$b" -s -j2 all >&2
	make -C "$b" -s -j2 t/tools/hs-sign >&2
}

# Fails unless every binary of build directory $1 was built with
# AddressSanitizer and UBSan: a "sanitizer" run of plain binaries would
# pass while proving nothing.
hs_check_sanitizer_build() {
	local b=$1 bin syms

	grep -q -- '-fsanitize=address' "$b/Makefile" 2>/dev/null ||
		hs_die "$b is not configured with --enable-sanitizers"
	for bin in hostscan.fcgi hostscand hostscanctl; do
		syms=$(nm "$b/$bin" 2>/dev/null) || syms=
		grep -q '__asan_init' <<<"$syms" && grep -q '__ubsan_handle' <<<"$syms" ||
			hs_die "$b/$bin is not built with AddressSanitizer and UBSan"
	done
}

ensure_user() {
	id -u "$HS_USER" >/dev/null 2>&1 && return 0
	hs_need_root "creating the system user $HS_USER"
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$HS_USER"
	hs_say "created system user $HS_USER"
}
