#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The shipped systemd units (systemd/*.in), rendered with the build's
# paths: `systemd-analyze verify` is clean, `systemd-analyze security
# --offline=true` rates each service at most 2.0 ("OK") with the named
# hardening in place, and the responder started by systemd-socket-activate
# (the socket on fd 0, as StandardInput=socket gives it) answers through
# the inherited socket behind a real nginx.  t/98-package.t runs the
# installed units under a real systemd.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT child_pids run_cmd scratch_dir sql_quote wait_exit
    env_required note_secret);
use Test::More;
use File::Path ();
use JSON::PP ();

need_services();

my $SRC = env_required('HOSTSCAN_SRCDIR');
my $BUILD = env_required('HOSTSCAN_BUILDDIR');
my $dir = scratch_dir() . "/systemd-$$";
my $etc = "$dir/etc";
my %units = (
	'hostscan-fcgi.socket' => undef,
	'hostscan-fcgi.service' => 'hostscan',
	'hostscand.service' => 'hostscand',
);
File::Path::make_path("$dir/units", "$etc/hostscan");
chmod 0755, $dir, "$dir/units";

# @sbindir@ becomes the build directory, so verify finds the binaries.
for my $u (sort keys %units) {
	my $text = HS::slurp("$SRC/systemd/$u.in");
	ok(length $text, "systemd/$u.in exists");
	$text =~ s/\@sbindir\@/$BUILD/g;
	$text =~ s/\@sysconfdir\@/$etc/g;
	unlike($text, qr/\@\w+\@/, "$u: every placeholder is substituted");
	open(my $fh, '>', "$dir/units/$u") or die "$dir/units/$u: $!\n";
	print $fh $text;
	close $fh or die "$dir/units/$u: $!\n";
	# What "make" rendered must not keep a placeholder either.
	my $made = HS::slurp("$BUILD/systemd/$u");
	ok(length $made && $made !~ /\@\w+\@/,
	    "make rendered $BUILD/systemd/$u without placeholders");
}

# Documentation=man:... is checked by verify: the pages of this tree.
for my $sec (1, 5, 8) {
	File::Path::make_path("$dir/man/man$sec");
	for my $page (glob "$SRC/man/*.$sec") {
		my $name = (split m{/}, $page)[-1];
		symlink $page, "$dir/man/man$sec/$name"
		    or die "symlink $page: $!\n";
	}
}

my @paths = map { "$dir/units/$_" } sort keys %units;
my ($rc, $out, $err) = run_cmd(['systemd-analyze', 'verify', @paths],
    env => { MANPATH => "$dir/man", SYSTEMD_LOG_COLOR => 0 });
is($rc, 0, 'systemd-analyze verify: exit 0');
is("$out$err", '', 'systemd-analyze verify: no complaint') or diag("$out$err");

