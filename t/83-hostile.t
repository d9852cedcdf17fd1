# SPDX-License-Identifier: ISC
# Hostile targets (issue 9): a compromised host may print anything, as
# much and as slowly as it likes, and hold its connection open.  For each
# case the host ends within host_timeout + 5 s with a precise reason,
# hostscand keeps running (same pid) under 256 MiB resident, and a normal
# host in the same job completes.  Cancellation and SIGTERM interrupt a
# scan blocked on a stalled channel at once.
use strict;
use warnings;

use JSON::PP ();
use Test::More;
use Time::HiRes ();

use HS qw(:DEFAULT scaled sql_quote);
use SSHD;

SSHD::need_targets();
my $PY = '/usr/bin/python3';
die "t/83-hostile.t needs python3-paramiko (HS_PACKAGES in scripts/provision.sh)\n"
    unless (HS::run_cmd([$PY, '-c', 'import paramiko']))[0] == 0;

my $dir = HS::scratch_dir();
my $run = "$$-" . time;
my ($HT, $STEP) = (15, 5);
my $RSS_MAX_KB = 256 * 1024;

# ---- targets ----

my $normal = SSHD->new(dir => $dir, addr => '127.0.83.1')->start;
my $pub = SSHD::slurp($normal->dir . '/client_key.pub');

sub target {
	my (%o) = @_;
	my $t = SSHD->new(dir => $dir, %o);
	SSHD::spew($t->dir . '/authorized_keys/root', $pub, 0644);
	return $t;
}

sub script {
	my ($name, $text) = @_;
	my $path = "$dir/t83-$name";
	SSHD::spew($path, "#!/bin/sh\n$text", 0755);
	return $path;
}

# Deterministic bytes: newlines, separators, blanks, NULs, anything.
sub garbage {
	my ($seed, $n) = @_;
	my ($x, $s) = ($seed, '');
	for (1 .. $n) {
		$x = ($x * 1103515245 + 12345) % 2147483648;
		$s .= ($x >> 8) % 5 == 0 ? substr("\n:\t,= \0", $x % 7, 1) :
		    chr(($x >> 16) & 0xff);
	}
	return $s;
}

# 20 000 users and 20 000 groups, all of gid 0.
my $cross = target(addr => '127.0.83.2',
    users => [@{SSHD::default_users("$dir/none")},
	map { { name => sprintf('x%05d', $_), uid => 10000 + $_, gid => 0,
	    gecos => "Cross $_", home => '/nonexistent',
	    shell => '/usr/sbin/nologin' } } 1 .. 20000],
    groups => [@{SSHD::default_groups()},
	map { { name => sprintf('g%05d', $_), gid => 0, members => [] } }
	1 .. 20000])->start;

