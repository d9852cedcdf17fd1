# SPDX-License-Identifier: ISC
# The fair queue: claims go round-robin across jobs (lowest position in
# its job first), and a 1-host job submitted right after a 10 000-host job
# whose hosts accept and never answer starts within 2 s and ends within its
# own scan time plus 2 s, on the default 64 workers, because the reserved
# workers take only hosts of jobs that have none running.
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
my $pw = "t87-F4ir-$run-pw";
my $cred = "t87-pw-$run";
HS::credential(name => $cred, username => 'hsscan', secret => $pw);

sub sq { HS::sql_quote($_[0]) }

sub running {
	my ($job) = @_;
	return psql("SELECT count(*) FROM host_scan_host WHERE job_id = "
	    . sq($job) . " AND state = 1") + 0;
}

# Seconds from the job's creation to its host's start and end, and the
# scan's own time, from the database's clock.
sub times_of {
	my ($job) = @_;
	my @v = split /\|/, psql("SELECT extract(epoch FROM h.time_started -"
	    . " j.created_at), extract(epoch FROM h.time_finished -"
	    . " j.created_at), extract(epoch FROM h.time_finished -"
	    . " h.time_started), h.state FROM host_scan_host h JOIN"
	    . " host_scan_job j ON j.id = h.job_id WHERE j.id = " . sq($job));
	return @v;
}

# ---- round-robin: two jobs queued together are claimed in turn ----
{
	# Nothing of earlier test files may sit in the queue; then both jobs
	# are queued before any scheduler runs.
	SSHD::Scheduler::cancel_leftovers();
	my $port = SSHD::free_port('0.0.0.0');
	my $n = 300;
	my @jobs = map {
		my $j = $_;
		submit_job(map { host_item(dnsHostName => undef,
		    ipAddress => "127.0.$j." . (1 + $_ % 250), sshPort => $port,
		    credentialName => $cred) } 0 .. $n - 1)
	} (71, 72);
	my $d = start_hostscand(workers => 16, step => 2);
	ok(wait_job($_, 60), "refused job $_ ended") for @jobs;
	# Claim order: the scan_log 'claim' rows in id order.
	my @order = split /\n/, psql("SELECT h.job_id || ' ' || h.ord FROM"
	    . " scan_log l JOIN host_scan_host h ON h.id = l.host_scan_host_id"
	    . " WHERE h.job_id IN (" . join(',', map { sq($_) } @jobs) . ")"
	    . " AND l.step = 'claim' ORDER BY l.id");
	is(scalar @order, 2 * $n, 'one claim per host');
	# Host k of either job is the (2k)th or (2k+1)th claim, give or take
	# one claim's worth (16); oldest first would put the second job's
	# first host at claim 300.
	my ($worst, $at) = (0, '');
	for my $rank (0 .. $#order) {
		my (undef, $ord) = split / /, $order[$rank];
		my $off = abs($rank - 2 * $ord);
		($worst, $at) = ($off, $order[$rank]) if $off > $worst;
	}
	cmp_ok($worst, '<=', 16, 'claims alternate between the jobs '
	    . "(largest distance from round-robin: $worst claims, at $at)");
	my %first_half;
	$first_half{(split / /, $_)[0]}++ for @order[0 .. $n - 1];
	cmp_ok(abs(($first_half{$jobs[0]} // 0) - ($first_half{$jobs[1]} // 0)),
	    '<=', 16, 'the first 300 claims: about half of each job ('
	    . join(' and ', map { $first_half{$_} // 0 } @jobs) . ')');
	is(stop_hostscand($d), 0, 'scheduler stops');
}

# ---- a 1-host job behind 10 000 hosts that never answer ----
my $target = SSHD->new(dir => $dir, addr => '127.0.0.71', password => $pw)
    ->start;
HS::note_secret($pw, 'the target\'s password');
my $small = host_item(dnsHostName => undef, ipAddress => $target->addr,
    sshPort => $target->port, credentialName => $cred,
    acceptThumbprintOnFirstDiscovery => $T);
my $silent = SSHD::silent_listener('0.0.0.0');

# Default workers and reserve; steps long enough that no silent host
# frees its worker during the test.
my $d = start_hostscand(workers => 64, step => 40, host_timeout => 60,
    lease => 30);
like(SSHD::slurp($d->{log}), qr/event=started .* workers=64 .* reserve=8\b/,
    'hostscand: 64 workers, 8 of them reserved');

# Its scan time alone.
my $alone = submit_job($small);
ok(wait_job($alone, 30), 'the 1-host job alone ends');
my (undef, undef, $scan, $state) = times_of($alone);
is($state, 2, '... Complete');
note("the 1-host job's scan alone: $scan s");

my $t0 = Time::HiRes::time();
my $r = HS::api(POST => '/api/v1/HostScanJob', token => admin_token(),
    timeout => HS::scaled(120), json => [map { host_item(dnsHostName => undef,
    ipAddress => '127.3.' . int($_ / 250) . '.' . (1 + $_ % 250),
    sshPort => $silent->port, credentialName => $cred) } 0 .. 9999]);
is($r->{status}, 200, 'POST of the 10 000-host job: 200')
    or die "POST /HostScanJob: $r->{status} $r->{content}\n";
my $big = $r->{json}{id};
note(sprintf('POST of 10 000 hosts: %.2f s', Time::HiRes::time() - $t0));
ok(HS::wait_for(sub { running($big) == 56 }, 15),
    'the 10 000-host job holds 56 workers (64 less the 8 reserved)');
Time::HiRes::sleep(1.5);
is(running($big), 56, '... and no more, a poll later');

my $job = submit_job($small);
ok(wait_job($job, 30), 'the 1-host job ends');
my ($start, $end, $own, $st) = times_of($job);
is($st, 2, '... Complete');
cmp_ok($start, '<', HS::scaled(2), "it started ${start} s after its POST "
    . '(limit 2 s)');
cmp_ok($end, '<', $scan + HS::scaled(2), "it ended ${end} s after its POST "
    . "(limit its own scan time $scan s + 2 s)");
is(running($big), 56, 'the big job still holds its 56 workers');
is(psql("SELECT count(*) FROM host_scan_host WHERE job_id = " . sq($big)
    . " AND state <> 0 AND state <> 1"), 0, '... none of its hosts ended');

is(cancel_job($big), 202, 'clean up: cancel the 10 000-host job');
ok(wait_job($big, 30), '... its running hosts stop');
is(stop_hostscand($d), 0, 'scheduler stops');
$silent->stop;
$target->stop;

done_testing();
