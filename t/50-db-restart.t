#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# A database outage is a 503 with Retry-After for the client, never a 500,
# a hang or a half-written job; when PostgreSQL comes back the same
# responder processes serve again from the very first request.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT child_pids sql_quote);
use Check ();
use Test::More;
use JSON::PP ();
use POSIX ();
use Time::HiRes ();

need_services();

my $J = JSON::PP->new->utf8->canonical;
my $TIMEOUT = 15;
my $HOSTS_PER_JOB = 5;
# The load loop goes on until this many requests sent after the restart
# were answered, for at most $LOOP_LIMIT seconds.
my $AFTER = 50;
my $LOOP_LIMIT = 90;
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

# The load loop: a child process alternating POST and GET until the test
# says stop (a file appears) or $LOOP_LIMIT seconds passed, one line per
# request into a file: "START METHOD STATUS OUTAGE_OK JOB_ID", START the
# time the request was sent.
my $record = File::Temp->new;
my $stopfile = HS::scratch_dir() . "/$RUN.stop";
my $loop = fork // die "fork: $!";
if ($loop == 0) {
	open(my $out, '>>', $record->filename) or POSIX::_exit(1);
	$out->autoflush(1);
	my ($last, $i) = (undef, 0);
	my $end = Time::HiRes::time() + HS::scaled($LOOP_LIMIT);
	while (!-e $stopfile) {
		POSIX::_exit(3) if Time::HiRes::time() > $end;
		my ($m, $r);
		my $t0 = Time::HiRes::time();
		if (++$i % 2 || !defined $last) {
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
		printf $out "%.6f %s %d %d %s\n", $t0, $m, $r->{status},
		    outage_ok($r), $id;
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

ok(wait_for(sub { (grep { $_->[2] == 200 } records()) >= 20 }, 60),
    'the load loop gets 200s before the outage');
my $stopped_at = Time::HiRes::time();
pg_stop();
ok(wait_for(sub { grep { $_->[2] == 503 } records() }, 30),
    'requests get 503 while the database is down');
Time::HiRes::sleep(1);
pg_start();
my $back_at = Time::HiRes::time();
my $first = call(GET => '/api/v1/HostScanJob?limit=1');
is($first->{status}, 200,
    'the very first request after the database is back gets 200')
    or diag($first->{content});
my $h = call(GET => '/api/v1/Health');
is($h->{status}, 200, 'Health is 200 again');

# The loop runs on until it has had $AFTER answers to requests it sent
# once the database was back.
ok(wait_for(sub { (grep { $_->[0] >= $back_at } records()) >= $AFTER },
    $LOOP_LIMIT), "the load loop sent $AFTER requests after the restart");
open(my $sf, '>', $stopfile) or die "$stopfile: $!";
close $sf;
is(HS::wait_exit($loop, HS::scaled(2 * $TIMEOUT)) // -1, 0,
    'the load loop finished in time');
unlink $stopfile;
my @rec = records();
my %by;
$by{$_->[2]}++ for @rec;
diag(scalar(@rec) . ' loop requests: ' . join ', ',
    map { "$_: $by{$_}" } sort keys %by);
my @bad = grep { $_->[2] != 200 && $_->[2] != 503 } @rec;
is(scalar @bad, 0, 'every answer is 200 or 503 (no 500, no timeout)')
    or diag(join "\n", map { "@$_" } @bad[0 .. ($#bad > 9 ? 9 : $#bad)]);
my @bad503 = grep { $_->[2] == 503 && !$_->[3] } @rec;
is(scalar @bad503, 0,
    'every 503 is problem+json with a Retry-After header');
ok((grep { $_->[2] == 503 && $_->[0] >= $stopped_at } @rec) > 0,
    'the outage was seen by the loop');
my @after = grep { $_->[0] >= $back_at } @rec;
cmp_ok(scalar @after, '>=', $AFTER, "$AFTER or more requests after the restart");
is(scalar(grep { $_->[2] != 200 } @after), 0,
    'every request sent after the database was back got 200');
is(scalar(grep { $_->[2] != 200 } grep { $_->[0] < $stopped_at } @rec), 0,
    'every request sent before the outage got 200');

is_deeply([child_pids($resp->{pid})], \@workers_before,
    'no responder or worker restarted across the outage');
ok(kill(0, $resp->{pid}), 'the supervisor still runs');

# Every 200 POST is a complete job; no job of this run is partial.
my %ok_jobs = map { $_->[4] => 1 } grep { $_->[1] eq 'POST'
    && $_->[2] == 200 } @rec;
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
# A commit whose answer the outage ate is possible, if rare.
diag(scalar(@extra) . ' job(s) committed although the client saw an error')
    if @extra;

# The database stops in the middle of a 10 000-host POST: all or nothing.
my $N = 10_000;
my @big = map {
	{ dnsHostName => sprintf('b%05d.big.dbrestart.test', $_),
	  credentialName => 'hs-test-cred', platformName => 'Linux',
	  sshPort => 22 }
} 1 .. $N;

# The lines worker $pid logged for the request of $trace: from its
# previous request line (exclusive) to this one's (inclusive).
sub lines_of_request {
	my ($text, $pid, $trace) = @_;
	my @mine;
	for my $l (split /\n/, $text) {
		next unless $l =~ /\A\S+ \S+ prog=\S+ pid=$pid /;
		if ($l =~ / event=request /) {
			return (@mine, $l) if $l =~ / trace=$trace /;
			@mine = ();
			next;
		}
		push @mine, $l;
	}
	return ();
}

sub inserted_host_rows {
	return psql("SELECT n_tup_ins FROM pg_stat_user_tables"
	    . " WHERE relname = 'host_scan_host'") + 0;
}

# How the stopper picks its moment:
#   held: the INSERT is held at its end by a row lock another session
#     holds on the credential its rows refer to (the foreign key check
#     waits for it); by then the job row and its 10 000 host rows are
#     written, uncommitted; the database stops while it waits;
#   active: when the INSERT is seen running;
#   after: once the POST has been answered.
# Returns what the server did: "cut" (the INSERT was running when the
# database went: logged db_unavailable stmt=job_insert), "before" (the
# request failed before its INSERT) or "committed".
sub big_post {
	my ($when, $try) = @_;
	my $sub = "$RUN-big-$when-$try";
	my $what = "[$when $try]";
	my $btok = token(roles => 'App', sub => $sub);
	my $off = Check::log_size($resp->{log});
	my $ins0 = inserted_host_rows();
	my ($lock, $lock_pid, $lockout);
	if ($when eq 'held') {
		$lockout = HS::scratch_dir() . "/$sub.psql";
		$lock_pid = open(my $lfh, '|-') // die "fork: $!";
		if ($lock_pid == 0) {
			open(STDOUT, '>', $lockout) or POSIX::_exit(126);
			open(STDERR, '>&', \*STDOUT) or POSIX::_exit(126);
			exec('psql', '-XAtq', '-v', 'ON_ERROR_STOP=1')
			    or POSIX::_exit(127);
		}
		$lfh->autoflush(1);
		print $lfh "BEGIN;\nSELECT id FROM credential WHERE name ="
		    . " 'hs-test-cred' FOR UPDATE;\nSELECT 'locked';\n"
		    . "SELECT pg_sleep(600);\n";
		ok(wait_for(sub { HS::slurp($lockout) =~ /^locked$/m }, 10),
		    "$what another session holds the credential's row lock");
		$lock = $lfh;
	}
	my $stopper = $when eq 'after' ? undef : fork // die "fork: $!";
	if (defined $stopper && $stopper == 0) {
		my $w = $when eq 'held' ? "AND wait_event_type = 'Lock'" : '';
		my $seen = wait_for(sub {
			my $n = eval { psql("SELECT count(*) FROM pg_stat_activity
			    WHERE usename = 'hostscan_api' AND state = 'active'
			    AND query LIKE 'WITH job AS (%' $w") } // 0;
			return $n > 0;
		}, 20);
		eval { pg_stop() };
		POSIX::_exit($@ ? 2 : $seen ? 0 : 3);
	}
	my $t0 = Time::HiRes::time();
	my $r = api(POST => '/api/v1/HostScanJob', url => $web->{url},
	    token => $btok, json => \@big, timeout => HS::scaled(60));
	my $took = Time::HiRes::time() - $t0;
	my $stopped;
	if (defined $stopper) {
		waitpid($stopper, 0);
		$stopped = is($?, 0, "$what the database was stopped at that moment");
	} else {
		$stopped = ok(eval { pg_stop() },
		    "$what the database was stopped after the answer");
	}
	if ($lock) {
		# Had the database not stopped, the session would sleep on.
		kill 'TERM', $lock_pid unless $stopped;
		close $lock;
		is($? >> 8, 2, "$what the lock holder lost its connection");
	}
	pg_start();
	ok(wait_for(sub { call(GET => '/api/v1/Health')->{status} == 200 }, 20),
	    "$what database back");
	my $jobs = psql('SELECT count(*) FROM host_scan_job WHERE created_by = '
	    . sql_quote($sub));
	my $rows = psql('SELECT count(*) FROM host_scan_host h JOIN host_scan_job j'
	    . ' ON j.id = h.job_id WHERE j.created_by = ' . sql_quote($sub));
	my $trace = $r->{headers}{'x-trace-id'} // '-';
	my $pid = Check::served_by($r, $resp->{log}, $off) // 0;
	my @lines = lines_of_request(Check::log_since($resp->{log}, $off),
	    $pid, $trace);
	my $log = join "\n", @lines;
	my $did = $log =~ /event=db_unavailable stmt=job_insert / ? 'cut'
	    : $log =~ /event=job_created trace=$trace / ? 'committed'
	    : $log =~ /event=(?:db_unavailable|db_connect_failed) / ? 'before'
	    : 'unknown';
	diag(sprintf('%s POST of %d hosts: %d in %.2fs; jobs %d, rows %d; %s',
	    $what, $N, $r->{status}, $took, $jobs, $rows, $did));
	ok(@lines, "$what the responder logged the request") or return '';
	if ($did eq 'committed') {
		is($r->{status}, 200, "$what committed: 200");
		is("$jobs/$rows", "1/$N", "$what committed: the job has all $N hosts");
		is(scalar @{$r->{json}{hostScanHostStatus} // []}, $N,
		    "$what committed: the answer lists all $N hosts");
	} elsif ($did eq 'cut' || $did eq 'before') {
		ok(outage_ok($r), "$what $did: 503 problem+json with Retry-After")
		    or diag("$r->{status} $r->{content}");
		is("$jobs/$rows", '0/0', "$what $did: nothing of the job was written");
	} else {
		fail("$what the log says neither commit nor outage") or diag($log);
	}
	if ($when eq 'held' && $did eq 'cut') {
		cmp_ok(inserted_host_rows() - $ins0, '>=', $N,
		    "$what the $N host rows had been inserted before the rollback");
	}
	return $did;
}

my $cut = 0;
for my $try (1 .. 3) {
	last if ($cut = big_post('held', $try) eq 'cut');
}
ok($cut, 'a POST was cut off inside its INSERT, and rolled back whole');
big_post('active', 1);
is(big_post('after', 1), 'committed', 'a POST answered before the stop'
    . ' stays committed');

is(stop_responder($resp), 0, 'the responder stops cleanly (exit 0)');
stop_nginx($web);
done_testing;
