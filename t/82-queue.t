# SPDX-License-Identifier: ISC
# The queue under several hostscand instances: every host claimed exactly
# once per attempt, a crashed or frozen instance's hosts finished by
# another after the lease expires (never two results), cancellation of a
# running job, the reaper's last word, a graceful SIGTERM, and a new
# job's start within a second without a NOTIFY.
use strict;
use warnings;

use JSON::PP ();
use Test::More;
use Time::HiRes ();

use HS;
use SSHD;

SSHD::need_targets();

my $dir = HS::scratch_dir();
my $run = "$$-" . time;
my $T = JSON::PP::true;

my $keycred = "t82-key-$run";
my $pwcred = "t82-pw-$run";
credential(name => $pwcred, username => 'hsscan', secret => "t82-S3cret-$run-Q");

sub sq { HS::sql_quote($_[0]) }

sub count_sql {
	my ($sql) = @_;
	return psql($sql) + 0;
}

# Hosts of $job whose scan_log has more than one $step line for an attempt.
sub dup_steps {
	my ($job, $step) = @_;
	return count_sql("SELECT count(*) FROM (SELECT l.host_scan_host_id,"
	    . " l.attempt FROM scan_log l JOIN host_scan_host h"
	    . " ON h.id = l.host_scan_host_id WHERE h.job_id = " . sq($job)
	    . " AND l.step = " . sq($step) . " GROUP BY 1, 2"
	    . " HAVING count(*) > 1) x");
}

sub results_per_host {
	my ($job) = @_;
	return psql("SELECT string_agg(n::text, ',') FROM (SELECT count(l.id)"
	    . " AS n FROM host_scan_host h LEFT JOIN scan_log l"
	    . " ON l.host_scan_host_id = h.id AND l.step = 'result'"
	    . " WHERE h.job_id = " . sq($job) . " GROUP BY h.id) x");
}

sub running {
	my ($job, $instance) = @_;
	my $w = defined $instance ? " AND locked_by = " . sq($instance) : '';
	return count_sql("SELECT count(*) FROM host_scan_host WHERE job_id = "
	    . sq($job) . " AND state = 1$w");
}

sub sessions {
	my ($t) = @_;
	my @n = $t->log_text =~ /Starting session: forced-command/g;
	return scalar @n;
}

sub refused_items {
	my ($n, $port) = @_;
	return map {
		host_item(dnsHostName => undef,
		    ipAddress => '127.0.1.' . (1 + $_ % 250), sshPort => $port,
		    credentialName => $pwcred)
	} 0 .. $n - 1;
}

# ---- two instances, 200 hosts: each claimed exactly once per attempt ----
{
	my $port = SSHD::free_port('0.0.0.0');
	my $a = start_hostscand(workers => 16, step => 2);
	my $b = start_hostscand(workers => 16, step => 2);
	ok(drain_queue(60), 'queue drained of other tests\' rows');
	my $job = submit_job(refused_items(200, $port));
	ok(wait_job($job, 60), '200 refused hosts finished');
	my $h = job_hosts($job);
	is(scalar(grep { $_->{state} == 3 && $_->{failure_reason} == 11 } @$h),
	    200, 'all 200 Failed / FailedToConnect');
	is(scalar(grep { $_->{attempt} == 1 } @$h), 200,
	    'all on their first attempt');
	is(dup_steps($job, 'claim'), 0, 'no host claimed twice in one attempt');
	is(count_sql("SELECT count(*) FROM scan_log l JOIN host_scan_host h"
	    . " ON h.id = l.host_scan_host_id WHERE h.job_id = " . sq($job)
	    . " AND l.step = 'claim'"), 200, 'exactly 200 claims');
	is(results_per_host($job), join(',', (1) x 200),
	    'exactly one result per host');
	my %by;
	$by{$_->{locked_by}}++ for @$h;
	is(scalar(keys %by), 2, 'both instances took part')
	    or diag explain \%by;
	is(stop_hostscand($a), 0, 'instance A stops');
	is(stop_hostscand($b), 0, 'instance B stops');
}

# ---- a new job starts within a second: no NOTIFY, the poll (sql/013) ----
{
	my $d = start_hostscand(workers => 4, step => 2);
	my $port = SSHD::free_port('0.0.0.0');
	ok(drain_queue(60), 'queue drained');
	my @lat;
	for my $i (1 .. 5) {
		# Each job at another phase of the scheduler's poll.
		Time::HiRes::sleep(0.05 + rand(0.3));
		my $job = submit_job(refused_items(1, $port));
		ok(wait_job($job, 20), "job $i finished");
		push @lat, psql("SELECT extract(epoch FROM time_started"
		    . " - time_created) FROM host_scan_host WHERE job_id = "
		    . sq($job)) + 0;
	}
	my ($max) = sort { $b <=> $a } @lat;
	cmp_ok($max, '<', HS::scaled(1),
	    "a new job's host is claimed within 1 s (slowest of five: ${max}s)");
	is(stop_hostscand($d), 0, 'stops');
}

