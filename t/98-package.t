#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The Debian package on a clean Debian 12 booted with systemd: a
# debootstrap root (t/tools/debian-root; read-only under an overlay, so
# every run starts clean) runs in systemd-nspawn with systemd as PID 1,
# its own PostgreSQL 15 and the host's network.  In it, as an
# administrator would: `dpkg -i` of the built .deb creates the users, the
# keys with their owners and modes, enables and starts the units; the
# database is set up exactly as the README says (peer authentication with
# a map, createdb, `hostscanctl migrate`); keys are rotated with the
# packaged paths; the responder answers through its systemd socket behind
# the host's nginx, and the packaged hostscand, under all its hardening,
# scans a real sshd; `dpkg --purge` removes the users and the files.
# First, in a plain chroot of the same root (no systemd running, as in an
# image build), `dpkg -i` makes the users and keys and only enables units.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT child_pids run_cmd scratch_dir wait_exit note_secret
    env_required);
use SSHD;
use Test::More;
use File::Copy ();
use File::Path ();
use JSON::PP ();
use Time::HiRes ();

need_services();
my $deb = $ENV{HOSTSCAN_DEB} // '';
my $base = $ENV{HOSTSCAN_DEBIAN_ROOT} // '';
plan skip_all => 'HOSTSCAN_DEB and HOSTSCAN_DEBIAN_ROOT not set '
    . '(scripts/test builds both when it runs this test)'
    unless -s $deb && -d $base;
my $why = SSHD::available();
plan skip_all => "no sshd targets here: $why" if $why;

my $SRC = env_required('HOSTSCAN_SRCDIR');
my $d = scratch_dir() . "/pkg-$$";
my $root = "$d/root";
my $machine = "hs-pkg-$$";
my ($nspawn, $leader, @mounts, @cgroups, $web, $target);
my %took;

sub run_ok {
	my ($what, @cmd) = @_;
	my ($rc, $out, $err) = run_cmd(\@cmd);
	die "$what failed ($rc): $out$err\n" if $rc != 0;
	return $out;
}

# A command inside the container, as root, with a clean environment:
# nothing of this test run (HOSTSCAN_*, PG*) may reach it.
sub in_ct {
	my ($cmd, %o) = @_;
	return run_cmd(['nsenter', '-t', $leader, '-a', '-r', '-w', '--',
	    '/usr/bin/env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
	    'LC_ALL=C.UTF-8', 'HOME=/root', @$cmd], %o);
}

sub ct_ok {
	my ($what, $cmd, %o) = @_;
	my ($rc, $out, $err) = in_ct($cmd, %o);
	is($rc, 0, "$what: exit 0") or diag("$out$err");
	return $out;
}

sub ct_out {
	my (@cmd) = @_;
	my ($rc, $out) = in_ct(\@cmd);
	chomp $out;
	return $out;
}

sub ct_psql {
	my ($sql) = @_;
	return ct_out('runuser', '-u', 'postgres', '--', 'psql', '-XAtq',
	    '-d', 'hostscan', '-v', 'ON_ERROR_STOP=1', '-c', $sql);
}

sub stat_of { return ct_out('stat', '-c', '%U:%G %a', $_[0]) }

sub timed {
	my ($name, $code) = @_;
	my $t0 = Time::HiRes::time();
	my @r = $code->();
	$took{$name} = sprintf('%.1f', Time::HiRes::time() - $t0);
	note("$name: $took{$name} s");
	return wantarray ? @r : $r[0];
}

sub teardown {
	stop_nginx($web) if $web;
	$target->stop if $target;
	if ($nspawn) {
		# SIGTERM: nspawn asks the container's systemd to halt.
		kill 'TERM', $nspawn;
		my $st = wait_exit($nspawn, 60);
		unless (defined $st) {
			kill 'KILL', $nspawn;
			wait_exit($nspawn, 5);
		}
		undef $nspawn;
	}
	for my $m (reverse @mounts) {
		system('umount', $m) == 0 or system('umount', '-l', $m);
	}
	@mounts = ();
	for my $cg (@cgroups) {
		system('find', $cg, '-depth', '-type', 'd', '-exec', 'rmdir',
		    '{}', ';') if -d $cg;
	}
	@cgroups = ();
	# nspawn cannot remove this where /run is no tmpfs.
	rmdir "/run/systemd/nspawn/propagate/$machine";
}

