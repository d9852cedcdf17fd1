#!/usr/bin/perl
# A database outage is a 503 with Retry-After for the client, never a 500,
# a hang or a half-written job; when PostgreSQL comes back the same
# responder processes serve again from the very first request.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT child_pids sql_quote);
use Test::More;
use JSON::PP ();
use POSIX ();
use Time::HiRes ();

need_services();

my $J = JSON::PP->new->utf8->canonical;
my $TIMEOUT = 15;
my $HOSTS_PER_JOB = 5;
my $LOOP_REQUESTS = 300;
my $RUN = "dbrestart-$$-" . time;

my $tok = token(roles => 'Admin', sub => $RUN);
credential();

# A responder of our own, so its pids are ours to watch.
my $resp = start_responder(workers => 4);
my $web = nginx_for_socket($resp->{socket});
my @workers_before = child_pids($resp->{pid});
is(scalar @workers_before, 4, 'responder runs 4 workers');

sub call {
	my ($method, $path, %o) = @_;
	return api($method, $path, url => $web->{url}, timeout => $TIMEOUT,
	    token => $tok, %o);
}

sub job_body {
	my ($tag) = @_;
	return [map { host_item(dnsHostName => "h$_.$tag.dbrestart.test") }
	    1 .. $HOSTS_PER_JOB];
}