# Binary garbage and bad UTF-8 in every file the scan reads and in what
# its commands print, around lines shaped well enough to be collected.
my %planted = (
	passwd => "bad\xffuser:x:7777:7777:G\xc3\x28cos,x:/home/b\x01d:/bin/sh\n",
	group => "bad\xffgroup:x:7777:bad\xffuser,\x01\n",
	os => "NAME=\"Garbage\xffLinux\"\nVERSION_ID=\"1\x01\x02\"\n",
	hostname => "h\xffst\x01.example\n",
	package => "ii \tpkg\xe2\x82\tv\x01\tD\xf0\x9f\x98\x80\n",
	cron => "* * * * * ro\xffot /bin/e\x01cho\n",
	unit => "[Unit]\nDescription=\xff\x01bad\n[Service]\nExecStart=/bin/\xc3\x28x\n",
);
my $garb = target(addr => '127.0.83.3');
my $ge = $garb->dir . '/etc';
my %seed = (passwd => 11, group => 12, shadow => 13);
for my $f (sort keys %seed) {
	SSHD::spew("$ge/$f", SSHD::slurp("$ge/$f") . ($planted{$f} // '')
	    . garbage($seed{$f}, 20000) . "\n", $f eq 'shadow' ? 0640 : 0644);
}
SSHD::spew("$ge/os-release", $planted{os} . garbage(2, 5000) . "\n", 0644);
for my $c (qw(hostname uname)) {
	SSHD::spew("$dir/t83-$c.out", ($c eq 'hostname' ? $planted{hostname} :
	    "Linux\n") . garbage(ord $c, 20000), 0644);
}
SSHD::spew("$dir/t83-dpkg.out", $planted{package} . garbage(3, 20000)
    . "\nii \tok-pkg\t1.0\tplain\n", 0644);
mkdir "$dir/t83-cron.d";
mkdir "$dir/t83-units";
SSHD::spew("$dir/t83-cron.d/garbage", garbage(4, 5000) . "\n" . $planted{cron},
    0644);
SSHD::spew("$dir/t83-units/garb\xffage.service", $planted{unit}
    . garbage(5, 5000) . "\n", 0644);
$garb->{binds} = {
	'/usr/bin/hostname' => script('hostname', "cat $dir/t83-hostname.out\n"),
	'/usr/bin/uname' => script('uname', "cat $dir/t83-uname.out\n"),
	'/usr/bin/dpkg-query' => script('dpkg', "cat $dir/t83-dpkg.out\n"),
	'/etc/cron.d' => "$dir/t83-cron.d",
	'/etc/systemd/system' => "$dir/t83-units",
};
$garb->start;

sub packages {
	my ($n) = @_;
	return script("dpkg-$n", "exec awk -v n=$n 'BEGIN { for (i = 0; "
	    . "i < n; i++) printf \"ii \\tpkg%06d\\t1.%d-1\\tFake package "
	    . "%d\\n\", i, i, i }'\n");
}
my $pkgs = target(addr => '127.0.83.4',
    binds => { '/usr/bin/dpkg-query' => packages(50000) })->start;
my $pkgs_over = target(addr => '127.0.83.5',
    binds => { '/usr/bin/dpkg-query' => packages(200000) })->start;

# The login shell floods stderr (the script's own stderr is /dev/null).
my $noisy = script('noisy-shell', "( while echo 'noise from the login "
    . "shell on stderr' >&2; do :; done ) &\nexec /bin/sh \"\$@\"\n");
my $stderr = target(addr => '127.0.83.6',
    users => [map { $_->{name} eq 'root' ? { %$_, shell => $noisy } : $_ }
	@{SSHD::default_users("$dir/none")}])->start;

# uname prints one byte a second, for ever.
my $drip = target(addr => '127.0.83.7', binds => { '/usr/bin/uname' =>
    script('drip', "while :; do printf .; sleep 1; done\n") })->start;

# Our own SSH servers: a tiny channel window never read, or read a byte a
# second.
my $hostkey = "$dir/t83-hostkey";
(HS::run_cmd(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f',
    $hostkey]))[0] == 0 or die "ssh-keygen failed\n";
sub hostile_server {
	my ($addr, $mode, $window) = @_;
	my $port = SSHD::free_port($addr);
	my $log = "$dir/t83-$mode.log";
	HS::spawn_logged([$PY, HS::env_required('HOSTSCAN_SRCDIR')
	    . '/t/tools/hostile-sshd', '--addr', $addr, '--port', $port,
	    '--hostkey', $hostkey, '--mode', $mode, '--window', $window], $log);
	HS::wait_for(sub { SSHD::slurp($log) =~ /^listening$/m }, 15)
	    or die "hostile-sshd $mode did not start:\n" . SSHD::slurp($log);
	return { addr => $addr, port => $port };
}
my $stall = hostile_server('127.0.83.8', 'stall', 16);
# A port that accepts and never speaks: the handshake blocks in libssh.
my $silent = SSHD::silent_listener('127.0.83.10');
my $window = hostile_server('127.0.83.9', 'drip', 1);

# True once the byte-a-second server saw one more scan start its inventory.
sub window_execs {
	return scalar(() = SSHD::slurp("$dir/t83-drip.log") =~ /^exec$/mg);
}

my $key = "t83-key-$run";
my $pw = "t83-pw-$run";
credential(name => $key, username => 'root', secret => $normal->client_key,
    kind => 'private-key');
credential(name => $pw, username => 'scan', secret => "pw-$run-Hx7",
    kind => 'password');