END {
	my $status = $?;
	teardown();
	$? = $status;
}

# ---- without systemd running (a chroot, as in an image build) ----
# The postinst makes users and keys and enables the units; nothing starts.
{
	my $c = "$d/chroot";
	File::Path::make_path("$c/upper", "$c/work", "$c/root");
	run_ok('overlay mount', 'mount', '-t', 'overlay', 'overlay', '-o',
	    "lowerdir=$base,upperdir=$c/upper,workdir=$c/work", "$c/root");
	push @mounts, "$c/root";
	File::Copy::copy($deb, "$c/root/root/hostscan.deb")
	    or die "copy $deb: $!\n";
	my @ch = ('chroot', "$c/root", '/usr/bin/env', '-i',
	    'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL=C.UTF-8');
	my ($crc, $cout, $cerr) = run_cmd([@ch, 'dpkg', '-i',
	    '/root/hostscan.deb']);
	is($crc, 0, 'chroot without systemd: dpkg -i exit 0')
	    or diag("$cout$cerr");
	(undef, $cout) = run_cmd([@ch, 'stat', '-c', '%U:%G %a',
	    '/etc/hostscan/master.key', '/etc/hostscan/signing.key']);
	is($cout, "hostscand:hostscand 600\nhostscan:hostscan 600\n",
	    'chroot without systemd: users and keys are made');
	ok(-l "$c/root/etc/systemd/system/sockets.target.wants/"
	    . 'hostscan-fcgi.socket', 'chroot without systemd: the socket '
	    . 'unit is enabled for the first boot');
	my @in_chroot = grep { (readlink("$_/root") // '') eq "$c/root" }
	    glob '/proc/[0-9]*';
	is(scalar @in_chroot, 0, 'chroot without systemd: nothing was started');
	run_ok('umount', 'umount', "$c/root");
	pop @mounts;
}

# ---- a clean Debian 12, booted ----
File::Path::make_path("$d/upper", "$d/work", $root, "$d/run-hostscan");
chmod 0755, $d, "$d/run-hostscan";
run_ok('overlay mount', 'mount', '-t', 'overlay', 'overlay', '-o',
    "lowerdir=$base,upperdir=$d/upper,workdir=$d/work", $root);
push @mounts, $root;
File::Copy::copy($deb, "$root/root/hostscan.deb") or die "copy $deb: $!\n";

# Without systemd as the host's PID 1, nspawn runs the container in the
# cgroup it is started in (--keep-unit): one of its own, so two runs at
# once never share one.  With systemd, nspawn asks it for a scope.
my @ns = ('systemd-nspawn', '--quiet', '--register=no', '--boot',
    '--console=pipe', '--link-journal=no', "--machine=$machine",
    "--directory=$root", "--bind=$d/run-hostscan:/run/hostscan");
my @cmd = @ns;
unless (-d '/run/systemd/system') {
	open(my $m, '<', '/proc/mounts') or die "/proc/mounts: $!\n";
	while (my $l = <$m>) {
		my (undef, $mp, $type, $opts) = split ' ', $l;
		push @cgroups, "$mp/$machine" if $type eq 'cgroup2'
		    || ($type eq 'cgroup' && $opts =~ /(?:^|,)name=systemd(?:,|$)/);
	}
	close $m;
	die "no cgroup2 or name=systemd hierarchy mounted\n" unless @cgroups;
	mkdir $_ or die "mkdir $_: $!\n" for @cgroups;
	@cmd = ('/bin/sh', '-c', 'while [ "$1" != -- ]; do '
	    . 'echo $$ >"$1/cgroup.procs" || exit 1; shift; done; shift; '
	    . 'exec "$@"', 'sh', @cgroups, '--', @ns, '--keep-unit');
}
timed('boot', sub {
	$nspawn = HS::spawn_logged(\@cmd, "$d/nspawn.log");
	ok(wait_for(sub {
		($leader) = grep { HS::slurp("/proc/$_/comm") eq "systemd\n" }
		    child_pids($nspawn);
		return defined $leader;
	}, 30), 'systemd-nspawn started systemd as the container PID 1')
	    or die 'no container: ' . HS::slurp("$d/nspawn.log");
	my $state = '';
	wait_for(sub {
		my ($rc, $out) = in_ct(['systemctl', 'is-system-running',
		    '--wait']);
		$state = HS::trim($out);
		return $state =~ /\A(?:running|degraded)\z/;
	}, 90);
	is($state, 'running', 'the container booted: systemd reports running')
	    or diag(ct_out('systemctl', '--failed', '--no-pager'));
});
is(ct_out('systemctl', 'is-active', 'postgresql@15-main.service'), 'active',
    "the container's PostgreSQL 15 runs");

# ---- install ----
timed('dpkg -i', sub {
	ct_ok('dpkg -i hostscan.deb', ['dpkg', '-i', '/root/hostscan.deb']);
});
my $version = ct_out('dpkg-query', '-W', '-f=${Version}', 'hostscan');
is($version, run_ok('dpkg-deb -f', 'dpkg-deb', '-f', $deb, 'Version') =~
    s/\s+\z//r, 'the package is installed');
for my $u (['hostscan', 'hostscan API responder'],
    ['hostscand', 'hostscan scheduler']) {
	my @pw = split /:/, ct_out('getent', 'passwd', $u->[0]), -1;
	is($pw[0] // '', $u->[0], "user $u->[0] exists");
	ok(defined $pw[2] && $pw[2] > 0 && $pw[2] < 1000,
	    "$u->[0] is a system user (uid " . ($pw[2] // '?') . ')');
	# adduser fills the other GECOS fields with empty ones.
	is_deeply([(split /,/, $pw[4] // '')[0], @pw[5, 6]],
	    [$u->[1], '/nonexistent', '/usr/sbin/nologin'],
	    "$u->[0]: \"$u->[1]\", no home, no shell");
	is((split /:/, ct_out('getent', 'group', $u->[0]))[0] // '', $u->[0],
	    "group $u->[0] exists");
	is(ct_out('id', '-Gn', $u->[0]), $u->[0],
	    "$u->[0] is in its own group only");
}
my %modes = (
	'/etc/hostscan' => 'root:root 755',
	'/etc/hostscan/hostscan.conf' => 'root:root 644',
	'/etc/hostscan/keyring' => 'root:root 644',
	'/etc/hostscan/signing.key' => 'hostscan:hostscan 600',
	'/etc/hostscan/totp.key' => 'hostscan:hostscan 600',
	'/etc/hostscan/master.key' => 'hostscand:hostscand 600',
);
is(stat_of($_), $modes{$_}, "$_ is $modes{$_}") for sort keys %modes;
like(ct_out('dpkg-query', '-W', '-f=${Conffiles}', 'hostscan'),
    qr{^ /etc/hostscan/hostscan\.conf [0-9a-f]{32}$}m,
    '/etc/hostscan/hostscan.conf is a conffile');
is(ct_out('grep', '-c', '/usr/local', '/etc/hostscan/hostscan.conf'), '0',
    'the configuration names Debian paths only');
my @sql = map { (split m{/})[-1] } glob "$SRC/sql/*.sql";
is(ct_out('ls', '/usr/share/hostscan/sql'), join("\n", sort @sql),
    'every migration is in /usr/share/hostscan/sql');
my @files = ('/usr/sbin/hostscan.fcgi', '/usr/sbin/hostscand',
    '/usr/bin/hostscanctl', '/usr/share/hostscan/openapi.yaml',
    map({ "/usr/share/hostscan/nginx/" . (split m{/})[-1] }
	glob "$SRC/nginx/*"),
    '/usr/share/man/man8/hostscand.8.gz',
    '/usr/share/man/man8/hostscan.fcgi.8.gz',
    '/usr/share/man/man1/hostscanctl.1.gz',
    '/usr/share/man/man5/hostscan.conf.5.gz',
    '/usr/share/doc/hostscan/copyright',
    map({ "/usr/share/hostscan/apache/" . (split m{/})[-1] }
	glob "$SRC/apache/*.conf"));
my ($rc) = in_ct(['ls', @files]);
is($rc, 0, 'binaries, man pages, nginx and Apache snippets, openapi.yaml '
    . 'are installed');
is(ct_out('systemctl', 'is-enabled', 'hostscan-fcgi.socket',
    'hostscan-fcgi.service', 'hostscand.service'),
    "enabled\nenabled\nenabled", 'the three units are enabled');
is(ct_out('systemctl', 'is-active', 'hostscan-fcgi.socket',
    'hostscand.service'), "active\nactive",
    'the socket listens and hostscand runs right after installation');
is(stat_of('/run/hostscan/hostscan.sock'), 'root:www-data 660',
    'the socket is root:www-data 0660');

# ---- the database, as the README says ----
my $ident = <<'EOF';
hostscan  root       postgres
hostscan  postgres   postgres
hostscan  hostscan   hostscan_api
hostscan  hostscand  hostscan_sched
EOF
my $hba = 'local  hostscan  postgres,hostscan_api,hostscan_sched  peer  map=hostscan';
my $readme = HS::slurp("$SRC/README");
my $ident_re = join('\s*\n\s*', map { join('\s+', split ' ') }
    split /\n/, $ident);
like($readme, qr/$ident_re/, 'the README gives these pg_ident.conf lines');
like($readme, qr/\Q$hba\E/, 'the README gives this pg_hba.conf line');
ct_ok('pg_ident.conf and pg_hba.conf', ['sh', '-c',
    'cd /etc/postgresql/15/main && cat >>pg_ident.conf && '
    . 'sed -i "1i $1" pg_hba.conf && systemctl reload postgresql@15-main',
    'sh', $hba], stdin => $ident);
ct_ok('createdb hostscan', ['runuser', '-u', 'postgres', '--', 'createdb',
    'hostscan']);
timed('migrate', sub {
	ct_ok('hostscanctl migrate (root, peer-mapped to postgres)',
	    ['hostscanctl', 'migrate']);
});
is(ct_psql('SELECT count(*) FROM schema_migration'), scalar(@sql),
    'every migration is applied');
ct_ok('hostscanctl migrate again', ['hostscanctl', 'migrate']);

# ---- keys with the packaged paths ----
ct_ok('hostscanctl masterkey new', ['hostscanctl', 'masterkey', 'new']);
is(stat_of('/etc/hostscan/master.key'), 'hostscand:hostscand 600',
    'the rotated master key stays hostscand:hostscand 0600');
is(scalar(grep { /^[0-9a-f]+ \S+$/ }
    split /\n/, ct_out('cat', '/etc/hostscan/master.key')), 2,
    'master.key holds the new key and the old one');
ct_ok('hostscanctl keygen --force', ['hostscanctl', 'keygen', '--force']);
is(stat_of('/etc/hostscan/signing.key'), 'hostscan:hostscan 600',
    'the new signing key stays hostscan:hostscan 0600');
is(scalar(grep { /^k4\.public\./ }
    split /\n/, ct_out('cat', '/etc/hostscan/keyring')), 2,
    'the keyring holds both public keys');
ct_ok('hostscanctl user totpkey new', ['hostscanctl', 'user', 'totpkey', 'new']);
is(stat_of('/etc/hostscan/totp.key'), 'hostscan:hostscan 600',
    'the rotated TOTP key stays hostscan:hostscan 0600');
# The units answer a filtered system call with EPERM, so that a library
# update needing one more degrades instead of dying.  For the rest of
# this test a filtered call kills the process instead (an empty
# SystemCallErrorNumber=): nothing below may need one.  This restart also
# makes hostscand read the rotated master key, as it does when it starts.
ct_ok('drop-ins: a filtered system call kills', ['sh', '-c',
    'for u in hostscan-fcgi hostscand; do '
    . 'mkdir -p /etc/systemd/system/$u.service.d && '
    . 'printf "[Service]\nSystemCallErrorNumber=\n" '
    . '>/etc/systemd/system/$u.service.d/seccomp-kill.conf; done && '
    . 'systemctl daemon-reload && '
    . 'systemctl restart hostscand.service hostscan-fcgi.service']);

# ---- the responder through the socket unit, behind the host's nginx ----
$web = nginx_for_socket("$d/run-hostscan/hostscan.sock");
my $r = api(GET => '/api/v1/Version', url => $web->{url});
is($r->{status}, 200, 'GET Version through the socket unit: 200')
    or diag($r->{content});
is($r->{json}, $version, 'the responder is the packaged version');
my ($trc, $tok) = in_ct(['hostscanctl', 'token', 'issue', '--role', 'Admin',
    '--sub', "pkg-$$"]);
$tok = HS::trim($tok);
note_secret($tok, 't/98-package.t token');
is($trc, 0, 'hostscanctl token issue: exit 0');

# ---- a real scan by the packaged hostscand ----
my $pw = note_secret('pkg-' . unpack('H*', pack('N', $$ ^ time)) . '-Pw9',
    't/98-package.t target password');
$target = SSHD->new(dir => scratch_dir(), addr => '127.0.0.77',
    password => $pw)->start;
my $cred = "pkgcred-$$";
ct_ok('hostscanctl credential add', ['hostscanctl', 'credential', 'add',
    '--name', $cred, '--username', 'hsscan', '--scope', '127.0.0.0/8'],
    stdin => $pw);
$r = api(POST => '/api/v1/HostScanJob', url => $web->{url}, token => $tok,
    json => [host_item(credentialName => $cred, dnsHostName => undef,
	ipAddress => $target->addr, sshPort => $target->port,
	acceptThumbprintOnFirstDiscovery => JSON::PP::true)]);
is($r->{status}, 200, 'POST /api/v1/HostScanJob through the package: 200')
    or diag($r->{content});
my $job = ref $r->{json} eq 'HASH' ? $r->{json}{id} // '' : '';
my $q = "job_id = '" . ($job =~ /\A[0-9a-f-]{36}\z/ ? $job
    : '00000000-0000-0000-0000-000000000000') . "'";
timed('scan', sub {
	ok(wait_for(sub { ct_psql("SELECT count(*) FROM host_scan_host "
	    . "WHERE $q AND state NOT IN (0, 1)") eq '1' }, 60),
	    'the packaged hostscand finished the host');
});
is(ct_psql("SELECT state || ' ' || failure_reason || ' ' || os || ' ' "
    . "|| version FROM host_scan_host WHERE $q"),
    '2 0 HostScan Test Linux 42.1',
    'Complete, NoError, os and version from the target');
cmp_ok(ct_psql('SELECT count(*) FROM host_user u JOIN host_scan_host h '
    . "ON h.host_id = u.host_id WHERE h.$q"), '>', 0,
    'the inventory (users) is stored');
$r = api(GET => "/api/v1/HostScanJob/$job", url => $web->{url},
    token => $tok);
is(ref $r->{json} eq 'HASH' ? $r->{json}{hostScanJobHostJoin}[0]
    {actionQueue}{status} // '' : '', 'Complete',
    'GET /api/v1/HostScanJob/{id} says Complete');

# ---- both daemons ran under their hardening, as their users ----
my %score;
for my $u (['hostscan-fcgi.service', 'hostscan'],
    ['hostscand.service', 'hostscand']) {
	my ($unit, $user) = @$u;
	my $pid = ct_out('systemctl', 'show', '-p', 'MainPID', '--value', $unit);
	my $st = ct_out('cat', "/proc/$pid/status");
	my ($uid) = $st =~ /^Uid:\s+(\d+)/m;
	is($uid, (split /:/, ct_out('getent', 'passwd', $user))[2],
	    "$unit runs as $user");
	like($st, qr/^NoNewPrivs:\s+1$/m, "$unit: no new privileges");
	like($st, qr/^Seccomp:\s+2$/m, "$unit: a seccomp filter");
	# 2147483646: what systemd shows for "kill" (the drop-in above).
	is(ct_out('systemctl', 'show', '-p', 'SystemCallErrorNumber',
	    '--value', $unit), '2147483646',
	    "$unit: a filtered system call would have killed it");
	like($st, qr/^CapBnd:\s+0+$/m, "$unit: no capabilities");
	is(ct_out('systemctl', 'show', '-p', 'NRestarts', '--value', $unit),
	    '0', "$unit: never restarted");
	my $journal = ct_out('journalctl', '--no-pager', '-o', 'cat', '-u',
	    $unit);
	unlike($journal, qr{event=worker_died|status=31/SYS},
	    "$unit: no process of it died of a filtered system call");
	my ($score) = ct_out('systemd-analyze', 'security', '--no-pager',
	    $unit) =~ /Overall exposure level for \Q$unit\E: (\d+\.\d+)/;
	ok(defined $score && $score <= 2.0, "$unit as loaded: exposure "
	    . ($score // '?') . ' is at most 2.0');
	$score{$unit} = $score // 10;
}

# ---- installing again (an upgrade to the same version) ----
my @keys = map { "/etc/hostscan/$_" } qw(keyring signing.key totp.key
    master.key);
my $sums = ct_out('sha256sum', @keys);
my $dpid = ct_out('systemctl', 'show', '-p', 'MainPID', '--value',
    'hostscand.service');
ct_ok('dpkg -i over the installed package', ['dpkg', '-i',
    '/root/hostscan.deb']);
is(ct_out('sha256sum', @keys), $sums, 'the keys are left as they were');
is(stat_of($_), $modes{$_}, "$_ is still $modes{$_}") for @keys;
isnt(ct_out('systemctl', 'show', '-p', 'MainPID', '--value',
    'hostscand.service'), $dpid, 'hostscand was restarted');
is(ct_out('systemctl', 'is-active', 'hostscan-fcgi.socket',
    'hostscand.service'), "active\nactive", 'socket and hostscand are up');
$r = api(GET => '/api/v1/Version', url => $web->{url});
is($r->{status}, 200, 'the responder answers after the upgrade');

# ---- reload: SIGHUP to the supervisor, which stays ----
my $main = ct_out('systemctl', 'show', '-p', 'MainPID', '--value',
    'hostscan-fcgi.service');
ct_ok('systemctl reload hostscan-fcgi.service',
    ['systemctl', 'reload', 'hostscan-fcgi.service']);
is(ct_out('systemctl', 'show', '-p', 'MainPID', '--value',
    'hostscan-fcgi.service'), $main, 'reload keeps the responder running');
$r = api(GET => '/api/v1/Version', url => $web->{url});
is($r->{status}, 200, 'it answers after the reload');

# ---- the README's drop-in for a local database: AF_UNIX only ----
ct_ok('drop-in: AF_UNIX only, no IP', ['sh', '-c',
    'mkdir -p /etc/systemd/system/hostscan-fcgi.service.d && '
    . 'cat >/etc/systemd/system/hostscan-fcgi.service.d/local.conf && '
    . 'systemctl daemon-reload && systemctl restart hostscan-fcgi.service'],
    stdin => "[Service]\nRestrictAddressFamilies=AF_UNIX\nIPAddressDeny=any\n");
$r = api(GET => '/api/v1/HostScanJob?limit=1', url => $web->{url},
    token => $tok);
is($r->{status}, 200, 'with the drop-in the responder still reads the '
    . 'database') or diag($r->{content});
my ($dscore) = ct_out('systemd-analyze', 'security', '--no-pager',
    'hostscan-fcgi.service') =~ /Overall exposure level for \S+: (\d+\.\d+)/;
ok(defined $dscore && $dscore < $score{'hostscan-fcgi.service'},
    "and its exposure drops from $score{'hostscan-fcgi.service'} to "
    . ($dscore // '?'));

# ---- socket activation by systemd ----
ct_ok('systemctl stop hostscan-fcgi.service',
    ['systemctl', 'stop', 'hostscan-fcgi.service']);
is(ct_out('systemctl', 'is-active', 'hostscan-fcgi.service',
    'hostscan-fcgi.socket'), "inactive\nactive",
    'the responder is stopped, its socket still listens');
$r = api(GET => '/api/v1/Version', url => $web->{url});
is($r->{status}, 200, 'a request on the socket: 200');
is(ct_out('systemctl', 'is-active', 'hostscan-fcgi.service'), 'active',
    'that request started the responder');

# ---- purge ----
stop_nginx($web);
undef $web;
timed('dpkg --purge', sub {
	ct_ok('dpkg --purge hostscan', ['dpkg', '--purge', 'hostscan']);
});
for my $u (qw(hostscan hostscand)) {
	my ($prc) = in_ct(['getent', 'passwd', $u]);
	is($prc, 2, "purge: user $u is gone");
	($prc) = in_ct(['getent', 'group', $u]);
	is($prc, 2, "purge: group $u is gone");
}
for my $p ('/etc/hostscan', '/lib/systemd/system/hostscand.service',
    '/lib/systemd/system/hostscan-fcgi.socket',
    '/etc/systemd/system/multi-user.target.wants/hostscand.service',
    '/etc/systemd/system/sockets.target.wants/hostscan-fcgi.socket',
    '/usr/sbin/hostscand', '/usr/share/hostscan') {
	my ($prc) = in_ct(['test', '-e', $p]);
	is($prc, 1, "purge: $p is gone");
}
is(ct_out('sh', '-c', 'for p in /proc/[0-9]*; do readlink $p/exe; done '
    . '| grep -c hostscan'), '0', 'purge: no hostscan process is left');
is(ct_out('systemctl', 'is-active', 'hostscan-fcgi.socket',
    'hostscand.service'), "inactive\ninactive", 'purge: no unit is active');

note(join(', ', map { "$_ $took{$_} s" } sort keys %took));
done_testing();