# Answers a problem body must have during an outage.
sub outage_ok {
	my ($r) = @_;
	return 0 unless $r->{status} == 503;
	return 0 unless ($r->{headers}{'content-type'} // '')
	    =~ m{\Aapplication/problem\+json};
	return 0 unless ($r->{headers}{'retry-after'} // '') =~ /\A\d+\z/;
	return ref $r->{json} eq 'HASH' && ($r->{json}{status} // 0) == 503;
}

# The load loop: a child process alternating POST and GET, one line per
# request into a file: "METHOD STATUS OUTAGE_OK JOB_ID".
my $record = File::Temp->new;
my $loop = fork // die "fork: $!";
if ($loop == 0) {
	open(my $out, '>>', $record->filename) or POSIX::_exit(1);
	$out->autoflush(1);
	my $last;
	for my $i (1 .. $LOOP_REQUESTS) {
		my ($m, $r);
		if ($i % 2 || !defined $last) {
			$m = 'POST';
			$r = call(POST => '/api/v1/HostScanJob',
			    json => job_body("loop$i"));
			$last = $r->{json}{id} if $r->{status} == 200
			    && ref $r->{json} eq 'HASH';
		} else {
			$m = 'GET';
			$r = call(GET => "/api/v1/HostScanJob/$last/Status");
		}
		my $id = $m eq 'POST' && $r->{status} == 200
		    && ref $r->{json} eq 'HASH' ? $r->{json}{id} // '-' : '-';
		printf $out "%s %d %d %s\n", $m, $r->{status}, outage_ok($r),
		    $id;
		Time::HiRes::sleep(0.01);
	}
	close $out;
	POSIX::_exit(0);
}

sub records {
	open(my $fh, '<', $record->filename) or return ();
	my @r = map { [split ' '] } grep { /\n\z/ } <$fh>;
	close $fh;
	return @r;
}

ok(wait_for(sub { (grep { $_->[1] == 200 } records()) >= 20 }, 60),
    'the load loop gets 200s before the outage');
pg_stop();
my $stopped_at = scalar records();
ok(wait_for(sub { grep { $_->[1] == 503 } records() }, 30),
    'requests get 503 while the database is down');
Time::HiRes::sleep(1);
pg_start();
my $first = call(GET => '/api/v1/HostScanJob?limit=1');
is($first->{status}, 200,
    'the very first request after the database is back gets 200')
    or diag($first->{content});
my $h = call(GET => '/api/v1/Health');
is($h->{status}, 200, 'Health is 200 again');

waitpid($loop, 0);
is($?, 0, 'the load loop finished');
my @rec = records();
is(scalar @rec, $LOOP_REQUESTS, "all $LOOP_REQUESTS loop requests answered");
my %by;
$by{$_->[1]}++ for @rec;
diag(join ', ', map { "$_: $by{$_}" } sort keys %by);
my @bad = grep { $_->[1] != 200 && $_->[1] != 503 } @rec;
is(scalar @bad, 0, 'every answer is 200 or 503 (no 500, no timeout)')
    or diag(join "\n", map { "@$_" } @bad[0 .. ($#bad > 9 ? 9 : $#bad)]);
my @bad503 = grep { $_->[1] == 503 && !$_->[2] } @rec;
is(scalar @bad503, 0,
    'every 503 is problem+json with a Retry-After header');
ok((grep { $_->[1] == 503 } @rec[$stopped_at .. $#rec]) > 0,
    'the outage was seen by the loop');
ok((grep { $_->[1] == 200 } @rec[-5 .. -1]) == 5,
    'the loop ends with 200s');

is_deeply([child_pids($resp->{pid})], \@workers_before,
    'no responder or worker restarted across the outage');
ok(kill(0, $resp->{pid}), 'the supervisor still runs');

# Every 200 POST is a complete job; no job of this run is partial.
my %ok_jobs = map { $_->[3] => 1 } grep { $_->[0] eq 'POST'
    && $_->[1] == 200 } @rec;
my %db = map { split /\|/ } split /\n/, psql(<<"SQL");
SELECT j.id || '|' || count(h.id) FROM host_scan_job j
LEFT JOIN host_scan_host h ON h.job_id = j.id
WHERE j.created_by = ${\ sql_quote($RUN)} GROUP BY j.id
SQL
my @missing = grep { !exists $db{$_} } keys %ok_jobs;
is(scalar @missing, 0, 'every job whose POST got 200 is in the database')
    or diag("missing: @missing");
my @partial = grep { $db{$_} != $HOSTS_PER_JOB } keys %db;
is(scalar @partial, 0, "every job in the database has all $HOSTS_PER_JOB hosts")
    or diag(join ', ', map { "$_: $db{$_}" } @partial);
my @extra = grep { !$ok_jobs{$_} } keys %db;
diag(scalar(@extra) . ' job(s) committed although the client saw an error')
    if @extra;

# The database stops in the middle of a 10 000-host POST: all or nothing.
my $N = 10_000;
my @big = map {
	{ dnsHostName => sprintf('b%05d.big.dbrestart.test', $_),
	  credentialName => 'hs-test-cred', platformName => 'Linux',
	  sshPort => 22 }
} 1 .. $N;

# How the stopper picks its moment: when the INSERT is seen running, or
# after a fixed delay from the request's start (the last one after the
# POST has finished, so both outcomes are seen).
for my $when ('insert-active', 0.05, 0.3, 1.0, 5) {
	my $sub = "$RUN-big-$when";
	my $btok = token(roles => 'App', sub => $sub);
	my $stopper = fork // die "fork: $!";
	if ($stopper == 0) {
		if ($when eq 'insert-active') {
			wait_for(sub {
				my $n = eval { psql("SELECT count(*) FROM pg_stat_activity
				    WHERE usename = 'hostscan_api' AND state = 'active'
				    AND query ILIKE '%host_scan_host%'") } // 0;
				return $n > 0;
			}, 10);
		} else {
			Time::HiRes::sleep($when);
		}
		eval { pg_stop() };
		POSIX::_exit(0);
	}
	my $t0 = Time::HiRes::time();
	my $r = api(POST => '/api/v1/HostScanJob', url => $web->{url},
	    token => $btok, json => \@big, timeout => 60);
	my $took = Time::HiRes::time() - $t0;
	waitpid($stopper, 0);
	# The stopper always stops the cluster, if need be after the POST.
	pg_start();
	ok(wait_for(sub { call(GET => '/api/v1/Health')->{status} == 200 }, 20),
	    "[$when] database back");
	my $jobs = psql('SELECT count(*) FROM host_scan_job WHERE created_by = '
	    . sql_quote($sub));
	my $rows = psql('SELECT count(*) FROM host_scan_host h JOIN host_scan_job j'
	    . ' ON j.id = h.job_id WHERE j.created_by = ' . sql_quote($sub));
	diag(sprintf('[%s] POST of %d hosts: %d in %.2fs; jobs %d, rows %d',
	    $when, $N, $r->{status}, $took, $jobs, $rows));
	if ($r->{status} == 200) {
		is("$jobs/$rows", "1/$N", "[$when] 200: the job has all $N hosts");
		is(scalar @{$r->{json}{hostScanHostStatus} // []}, $N,
		    "[$when] 200: the answer lists all $N hosts");
	} elsif ($r->{status} == 503) {
		ok(outage_ok($r), "[$when] 503 is problem+json with Retry-After");
		is("$jobs/$rows", '0/0', "[$when] 503: nothing of the job was written");
	} else {
		fail("[$when] POST answered $r->{status}, not 200 or 503");
		diag($r->{content});
	}
}

is(stop_responder($resp), 0, 'the responder stops cleanly (exit 0)');
stop_nginx($web);
done_testing;