# ---- the database restarts under a running scheduler ----
{
	my $d = start_hostscand(workers => 4, step => 2);
	ok(drain_queue(60), 'queue drained');
	pg_stop();
	sleep 2;
	pg_start();
	my $job = submit_job(refused_items(5, SSHD::free_port('0.0.0.0')));
	ok(wait_job($job, 20), 'after a PostgreSQL restart the queue moves');
	is(scalar(grep { $_->{state} == 3 } @{job_hosts($job)}), 5,
	    'all five scanned');
	is(stop_hostscand($d), 0, 'stops');
}

# ---- kill -9 mid-job: the other instance finishes after the lease ----
{
	my $silent = SSHD::silent_listener('127.0.0.51');
	my $a = start_hostscand(workers => 6, lease => 3, step => 4);
	ok(drain_queue(60), 'queue drained');
	my $job = submit_job(map { host_item(dnsHostName => undef,
	    ipAddress => $silent->addr, sshPort => $silent->port,
	    credentialName => $pwcred) } 1 .. 6);
	ok(HS::wait_for(sub { running($job, $a->{instance}) == 6 }, 10),
	    'instance A runs all six hosts');
	my $b = start_hostscand(workers => 6, lease => 3, step => 2);
	kill 'KILL', $a->{pid};
	is(stop_hostscand($a, signal => 0, timeout => 5), 9,
	    'instance A died of SIGKILL');
	my $t0 = Time::HiRes::time();
	ok(wait_job($job, 30), 'instance B finished the job');
	my $took = Time::HiRes::time() - $t0;
	my $h = job_hosts($job);
	is(scalar(grep { $_->{attempt} == 2 && $_->{locked_by} eq $b->{instance}
	    && $_->{state} == 3 && $_->{failure_reason} == 4 } @$h), 6,
	    'every host re-run by B on attempt 2 (silent port: ActionTimeout)');
	cmp_ok($took, '<', HS::scaled(3 + 1 + 1 + 2 + 4),
	    'within lease + reap + backoff + scan');
	is(results_per_host($job), '1,1,1,1,1,1', 'no host with two results');
	is(dup_steps($job, 'claim'), 0, 'one claim per attempt');
	is(count_sql("SELECT count(*) FROM scan_log l JOIN host_scan_host h"
	    . " ON h.id = l.host_scan_host_id WHERE h.job_id = " . sq($job)
	    . " AND l.step = 'reaper' AND l.message LIKE "
	    . sq("lease of $a->{instance} expired: re-queued")), 6,
	    'the reaper logged each expired lease');
	is(stop_hostscand($b), 0, 'instance B stops');

	# Frozen rather than dead: its late results are fenced off.
	$a = start_hostscand(workers => 2, lease => 3, step => 5);
	ok(drain_queue(60), 'queue drained');
	$job = submit_job(map { host_item(dnsHostName => undef,
	    ipAddress => $silent->addr, sshPort => $silent->port,
	    credentialName => $pwcred) } 1 .. 2);
	ok(HS::wait_for(sub { running($job, $a->{instance}) == 2 }, 10),
	    'instance A runs both hosts');
	kill 'STOP', $a->{pid};
	$b = start_hostscand(workers => 2, lease => 3, step => 1);
	ok(wait_job($job, 30), 'instance B finished them');
	kill 'CONT', $a->{pid};
	ok(HS::wait_for(sub { SSHD::slurp($a->{log}) =~ /stored=fenced/ }, 15),
	    'the frozen instance woke up and was fenced off');
	$h = job_hosts($job);
	is(scalar(grep { $_->{locked_by} eq $b->{instance} && $_->{attempt} == 2 }
	    @$h), 2, 'B\'s attempt is the result');
	is(results_per_host($job), '1,1', 'still one result per host');
	is(stop_hostscand($a), 0, 'instance A stops');
	is(stop_hostscand($b), 0, 'instance B stops');

	# No instance ever finishes: after max attempts, ActionTimeout.
	$a = start_hostscand(workers => 1, lease => 3, step => 10,
	    max_attempts => 1);
	ok(drain_queue(60), 'queue drained');
	$job = submit_job(host_item(dnsHostName => undef,
	    ipAddress => $silent->addr, sshPort => $silent->port,
	    credentialName => $pwcred));
	ok(HS::wait_for(sub { running($job) == 1 }, 10), 'claimed');
	kill 'KILL', $a->{pid};
	is(stop_hostscand($a, signal => 0, timeout => 5), 9,
	    'instance A died of SIGKILL');
	$b = start_hostscand(workers => 1, lease => 3, max_attempts => 1);
	ok(wait_job($job, 20), 'the reaper ended it');
	$h = job_hosts($job);
	is_deeply([$h->[0]{state}, $h->[0]{failure_reason}], [3, 4],
	    'Failed / ActionTimeout after max attempts');
	like($h->[0]{status_description}, qr/no result after 1 attempts/,
	    '... saying why');
	is(stop_hostscand($b), 0, 'stops');
	$silent->stop;
}

# ---- targets whose command starts late (ForceCommand sleeps first) ----
my $slow = SSHD->new(dir => $dir, addr => '127.0.0.52',
    extra_config => "ForceCommand /bin/sleep 30; exec /bin/sh -s\n")->start;
