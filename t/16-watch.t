#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# hostscanctl job watch, not on a terminal: one line per change of a
# host's state, the end of the job noticed, and the exit status saying
# whether a host failed.  The hosts' states are set with psql, so no
# scheduler is needed; the rows are marked as leased by this test first
# so that a hostscand another test started leaves them alone.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(need_services api token ctl psql host_item wait_for sql_quote
    scratch_dir wait_exit);
use Test::More;
use POSIX ();

need_services();
HS::env_required('HOSTSCANCTL');

my $tok = token(roles => 'Admin', sub => 'watch-test');

sub slurp {
	my ($p) = @_;
	open(my $fh, '<', $p) or return '';
	local $/;
	my $s = <$fh>;
	return $s // '';
}

my @jobs;

# A test that dies half-way must not leave rows Running for an hour:
# drain_queue in the scanner tests waits for them.
END {
	my $st = $?;
	eval {
		psql("UPDATE host_scan_host SET state = 4, locked_by = NULL,"
		    . " lease_until = NULL WHERE state IN (0, 1) AND job_id IN ("
		    . join(', ', map { sql_quote($_) } @jobs) . ")") if @jobs;
	};
	$? = $st;
}

# A job of $n hosts, every row Running under this test's lease.
sub job_of {
	my ($n, $tag) = @_;
	my @items = map {
		host_item(dnsHostName => "w$_-$tag.example.test",
		    ipAddress => "192.0.2." . (10 + $_), sshPort => 2200 + $_)
	} 1 .. $n;
	my $r = api(POST => '/api/v1/HostScanJob', token => $tok,
	    json => \@items);
	die "POST: $r->{status} $r->{content}\n"
	    unless $r->{status} == 200 && $r->{json};
	my $job = $r->{json}{id};
	push @jobs, $job;
	psql("UPDATE host_scan_host SET state = 1, failure_reason = 0,"
	    . " locked_by = 't16-watch', attempt = attempt + 1000,"
	    . " lease_until = now() + interval '1 hour',"
	    . " status_description = 'scanning'"
	    . " WHERE job_id = " . sql_quote($job));
	return $job;
}

sub set_host {
	my ($job, $ord, $state, $reason, $desc) = @_;
	psql("UPDATE host_scan_host SET state = $state,"
	    . " failure_reason = $reason, locked_by = NULL, lease_until = NULL,"
	    . " status_description = " . sql_quote($desc)
	    . ", time_finished = now() WHERE job_id = " . sql_quote($job)
	    . " AND ord = (SELECT min(ord) FROM host_scan_host WHERE job_id = "
	    . sql_quote($job) . ") + $ord");
}

sub lines_of { grep { length } split /\n/, $_[0] }

# ---- usage and unknown jobs ----
{
	my ($rc, $out, $err) = ctl(['job', 'watch',
	    '0f0e0d0c-0b0a-4908-8706-050403020100']);
	is($rc, 3, 'unknown job: exit 3');
	like($err, qr/no job 0f0e0d0c-0b0a-4908-8706-050403020100/,
	    'unknown job: said so');
	is($out, '', 'unknown job: nothing on stdout');

	($rc, undef, $err) = ctl(['job', 'watch']);
	is($rc, 2, 'no id: exit 2');
	($rc) = ctl(['job', 'watch', 'not-a-uuid']);
	is($rc, 2, 'malformed id: exit 2');
	($rc, undef, $err) = ctl(['job', 'watch', '--interval', '0',
	    '0f0e0d0c-0b0a-4908-8706-050403020100']);
	is($rc, 2, '--interval 0: exit 2');
	like($err, qr/interval/, '--interval 0: said which option');
	($rc) = ctl(['job', 'watch', '--interval', 'x1',
	    '0f0e0d0c-0b0a-4908-8706-050403020100']);
	is($rc, 2, '--interval x1: exit 2');
	($rc) = ctl(['job', 'frobnicate']);
	is($rc, 2, 'unknown job subcommand: exit 2');
}