# The settings named for both daemons; the score alone could hide the
# loss of one of them behind the gain of another.
my @required = ('ProtectSystem=strict', 'PrivateTmp=yes',
    'NoNewPrivileges=yes', 'CapabilityBoundingSet=',
    'SystemCallFilter=@system-service', 'ProtectHome=yes',
    'PrivateDevices=yes', 'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes', 'ProtectKernelLogs=yes',
    'LockPersonality=yes', 'MemoryDenyWriteExecute=yes',
    'RestrictNamespaces=yes', 'UMask=0077',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6');
for my $u (grep { /\.service\z/ } sort keys %units) {
	my $text = HS::slurp("$dir/units/$u");
	my @missing = grep { $text !~ /^\Q$_\E$/m } @required;
	is("@missing", '', "$u: sets every required hardening option");
	like($text, qr/^User=\Q$units{$u}\E$/m, "$u: runs as $units{$u}");
	($rc, $out, $err) = run_cmd(['systemd-analyze', 'security',
	    '--offline=true', '--no-pager', "$dir/units/$u"],
	    env => { SYSTEMD_LOG_COLOR => 0, SYSTEMD_COLORS => 0 });
	is($rc, 0, "$u: systemd-analyze security exit 0") or diag($err);
	my ($score, $word) = $out =~
	    /Overall exposure level for \Q$u\E: (\d+\.\d+) (\S+)/;
	ok(defined $score && $score <= 2.0,
	    "$u: exposure " . ($score // '?') . ' is at most 2.0')
	    or diag($out);
	is($word, 'OK', "$u: rated OK");
	note("$u: exposure $score $word") if defined $score;
}

# Socket activation: systemd-socket-activate binds the socket, waits for
# the first connection, then execs the ExecStart command of the unit with
# the listening socket on fd 0 (--inetd), as the unit's user, without
# new privileges and without capabilities.
my $J = JSON::PP->new->utf8->canonical;
my $RUN = "sd-$$-" . time;
my $tok = token(roles => 'Admin', sub => $RUN);
note_secret($tok, 't/97-systemd.t token');
my $sockdir = "$dir/sock";
mkdir $sockdir or die "$sockdir: $!\n";
my (undef, undef, $wgid) = getpwnam('www-data');
chown 0, $wgid, $sockdir;
chmod 0750, $sockdir;
my $sock = "$sockdir/hostscan.sock";
my $conf = "$dir/hostscan.conf";
HS::write_config_copy($conf, {}, ['listen']);
my $exec = HS::slurp("$dir/units/hostscan-fcgi.service") =~
    /^ExecStart=(.+)$/m ? $1 : '';
my @exec = split ' ', $exec;
is($exec[0], "$BUILD/hostscan.fcgi", 'the responder unit runs hostscan.fcgi');
# The unit's command line, with the configuration of this run.
@exec = map { $_ eq "$etc/hostscan/hostscan.conf" ? $conf : $_ } @exec;
my $log = "$dir/socket-activate.log";
my $pid = HS::spawn_logged(['systemd-socket-activate', '--inetd', '-l', $sock,
    '--',
    'setpriv', '--reuid=hostscan', '--regid=hostscan', '--init-groups',
    '--no-new-privs', '--bounding-set=-all', '--', @exec,
    '--workers', 2], $log);
ok(wait_for(sub { -S $sock }, 10), 'systemd-socket-activate made the socket')
    or diag(HS::slurp($log));
# It makes the socket 0644; the unit's SocketGroup= and SocketMode=.
chown 0, $wgid, $sock;
chmod 0660, $sock;
is(scalar(child_pids($pid)), 0, 'no responder runs before the first connection');
like(readlink("/proc/$pid/exe") // '', qr{/systemd-socket-activate\z},
    'the listener is systemd-socket-activate until then');

my $web = nginx_for_socket($sock);
my $r = api(GET => '/api/v1/Version', url => $web->{url});
is($r->{status}, 200, 'first request (activates the responder): 200')
    or diag($r->{content} . HS::slurp($log));
like(readlink("/proc/$pid/exe") // '', qr{/hostscan\.fcgi\z},
    'the activated process is hostscan.fcgi');
ok(wait_for(sub { child_pids($pid) == 2 }, 10),
    'it forked 2 workers on the inherited socket');
my $status = HS::slurp("/proc/$pid/status");
my ($uid) = $status =~ /^Uid:\s+(\d+)/m;
is($uid, scalar getpwnam('hostscan'), 'it runs as hostscan');
like($status, qr/^NoNewPrivs:\s+1$/m, 'without new privileges');
like($status, qr/^CapBnd:\s+0+$/m, 'with an empty capability bounding set');
is(readlink("/proc/$pid/fd/0") // '', readlink("/proc/$pid/fd/1") // '',
    'fd 0 is the inherited socket (the one --inetd put on fds 0 and 1)');
like(readlink("/proc/$pid/fd/0") // '', qr/\Asocket:/, 'fd 0 is a socket');

my @items = (host_item(dnsHostName => "a.$RUN.sd.test"),
    host_item(dnsHostName => "b.$RUN.sd.test"));
$r = api(POST => '/api/v1/HostScanJob', url => $web->{url}, token => $tok,
    json => \@items);
is($r->{status}, 200, 'socket-activated: authorised POST is 200')
    or diag($r->{content});
my $id = ref $r->{json} eq 'HASH' ? $r->{json}{id} // '' : '';
is(psql('SELECT count(*) FROM host_scan_host WHERE job_id::text = '
    . sql_quote($id)), 2, 'socket-activated: the job and its 2 hosts are stored');
$r = api(POST => '/api/v1/HostScanJob', url => $web->{url}, token => $tok,
    json => []);
is($r->{status}, 400, 'socket-activated: an empty job is 400');

kill 'TERM', $pid;
my $st = wait_exit($pid, HS::scaled(20));
is($st, 0, 'SIGTERM: the socket-activated responder exits with status 0');
stop_nginx($web);

done_testing();