sub item {
	my ($t, %o) = @_;
	return host_item(dnsHostName => undef, ipAddress => $t->{addr},
	    sshPort => $t->{port}, credentialName => $key,
	    acceptThumbprintOnFirstDiscovery => JSON::PP::true, %o);
}

# ---- the scheduler, watched ----

# Accounts first, on a scheduler with one database connection, so the
# store of the big host reuses the connection a small host was stored on.
my $d = start_hostscand(workers => 8, step => $STEP, host_timeout => $HT,
    grace => 2, max_attempts => 1, db_connections => 1);
my $pid = $d->{pid};
my $rss_peak = 0;

sub rss_kb {
	my ($field) = @_;
	my $s = SSHD::slurp("/proc/$pid/status");
	return $s =~ /^\Q$field\E:\s+(\d+) kB/m ? $1 : 0;
}

# Still the process it was, and never over 256 MiB resident.
sub survived {
	my ($what) = @_;
	ok(kill(0, $pid), "$what: hostscand still runs");
	is(scalar(() = SSHD::slurp($d->{log}) =~ /event=started/g), 1,
	    "$what: the same process (started once)");
	my $hwm = rss_kb('VmHWM');
	cmp_ok($rss_peak, '<', $RSS_MAX_KB,
	    "$what: sampled peak RSS $rss_peak kB < 256 MiB");
	cmp_ok($hwm, '<', $RSS_MAX_KB, "$what: VmHWM $hwm kB < 256 MiB");
}

# Like wait_job, sampling hostscand's resident size all along.
sub wait_sampling {
	my ($job, $timeout) = @_;
	my $end = Time::HiRes::time() + scaled($timeout);
	my $next_db = 0;
	while (Time::HiRes::time() < $end) {
		my $r = rss_kb('VmRSS');
		$rss_peak = $r if $r > $rss_peak;
		if (Time::HiRes::time() >= $next_db) {
			return 1 if psql("SELECT count(*) FROM host_scan_host"
			    . " WHERE job_id = " . sql_quote($job)
			    . " AND state IN (0, 1)") eq '0';
			$next_db = Time::HiRes::time() + 0.2;
		}
		Time::HiRes::sleep(0.05);
	}
	return 0;
}

# Claim to end of the scan, and to the result stored.
sub timings {
	my ($h) = @_;
	my $scan = psql("SELECT round(extract(epoch FROM max(l.at) FILTER"
	    . " (WHERE l.step = 'result') - h.time_started)::numeric, 2)"
	    . " FROM host_scan_host h JOIN scan_log l ON l.host_scan_host_id"
	    . " = h.id WHERE h.id = " . sql_quote($h->{id})
	    . " GROUP BY h.time_started");
	return sprintf('scan %s s, stored after %.2f s', $scan, $h->{secs});
}

sub ended_in_time {
	my ($h, $what) = @_;
	cmp_ok($h->{secs}, '<=', $HT + scaled(5),
	    "$what: ended within host_timeout + 5 s ($h->{secs} s)");
}

# ---- accounts: the cross-product and garbage ----

# The database as small scans leave it: small tables, statistics that say
# so, and the connection's cached plans made against them.
my $job = submit_job(item($normal));
ok(wait_sampling($job, 30), 'a normal host first');
psql('ANALYZE host_user, host_group, host_group_member');

$job = submit_job(item($normal), item($cross), item($garb));
ok(wait_sampling($job, $HT + 30), 'accounts job: every host ends');
my $h = job_hosts($job);
is($h->[0]{state}, 2, 'normal host: Complete')
    or diag explain scan_log_of($h->[0]{id});

is($h->[1]{state}, 2, 'users x groups of gid 0: Complete')
    or diag explain scan_log_of($h->[1]{id});