my $tag = sprintf('%d-%04x', $$, int(rand(65536)));

# ---- a job followed to its end, one host failing ----
{
	my $job = job_of(3, "a$tag");
	my $log = scratch_dir() . "/watch-$tag.out";
	unlink $log;
	my $pid = HS::spawn_logged([$ENV{HOSTSCANCTL}, 'job', 'watch', $job,
	    '--interval', '1'], $log);
	ok(wait_for(sub { (() = slurp($log) =~ /Running/g) >= 3 }, 15),
	    'the three hosts are shown Running')
	    or diag(slurp($log));

	set_host($job, 0, 2, 0, 'inventoried: 9 users');
	ok(wait_for(sub { slurp($log) =~ /^w1-a\Q$tag\E.*Complete/m }, 10),
	    'host 1 Complete shown');
	set_host($job, 1, 3, 11, 'connection refused by 192.0.2.12:2202');
	ok(wait_for(sub { slurp($log) =~ /^w2-a\Q$tag\E.*Failed/m }, 10),
	    'host 2 Failed shown');
	ok(!defined wait_exit($pid, 1.5), 'still watching while a host runs');
	set_host($job, 2, 2, 0, 'inventoried: 3 users');
	my $st = wait_exit($pid, 10);
	ok(defined $st, 'watch ends once every host is final');
	is(defined $st ? $st >> 8 : -1, 1, 'a host failed: exit 1');

	my @l = lines_of(slurp($log));
	is(scalar @l, 7, '3 Running + 3 final lines + summary')
	    or diag(join("\n", @l));
	is(scalar(grep { /Running/ } @l), 3,
	    'Running printed once per host, not once per poll');
	like($l[3], qr/^w1-a\Q$tag\E\.example\.test \(192\.0\.2\.11:2201\)\s+Complete\s+NoError\s+inventoried: 9 users$/,
	    'complete line: name (address:port), state, reason, description');
	like($l[4], qr/^w2-a\Q$tag\E\.example\.test \(192\.0\.2\.12:2202\)\s+Failed\s+FailedToConnect\s+connection refused by 192\.0\.2\.12:2202$/,
	    'failed line: failureReason and statusDescription');
	like($l[5], qr/^w3-a\Q$tag\E.*\s+Complete\s+NoError\s+inventoried: 3 users$/,
	    'last host');
	like($l[6], qr/^job \Q$job\E: 3 hosts, 2 complete, 1 failed, 0 cancelled$/,
	    'summary line');
	unlike(join('', @l), qr/\e/, 'no escape sequences when not a terminal');
}

# ---- a job already at its end: no waiting ----
{
	my $job = job_of(2, "b$tag");
	set_host($job, 0, 2, 0, 'ok');
	set_host($job, 1, 4, 0, 'cancelled by watch-test');
	my ($rc, $out, $err) = ctl(['job', 'watch', uc $job]);
	is($rc, 0, 'complete + cancelled: exit 0 (upper-case id accepted)')
	    or diag($err);
	my @l = lines_of($out);
	is(scalar @l, 3, 'one line per host and the summary');
	like($l[1], qr/\s+Cancelled\s+NoError\s+cancelled by watch-test$/,
	    'cancelled line');
	like($l[2], qr/2 hosts, 1 complete, 0 failed, 1 cancelled$/,
	    'summary');
}

# ---- control characters from a target never reach the output raw ----
{
	my $job = job_of(1, "c$tag");
	set_host($job, 0, 3, 5, "denied \e[31mred\e[0m\tand\x{7f}");
	my ($rc, $out) = ctl(['job', 'watch', $job]);
	is($rc, 1, 'failed host: exit 1');
	like($out, qr/AccessDenied\s+denied \?\[31mred\?\[0m\?and\?/,
	    'controls replaced by ?');
}

done_testing();
