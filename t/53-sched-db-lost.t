#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# hostscand when every one of its database sessions is cut, while idle and
# under running scans (pg_terminate_backend: what a failover does to it,
# without the second node t/52-failover.t has): no host is failed by it,
# none is completed twice, none is left Running, and the scheduler goes
# on without a restart.  Before hostscand took a lost connection for what
# it is, a scan whose host record or audit row met a dead pooled
# connection was stored as Failed/SystemError.
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
my $N = 32;
my $CUTS = 2;

my $t = SSHD->new(dir => $dir, addr => '127.0.0.53',
    log_level => 'ERROR')->start;
my $cred = "t53-key-$run";
credential(name => $cred, username => 'root', secret => $t->client_key,
    kind => 'private-key');
# A short lease: a scan left to it is scanned again within seconds; each
# cut can cost a host one attempt.
my $d = start_hostscand(workers => 8, lease => 4, step => 5,
    host_timeout => 30, backoff => 1, max_attempts => $CUTS + 2);

sub items {
	my ($tag, $n) = @_;
	return map {
		host_item(dnsHostName => "$tag$_-$run.invalid",
		    ipAddress => $t->addr, sshPort => $t->port,
		    credentialName => $cred,
		    acceptThumbprintOnFirstDiscovery => JSON::PP::true)
	} 1 .. $n;
}

my $cut_sql = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
    . " WHERE usename = 'hostscan_sched'"
    . " AND application_name LIKE 'hostscand/%'";

# The pool's connections, opened by a first job, all idle and then cut:
# the next job's first reads (each scan's host record) meet dead ones.
my $warm = submit_job(items('w', 8));
ok(wait_job($warm, 120), 'a first job opens the pool and is done');
cmp_ok(HS::psql($cut_sql), '>', 1, "idle: hostscand's sessions terminated");

my $job = submit_job(items('h', $N));
my $qjob = HS::sql_quote($job);
# And cut again while scans of that job run.
for my $i (1 .. $CUTS) {
	ok(HS::wait_for(sub {
		HS::psql("SELECT count(*) FROM host_scan_host WHERE job_id ="
		    . " $qjob AND state = 1") > 0
	}, 60), "cut $i: scans are running");
	cmp_ok(HS::psql($cut_sql), '>', 0,
	    "cut $i: hostscand's sessions terminated");
	Time::HiRes::sleep(1.5);
}

ok(wait_job($job, 180), "every host of the job is done");
my $hosts = job_hosts($job);
is(scalar @$hosts, $N, "the job has its $N hosts");
my @not = grep { $_->{state} != 2 } @$hosts;
is(scalar @not, 0, 'every host is Complete');
diag("$_->{id}: state $_->{state} reason "
    . ($_->{failure_reason} // '-') . ": $_->{status_description}")
    for @not;

my (%stored, $abandoned);
$abandoned = 0;
for my $l (split /\n/, SSHD::slurp($d->{log})) {
	$abandoned++ if $l =~ /\bevent=scan_abandoned\b/;
	$stored{$1}++ if $l =~ /\bevent=scan_done\b.*\bhost_scan_id=(\S+).*
	    \bstored=yes\b/x;
}
my %ours = map { $_->{id} => 1 } @$hosts;
is(scalar(grep { $ours{$_} && $stored{$_} > 1 } keys %stored), 0,
    'no host completed twice (stored=yes once per host)');
diag("scans left to their lease by a lost connection: $abandoned; "
    . "rescanned: " . scalar(grep { $_->{attempt} > 1 } @$hosts));
ok(kill(0, $d->{pid}), 'hostscand was not restarted');
is(stop_hostscand($d), 0, 'SIGTERM: hostscand exits 0');
$t->stop;
done_testing();