my $late = SSHD->new(dir => $dir, addr => '127.0.0.53',
    extra_config => "ForceCommand /bin/sleep 2; exec /bin/sh -s\n")->start;
SSHD::spew($late->dir . '/authorized_keys/root',
    SSHD::slurp($slow->dir . '/client_key.pub'), 0644);
credential(name => $keycred, username => 'root', secret => $slow->client_key,
    kind => 'private-key');

sub slow_items {
	my ($t, $n, %o) = @_;
	return map { host_item(dnsHostName => "q$_-$run-$t->{port}.invalid",
	    ipAddress => $t->addr, sshPort => $t->port, credentialName => $keycred,
	    acceptThumbprintOnFirstDiscovery => $T, %o) } 1 .. $n;
}

# ---- a scan longer than its lease keeps the lease (heartbeat) ----
{
	my $d = start_hostscand(workers => 2, lease => 3, step => 5);
	ok(drain_queue(60), 'queue drained');
	my $job = submit_job(slow_items($slow, 1));
	ok(wait_job($job, 30), 'the long scan ended');
	my $h = job_hosts($job);
	is_deeply([@{$h->[0]}{qw(state failure_reason attempt)}], [3, 4, 1],
	    'ActionTimeout from the inventory step, on the first attempt');
	cmp_ok($h->[0]{secs}, '>', 3, 'it outlived the 3 s lease');
	is(results_per_host($job), '1', 'one result');
	is(count_sql("SELECT count(*) FROM scan_log l JOIN host_scan_host h"
	    . " ON h.id = l.host_scan_host_id WHERE h.job_id = " . sq($job)
	    . " AND l.step = 'reaper'"), 0, 'never reaped');
	is(stop_hostscand($d), 0, 'stops');
}

# ---- cancel a running job ----
{
	my $d = start_hostscand(workers => 4, step => 20, host_timeout => 60);
	ok(drain_queue(60), 'queue drained');
	my $job = submit_job(slow_items($slow, 2));
	ok(HS::wait_for(sub { sessions($slow) >= 2 }, 15),
	    'both scans are inside the inventory step');
	my $t0 = Time::HiRes::time();
	is(cancel_job($job), 202, 'DELETE /HostScanJob/{id}: 202');
	ok(wait_job($job, 10), 'the running scans stopped');
	cmp_ok(Time::HiRes::time() - $t0, '<', HS::scaled(5), '... within seconds');
	my $h = job_hosts($job);
	is_deeply([map { $_->{state} } @$h], [4, 4], 'both Cancelled');
	like($h->[0]{status_description}, qr/cancelled while running/,
	    'the description says where');
	is(stop_hostscand($d), 0, 'stops');
}

# ---- SIGTERM: running scans finish, the rest stays queued ----
{
	$late->clear_log;
	my $d = start_hostscand(workers => 2, step => 10, grace => 20);
	ok(drain_queue(60), 'queue drained');
	my $job = submit_job(slow_items($late, 4));
	ok(HS::wait_for(sub { sessions($late) >= 2 }, 15), 'two scans running');
	my $t0 = Time::HiRes::time();
	is(stop_hostscand($d, timeout => 30), 0, 'SIGTERM: exit status 0');
	cmp_ok(Time::HiRes::time() - $t0, '<', HS::scaled(10),
	    'after the running scans');
	my $h = job_hosts($job);
	my @done = grep { $_->{state} == 2 } @$h;
	my @queued = grep { $_->{state} == 0 && $_->{attempt} == 0 } @$h;
	is(scalar @done, 2, 'the two running scans finished (Complete)');
	is(scalar @queued, 2, 'the other two were never claimed');
	is(cancel_job($job), 202, 'clean up: cancel the rest');
}

# ---- SIGTERM past the grace: running scans are released ----
{
	$slow->clear_log;
	my $d = start_hostscand(workers => 2, step => 20, grace => 1);
	ok(drain_queue(60), 'queue drained');
	my $job = submit_job(slow_items($slow, 3));
	ok(HS::wait_for(sub { sessions($slow) >= 2 }, 15), 'two scans running');
	my $t0 = Time::HiRes::time();
	is(stop_hostscand($d, timeout => 30), 0, 'SIGTERM: exit status 0');
	cmp_ok(Time::HiRes::time() - $t0, '<', HS::scaled(6),
	    'soon after the grace');
	my $h = job_hosts($job);
	is(scalar(grep { $_->{state} == 0 && $_->{attempt} == 0 &&
	    !defined $_->{locked_by} } @$h), 3,
	    'all three queued again, no attempt used up');
	is(count_sql("SELECT count(*) FROM scan_log l JOIN host_scan_host h"
	    . " ON h.id = l.host_scan_host_id WHERE h.job_id = " . sq($job)
	    . " AND l.step = 'release'"), 2, 'the two releases are logged');
	is(cancel_job($job), 202, 'clean up: cancel the job');
}

$slow->stop;
$late->stop;
done_testing();