ended_in_time($h->[1], 'users x groups of gid 0');
note('20 000 x 20 000 target: ' . timings($h->[1]));
my $hid = sql_quote($h->[1]{host_id} // '00000000-0000-0000-0000-000000000000');
is(psql("SELECT count(*) FROM host_user WHERE host_id = $hid"), 20008,
    '... every user');
is(psql("SELECT count(*) FROM host_group WHERE host_id = $hid"), 20008,
    '... every group');
is(psql("SELECT count(*) FILTER (WHERE m.is_primary) || ' ' ||"
    . " count(*) FILTER (WHERE NOT m.is_primary) FROM host_group_member m"
    . " JOIN host_group g ON g.id = m.group_id WHERE g.host_id = $hid"),
    '20008 5', '... memberships: one primary per user plus the 5 listed');
is(psql("SELECT count(*) FROM host_group_member m JOIN host_group g"
    . " ON g.id = m.group_id WHERE g.host_id = $hid AND m.is_primary"
    . " AND g.name = 'root'"), 20001,
    '... the primary group of gid 0 is the first one, root');

my $g = $h->[2];
is($g->{state}, 2, 'garbage in every file: Complete')
    or diag explain scan_log_of($g->{id});
ended_in_time($g, 'garbage');
my $gid = sql_quote($g->{host_id} // '00000000-0000-0000-0000-000000000000');
is($g->{name}, 'h?st?.example', '... host name scrubbed, not lost');
is("$g->{os} $g->{version}", 'Garbage?Linux 1??', '... os-release scrubbed');
is(psql("SELECT display_name || '|' || home_directory FROM host_user"
    . " WHERE host_id = $gid AND name = 'bad?user'"), 'G?(cos|/home/b?d',
    '... a passwd line with bad bytes: user kept, bytes replaced');
is(psql("SELECT string_agg(m.user_name, ',' ORDER BY m.user_name)"
    . " FROM host_group_member m JOIN host_group g ON g.id = m.group_id"
    . " WHERE g.host_id = $gid AND g.name = 'bad?group'"
    . " AND NOT m.is_primary"), '?,bad?user', '... and its group and members');
is(psql("SELECT version || '|' || description FROM host_software"
    . " WHERE host_id = $gid AND name = 'pkg??'"), "v?|D\xf0\x9f\x98\x80",
    '... dpkg output with bad bytes: package kept, valid UTF-8 kept');
is(psql("SELECT count(*) FROM host_software WHERE host_id = $gid"
    . " AND name = 'ok-pkg'"), 1, '... the plain package after the garbage');
is(psql("SELECT description || '|' || binary_path_name FROM host_service"
    . " WHERE host_id = $gid AND name = 'garb?age.service'"), '??bad|/bin/?(x',
    '... a unit file with a bad name and bad values');
is(psql("SELECT user_name FROM host_scheduled_task WHERE host_id = $gid"
    . " AND name = '/bin/e?cho'"), 'ro?ot', '... a crontab line with bad bytes');
survived('accounts');
is(stop_hostscand($d), 0, 'that scheduler stops');

# ---- streams: big, endless, slow, and servers that do not read ----

$d = start_hostscand(workers => 8, step => $STEP, host_timeout => $HT,
    grace => 2, max_attempts => 1);
$pid = $d->{pid};
$rss_peak = 0;

$job = submit_job(item($normal), item($pkgs), item($pkgs_over),
    item($stderr), item($drip),
    item($stall, credentialName => $pw), item($window, credentialName => $pw));
ok(wait_sampling($job, $HT + 30), 'streams job: every host ends');
$h = job_hosts($job);
is($h->[0]{state}, 2, 'normal host beside them: Complete')
    or diag explain scan_log_of($h->[0]{id});

is($h->[1]{state}, 2, '50 000 packages: Complete (at the bound)')
    or diag explain scan_log_of($h->[1]{id});
ended_in_time($h->[1], '50 000 packages');
note('50 000 packages: ' . timings($h->[1]));
is(psql("SELECT count(*) FROM host_software WHERE host_id = "
    . sql_quote($h->[1]{host_id} // '00000000-0000-0000-0000-000000000000')),
    50000, '... all of them stored');

my %want = (
	2 => [1, qr/^127\.0\.83\.5:\d+ sent an inventory over the bound of 50000 packages$/,
	    '200 000 packages'],
	3 => [1, qr/^127\.0\.83\.6:\d+ sent an inventory over the bound of 65536 bytes on stderr$/,
	    'endless stderr'],
	4 => [4, qr/^inventory of 127\.0\.83\.7:\d+: host_timeout \(15 s\) reached while reading the inventory output \(\d+ bytes so far\)$/,
	    'output dripping a byte a second'],
	5 => [4, qr/^inventory of 127\.0\.83\.8:\d+: no progress for 5 s \(step_timeout\) while sending the inventory script \(16 of \d+ bytes accepted\)$/,
	    'a 16-byte window never read'],
	6 => [4, qr/^inventory of 127\.0\.83\.9:\d+: host_timeout \(15 s\) reached while sending the inventory script \(\d+ of \d+ bytes accepted\)$/,
	    'a window granted a byte a second'],
);
for my $i (sort keys %want) {
	my ($reason, $desc, $what) = @{$want{$i}};
	is($h->[$i]{state}, 3, "$what: Failed");
	is($h->[$i]{failure_reason}, $reason, "$what: "
	    . ($reason == 4 ? 'ActionTimeout' : 'UnknownError'));
	like($h->[$i]{status_description}, $desc, "$what: the reason");
	ended_in_time($h->[$i], $what);
}
cmp_ok($h->[4]{secs}, '>=', $HT - 0.5, 'the drip held the scan until '
    . 'host_timeout, not longer');

# ---- cancellation interrupts a stalled write and a blocked handshake ----

my $execs = window_execs();
$job = submit_job(item($window, credentialName => $pw), item($silent));
ok(HS::wait_for(sub { window_execs() > $execs }, 20),
    'one scan is writing to the byte-a-second window, one is in a handshake '
    . 'that gets no answer');
Time::HiRes::sleep(1);
my $t0 = Time::HiRes::time();
is(cancel_job($job), 202, 'DELETE the job: 202');
ok(wait_sampling($job, 10), 'both hosts end');
my $cancel_s = Time::HiRes::time() - $t0;
$h = job_hosts($job);
is_deeply([map { $_->{state} } @$h], [4, 4], 'both Cancelled');
is($h->[0]{status_description}, 'cancelled while running (during inventory)',
    '... one during the inventory');
is($h->[1]{status_description}, 'cancelled while running (during handshake)',
    '... one during the handshake');
cmp_ok($cancel_s, '<', scaled(2.5),
    "... within 2.5 s of the DELETE, not at the $STEP s step timeout "
    . "($cancel_s s)");
like(SSHD::slurp($d->{log}), qr/event=scan_interrupted host_scan_id=\Q$h->[1]{id}\E attempt=1 why=cancelled/,
    'the watchdog shut the blocked handshake down');

# ---- the scheduler survived all of it ----

survived('streams and cancellations');

# ---- SIGTERM while a scan is blocked ----

$job = submit_job(item($silent));
ok(HS::wait_for(sub { psql("SELECT state FROM host_scan_host WHERE job_id = "
    . sql_quote($job)) eq '1' }, 20), 'a scan is blocked in a handshake');
Time::HiRes::sleep(0.5);
$t0 = Time::HiRes::time();
is(stop_hostscand($d, timeout => scaled(10)), 0, 'SIGTERM: hostscand exits 0');
my $stop_s = Time::HiRes::time() - $t0;
cmp_ok($stop_s, '<', 2 + scaled(1.5),
    "... within the 2 s grace + 1.5 s ($stop_s s)");
$h = job_hosts($job)->[0];
is($h->{state}, 0, '... and gives the blocked host back to the queue');
ok((grep { $_->{message} =~ /scheduler shutting down: released during handshake/ }
    @{scan_log_of($h->{id})}), '... saying when it was released');
like(SSHD::slurp($d->{log}), qr/event=scan_interrupted host_scan_id=\Q$h->{id}\E attempt=1 why=shutdown/,
    '... the watchdog shut its connection down');
is(cancel_job($job), 202, 'clean up the queued host');

$_->stop for $normal, $cross, $garb, $pkgs, $pkgs_over, $stderr, $drip,
    $silent;
note(sprintf('t/83-hostile.t took %d s', time - $^T));
done_testing();
