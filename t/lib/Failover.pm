# SPDX-License-Identifier: ISC
package Failover;

# The failover scenario t/52-failover.t and bench/failover share.  On a
# Patroni pair (t/lib/HAPair.pm) it starts a responder behind nginx and
# one hostscand, both given the pair as a multi-host conninfo
# (target_session_attrs=read-write), real sshd targets and addresses that
# refuse at once; load processes POST one-host jobs, each with an
# Idempotency-Key, and record every answer; then the leader's postmaster
# (or the whole node) is killed with SIGKILL.  Neither the responder nor
# the scheduler is restarted.  Afterwards it measures:
#   - POSTs answered 200 whose job is missing (must be 0);
#   - the time from the kill until POSTs succeed again, and until every
#     POST does;
#   - the answers meanwhile: 503 with Retry-After, anything else;
#   - every POST not answered 200 is sent again with its key: the job it
#     may have committed is replayed (Idempotent-Replayed), else queued
#     now; in the end the database holds exactly one job per key;
#   - host scans lost, left queued or Running, completed twice (two
#     completions the scheduler logged as stored), a completion logged as
#     stored that the database does not hold, and hosts failed by the
#     outage instead of by the host (SystemError);
#   - the credential audit trail: every login has its "use" row, once.
# run() returns the figures and a list of [measure, value, target, ok]
# rows; the test asserts the rows, the bench prints them.  Core Perl.

use strict;
use warnings;

use HTTP::Tiny;
use JSON::PP ();
use POSIX ();
use Time::HiRes ();
use HS ();
use SSHD;
use HAPair;

my $J = JSON::PP->new->utf8->canonical;

sub say_ { my ($o, @m) = @_; $o->{say}->(join('', @m)) if $o->{say} }

# One load process: POSTs until $stop exists or $deadline passes, one
# line per answer: T0 T1 STATUS RETRY_AFTER KEY KIND JOB.  KIND says
# which target the item names (r: refusing address, s: an sshd target).
sub load_child {
	my ($o, $n, $file) = @_;
	open(my $out, '>>', $file) or POSIX::_exit(1);
	$out->autoflush(1);
	my $ua = HTTP::Tiny->new(timeout => 30, keep_alive => 1,
	    agent => 'hostscan-failover/1');
	my $i = 0;
	while (!-e $o->{stopfile} && Time::HiRes::time() < $o->{deadline}) {
		$i++;
		my $key = "fo-$o->{run}-$n-$i";
		my $kind = $o->{sshd_every} && $i % $o->{sshd_every} == 0
		    ? 's' . ($i / $o->{sshd_every} + $n) % $o->{ntargets} : 'r';
		my $t0 = Time::HiRes::time();
		my $r = post($o, $ua, $key, $kind, $i);
		my $t1 = Time::HiRes::time();
		my $id = '-';
		if ($r->{status} == 200) {
			my $j = eval { $J->decode($r->{content}) };
			$id = $j->{id} if ref $j eq 'HASH' && $j->{id};
		}
		my $ra = $r->{headers}{'retry-after'} // '-';
		$ra = '-' unless $ra =~ /\A\d+\z/;
		printf $out "%.6f %.6f %d %s %s %s %s\n", $t0, $t1,
		    $r->{status}, $ra, $key, $kind, $id;
		Time::HiRes::sleep(0.05) if $r->{status} != 200;
	}
	close $out;
	POSIX::_exit(0);
}

sub body {
	my ($o, $kind, $i) = @_;
	my $item;
	if ($kind =~ /\As(\d+)\z/) {
		my $t = $o->{targets}[$1];
		$item = HS::host_item(dnsHostName => undef,
		    ipAddress => $t->addr, sshPort => $t->port,
		    credentialName => 'fo-key',
		    acceptThumbprintOnFirstDiscovery => JSON::PP::true);
	} else {
		$item = HS::host_item(dnsHostName => undef,
		    ipAddress => '127.0.11.' . (1 + $i % 250),
		    sshPort => $o->{refused_port}, credentialName => 'fo-key');
	}
	return $J->encode([$item]);
}

sub post {
	my ($o, $ua, $key, $kind, $i) = @_;
	return $ua->request('POST', "$o->{url}/api/v1/HostScanJob", {
		headers => { Authorization => "Bearer $o->{token}",
		    'Content-Type' => 'application/json',
		    'Idempotency-Key' => $key },
		content => body($o, $kind, $i) });
}

sub records {
	my ($o) = @_;
	my @r;
	for my $f (@{$o->{loadfiles}}) {
		open(my $fh, '<', $f) or next;
		for my $l (<$fh>) {
			next unless $l =~ /\n\z/;
			my @f = split ' ', $l;
			push @r, { t0 => $f[0], t1 => $f[1], status => $f[2],
			    ra => $f[3], key => $f[4], kind => $f[5],
			    job => $f[6] };
		}
		close $fh;
	}
	return sort { $a->{t0} <=> $b->{t0} } @r;
}

# The first 200 whose request began after the first answer that was not
# a 200 once $t_kill had passed (the first 200 after $t_kill when every
# answer was a 200).
sub first_ok_after_outage {
	my ($t_kill, @rec) = @_;
	my ($bad) = sort { $a <=> $b } map { $_->{t1} }
	    grep { $_->{t1} > $t_kill && $_->{status} != 200 } @rec;
	my $from = $bad // $t_kill;
	my ($ok) = sort { $a->{t1} <=> $b->{t1} }
	    grep { $_->{t0} > $from && $_->{status} == 200 } @rec;
	return $ok;
}

sub quote_list { return join(',', map { HS::sql_quote($_) } @_) }

# The scheduler's own account: event=scan_done lines by (id, attempt).
sub sched_log {
	my ($path) = @_;
	my @done;
	open(my $fh, '<', $path) or return ();
	while (my $l = <$fh>) {
		# A scan the database failed mid-way is left to its lease.
		if ($l =~ /\bevent=scan_abandoned\b/) {
			push @done, { stored => 'abandoned' };
			next;
		}
		next unless $l =~ /\bevent=scan_done\b/;
		my %f = $l =~ /\b(host_scan_id|attempt|status|stored)=(\S+)/g;
		push @done, \%f;
	}
	close $fh;
	return @done;
}

# run(dir => DIR, ...) -> { figures..., rows => [[measure, value,
# target, ok], ...] }.  Options: kill => 'postmaster' | 'node',
# loaders (4), before (5 s of load before the kill), after (5 s of load
# once POSTs succeed again), targets (3 sshd), sshd_every (10: one POST
# in ten names an sshd target), sched_workers (16), lease (15),
# responder_workers (4), wait_pair (0: wait for the old primary to
# rejoin as the sync standby), busy (1: the whole outage is reported,
# not judged; only hostscan's part of it is), say => sub { print }.
sub run {
	my (%o) = @_;
	my $dir = $o{dir} // die "Failover: dir is required\n";
	$o{run} //= "$$-" . int(Time::HiRes::time());
	$o{kill} //= 'postmaster';
	$o{loaders} //= 4;
	$o{before} //= 5;
	$o{after} //= 5;
	$o{ntargets} //= 3;
	$o{sshd_every} //= 10;
	$o{sched_workers} //= 16;
	$o{lease} //= 15;
	$o{responder_workers} //= 4;
	$o{busy} //= 1;
	$o{stopfile} = "$dir/load.stop";
	my %res = (rows => []);
	my $t_start = Time::HiRes::time();

	my $ha = HAPair->new(dir => "$dir/ha", %{$o{ha} // {}})->start;
	$res{ha} = $ha;
	say_(\%o, sprintf('Patroni pair up in %.1f s: leader %s, sync standby'
	    . ' streaming', Time::HiRes::time() - $t_start, $ha->leader));

	# The run's configuration with the pair in every conninfo.
	my %db = (api_database => $ha->conninfo('hostscan_api'),
	    sched_database => $ha->conninfo('hostscan_sched'),
	    admin_database => $ha->conninfo('postgres'),
	    db_connect_timeout => 2);
	my $conf = "$dir/failover.conf";
	HS::write_config_copy($conf, \%db, ['listen']);
	my %cenv = (HOSTSCAN_CONFIG => $conf);
	my ($rc, $out, $err) = HS::ctl(['migrate'], env => \%cenv);
	die "Failover: migrate failed ($rc): $err\n" if $rc != 0;

	my $port = SSHD::free_port('0.0.0.0');
	my @t;
	for my $i (1 .. $o{ntargets}) {
		push @t, SSHD->new(dir => $dir, addr => "127.0.12.$i",
		    port => $port, log_level => 'ERROR')->start;
	}
	my $pub = SSHD::slurp($t[0]->dir . '/client_key.pub');
	SSHD::spew($_->dir . '/authorized_keys/root', $pub, 0644)
	    for @t[1 .. $#t];
	my $key = $t[0]->client_key;
	HS::note_secret($key, 'credential fo-key');
	($rc, $out, $err) = HS::ctl(['credential', 'add', '--name', 'fo-key',
	    '--username', 'root', '--kind', 'private-key', '--scope', 'any'],
	    stdin => $key, env => \%cenv);
	die "Failover: credential add failed ($rc): $err\n" if $rc != 0;
	$o{targets} = \@t;
	$o{refused_port} = SSHD::free_port('0.0.0.0');

	my $resp = HS::start_responder(workers => $o{responder_workers},
	    config => \%db);
	my $web = HS::nginx_for_socket($resp->{socket});
	$o{url} = $web->{url};
	$o{token} = HS::token(roles => 'App', sub => "failover-$o{run}",
	    ttl => 3600);
	my $d = start_hostscand(config => $conf, workers => $o{sched_workers},
	    lease => $o{lease}, step => 5, host_timeout => 30,
	    instance => "fo-$o{run}", backoff => 1);
	my @workers_before = HS::child_pids($resp->{pid});

	# The load.
	unlink $o{stopfile};
	$o{deadline} = Time::HiRes::time() + 600;
	my @kids;
	for my $n (1 .. $o{loaders}) {
		my $f = "$dir/load-$n.txt";
		push @{$o{loadfiles}}, $f;
		my $pid = fork // die "Failover: fork: $!\n";
		load_child(\%o, $n, $f) if $pid == 0;
		push @kids, $pid;
	}
	my $ok_before = sub { scalar grep { $_->{status} == 200 } records(\%o) };
	HS::wait_for(sub { $ok_before->() >= 20 }, 60)
	    or die "Failover: the load got no 200s before the kill\n";
	Time::HiRes::sleep($o{before});
	# Kill while a login scan is in progress when there is one soon.
	my $busy_sql = "SELECT count(*) FROM host_scan_host WHERE state = 1"
	    . " AND ip_address LIKE '127.0.12.%'";
	HS::wait_for(sub { $ha->psql($busy_sql) > 0 }, 5);
	my $running_at_kill = $ha->psql("SELECT count(*) FROM host_scan_host"
	    . " WHERE state = 1");
	my $old = $ha->leader;
	my $t_kill = $o{kill} eq 'node' ? $ha->kill_node($old)
	    : $ha->kill_postmaster($old);
	say_(\%o, "killed the $o{kill} of leader $old with SIGKILL"
	    . " ($running_at_kill host scans running)");
	my $new = $ha->wait_leader(not => $old, timeout => 120);
	die "Failover: no new leader within 120 s\n" unless defined $new;
	# Patroni's REST API and psql say so later than it happened on a
	# busy machine; the new primary's log has the moment.
	my $t_leader = $ha->writable_since($new, $t_kill)
	    // Time::HiRes::time();
	$res{new_leader} = $new;
	say_(\%o, sprintf('%s leads after %.1f s', $new, $t_leader - $t_kill));
	# Load goes on until it has had $o{after} s of answers after the
	# first success that began after the first failure: a backend of the
	# killed postmaster may still commit a POST begun just after the kill.
	my $first_ok;
	HS::wait_for(sub {
		$first_ok = first_ok_after_outage($t_kill, records(\%o));
		defined $first_ok;
	}, 120);
	my $until = ($first_ok ? $first_ok->{t1} : Time::HiRes::time())
	    + $o{after};
	Time::HiRes::sleep(0.1) while Time::HiRes::time() < $until;
	open(my $sf, '>', $o{stopfile}) or die "$o{stopfile}: $!\n";
	close $sf;
	my $load_ok = 1;
	for my $pid (@kids) {
		my $st = HS::wait_exit($pid, 60);
		$load_ok = 0 unless defined $st && $st == 0;
	}
	$ha->start_node($old) if $o{kill} eq 'node';

	# The answers.
	my @rec = records(\%o);
	my @ok = grep { $_->{status} == 200 } @rec;
	my @r503 = grep { $_->{status} == 503 } @rec;
	my @other = grep { $_->{status} != 200 && $_->{status} != 503 } @rec;
	my @no_ra = grep { $_->{ra} eq '-' } @r503;
	my @during = grep { $_->{t1} > $t_kill } @rec;
	my ($last_bad) = sort { $b->{t1} <=> $a->{t1} }
	    grep { $_->{status} != 200 } @rec;
	$res{posts} = scalar @rec;
	$res{ok} = scalar @ok;
	$res{r503} = scalar @r503;
	$res{other} = scalar @other;
	$res{other_list} = [map { "$_->{status} $_->{key}" } @other];
	$res{no_retry_after} = scalar @no_ra;
	$first_ok = first_ok_after_outage($t_kill, @rec);
	$res{recovery} = $first_ok ? $first_ok->{t1} - $t_kill : undef;
	$res{stable} = $last_bad ? $last_bad->{t1} - $t_kill : 0;
	$res{leader_after} = $t_leader - $t_kill;
	$res{rate} = @rec ? scalar(@rec) / ($rec[-1]{t1} - $rec[0]{t0}) : 0;

	# Every request not answered 200 once more, with its key.
	my ($replayed, $queued_now, $retry_failed) = (0, 0, 0);
	my $ua = HTTP::Tiny->new(timeout => 30, keep_alive => 1);
	for my $r (grep { $_->{status} != 200 } @rec) {
		my ($i) = $r->{key} =~ /-(\d+)\z/;
		my $a;
		for (1 .. 5) {
			$a = post(\%o, $ua, $r->{key}, $r->{kind}, $i);
			last if $a->{status} == 200;
			Time::HiRes::sleep(1);
		}
		if ($a->{status} != 200) {
			$retry_failed++;
		} elsif (($a->{headers}{'idempotent-replayed'} // '') eq 'true') {
			$replayed++;
		} else {
			$queued_now++;
		}
	}
	$res{replayed} = $replayed;
	$res{queued_now} = $queued_now;
	$res{retry_failed} = $retry_failed;

	# Jobs: every 200 is there; one job per key, none more.
	my $sub = HS::sql_quote("failover-$o{run}");
	my @ids = map { $_->{job} } @ok;
	my $missing = 0;
	while (my @chunk = splice(@ids, 0, 500)) {
		my $have = $ha->psql('SELECT count(*) FROM host_scan_job j WHERE'
		    . ' j.id IN (' . quote_list(@chunk) . ') AND EXISTS (SELECT 1'
		    . ' FROM host_scan_host h WHERE h.job_id = j.id)');
		$missing += @chunk - $have;
	}
	$res{missing} = $missing;
	my %keys = map { $_->{key} => 1 } @rec;
	$res{keys} = scalar keys %keys;
	$res{jobs} = $ha->psql("SELECT count(*) FROM host_scan_job WHERE"
	    . " created_by = $sub");
	$res{keys_with_jobs} = $ha->psql("SELECT count(*) FROM idempotency_key"
	    . " WHERE sub = $sub AND cardinality(job_ids) = 1");

	# Scans: drain, then compare the database with the scheduler's log.
	my $open_sql = "SELECT count(*) FROM host_scan_host h JOIN host_scan_job"
	    . " j ON j.id = h.job_id WHERE j.created_by = $sub AND h.state IN"
	    . " (0, 1)";
	my $t_drain = Time::HiRes::time();
	HS::wait_for(sub { $ha->psql($open_sql) == 0 }, 2 * $o{lease} + 60);
	$res{drain} = Time::HiRes::time() - $t_drain;
	my $rows = $J->decode($ha->psql("SELECT coalesce(json_agg(x), '[]')"
	    . " FROM (SELECT h.id, h.state, h.attempt, h.failure_reason,"
	    . " h.status_description AS d, h.ip_address AS ip FROM"
	    . " host_scan_host h JOIN host_scan_job j ON j.id = h.job_id"
	    . " WHERE j.created_by = $sub) x"));
	my %row = map { $_->{id} => $_ } @$rows;
	$res{hosts} = scalar @$rows;
	$res{queued_left} = grep { $_->{state} == 0 } @$rows;
	$res{running_left} = grep { $_->{state} == 1 } @$rows;
	$res{system_error} = grep { $_->{state} == 3
	    && ($_->{failure_reason} // -1) == 2 } @$rows;
	$res{system_error_list} = [map { "$_->{ip}: $_->{d}" } grep {
	    $_->{state} == 3 && ($_->{failure_reason} // -1) == 2 } @$rows];
	my @done = sched_log($d->{log});
	my (%stored, $wrong, $fenced, $dberr, $abandoned);
	($wrong, $fenced, $dberr, $abandoned) = (0, 0, 0, 0);
	for my $e (@done) {
		my $s = $e->{stored} // '';
		$fenced++ if $s eq 'fenced';
		$dberr++ if $s eq 'db-error';
		$abandoned++ if $s eq 'abandoned';
		next unless $s eq 'yes';
		$stored{$e->{host_scan_id}}++;
		my $r = $row{$e->{host_scan_id}};
		$wrong++ unless $r && $r->{attempt} == $e->{attempt}
		    && $r->{state} >= 2;
	}
	$res{twice} = grep { $_ > 1 } values %stored;
	$res{stored_wrong} = $wrong;
	$res{fenced} = $fenced;
	$res{db_error} = $dberr;
	$res{abandoned} = $abandoned;
	$res{rescanned} = grep { $_->{attempt} > 1 } @$rows;
	# Terminal rows the scheduler never logged as stored: a completion
	# whose COMMIT landed though its answer was lost, or the reaper's.
	$res{unlogged} = grep { $_->{state} >= 2 && $_->{state} != 4
	    && !$stored{$_->{id}} } @$rows;

	# The audit trail of the logins.
	my $audit = $J->decode($ha->psql("SELECT json_build_object("
	    . "'uses', count(*) FILTER (WHERE a.event = 'use'),"
	    . "'dup', (SELECT count(*) FROM (SELECT 1 FROM credential_audit b"
	    . "  JOIN host_scan_job j ON j.id = b.job_id WHERE j.created_by = $sub"
	    . "  AND b.event = 'use' GROUP BY b.host_scan_host_id, b.scan_attempt"
	    . "  HAVING count(*) > 1) x),"
	    . "'orphan_outcomes', count(*) FILTER (WHERE a.event = 'outcome'"
	    . "  AND NOT EXISTS (SELECT 1 FROM credential_audit u WHERE"
	    . "  u.use_id = a.use_id AND u.event = 'use')),"
	    . "'complete_without_use', (SELECT count(*) FROM host_scan_host h"
	    . "  JOIN host_scan_job j ON j.id = h.job_id WHERE j.created_by = $sub"
	    . "  AND h.state = 2 AND NOT EXISTS (SELECT 1 FROM credential_audit u"
	    . "  WHERE u.host_scan_host_id = h.id AND u.scan_attempt = h.attempt"
	    . "  AND u.event = 'use'))) FROM credential_audit a JOIN"
	    . " host_scan_job j ON j.id = a.job_id WHERE j.created_by = $sub"));
	$res{audit} = $audit;

	my @workers_after = HS::child_pids($resp->{pid});
	$res{responder_restarted} = !kill(0, $resp->{pid})
	    || "@workers_before" ne "@workers_after";
	$res{sched_restarted} = !kill(0, $d->{pid});
	if ($o{wait_pair}) {
		$res{pair_again} = $ha->wait_pair(timeout => 120) ? 1 : 0;
		$res{pair_again_after} = Time::HiRes::time() - $t_kill;
	}
	$res{load_ok} = $load_ok;
	$res{sched_log} = $d->{log};
	stop_hostscand($d);
	HS::stop_nginx($web);
	HS::stop_responder($resp);
	$_->stop for @t;

	# The whole outage is Patroni's to bound (see HAPair.pm), and on a
	# busy machine its loop runs late: only an idle run (the bench) is
	# held to it.  How soon hostscan follows a new leader is hostscan's.
	my $target_s = $o{kill} eq 'node' ? $ha->{ttl} + 10 : 10;
	my $follow_s = HS::scaled(3);
	my $judge_total = !$o{busy};
	my $follow = defined $res{recovery}
	    ? $res{recovery} - $res{leader_after} : undef;
	my $row = sub { push @{$res{rows}}, [@_] };
	$row->('POSTs answered 200 whose job is missing', $res{missing}, '0',
	    $res{missing} == 0);
	$row->('seconds from the kill until POSTs succeed again',
	    defined $res{recovery}
	    ? sprintf('%.2f', $res{recovery}) : 'never',
	    $judge_total ? "<= $target_s" : '', !$judge_total ? undef :
	    defined $res{recovery} && $res{recovery} <= $target_s);
	$row->('seconds from the kill to the last POST not 200',
	    sprintf('%.2f', $res{stable}), $judge_total ? "<= $target_s" : '',
	    $judge_total ? $res{stable} <= $target_s : undef);
	$row->('seconds from the new leader until POSTs succeed again',
	    defined $follow ? sprintf('%.2f', $follow) : 'never',
	    "<= $follow_s", defined $follow && $follow <= $follow_s);
	$row->('POSTs answered 503 meanwhile', $res{r503}, '', undef);
	$row->('503 answers without Retry-After', $res{no_retry_after}, '0',
	    $res{no_retry_after} == 0);
	$row->('answers neither 200 nor 503', $res{other}, '0',
	    $res{other} == 0);
	$row->('retried with their key: replayed / queued now / failed',
	    "$replayed / $queued_now / $retry_failed", '- / - / 0',
	    $retry_failed == 0);
	$row->('jobs in the database / keys sent', "$res{jobs} / $res{keys}",
	    'equal', $res{jobs} == $res{keys}
	    && $res{keys_with_jobs} == $res{keys});
	$row->('host scans left queued or Running',
	    $res{queued_left} + $res{running_left}, '0',
	    $res{queued_left} + $res{running_left} == 0);
	$row->('host scans completed twice', $res{twice}, '0',
	    $res{twice} == 0);
	$row->('completions logged stored, not in the database',
	    $res{stored_wrong}, '0', $res{stored_wrong} == 0);
	$row->('hosts failed by the outage (SystemError)', $res{system_error},
	    '0', $res{system_error} == 0);
	$row->('complete hosts whose login has no audit "use" row',
	    $audit->{complete_without_use}, '0',
	    $audit->{complete_without_use} == 0);
	$row->('audit "use" rows twice for one attempt / outcomes without'
	    . ' use', "$audit->{dup} / $audit->{orphan_outcomes}", '0 / 0',
	    $audit->{dup} == 0 && $audit->{orphan_outcomes} == 0);
	$row->('responder or scheduler restarted',
	    ($res{responder_restarted} || $res{sched_restarted}) ? 'yes' : 'no',
	    'no', !$res{responder_restarted} && !$res{sched_restarted});
	$row->('load processes ran to the end', $load_ok ? 'yes' : 'no',
	    'yes', $load_ok);
	$row->('POSTs sent (req/s)', sprintf('%d (%.0f)', $res{posts},
	    $res{rate}), '', undef);
	$row->('seconds from the kill until the new leader took writes',
	    sprintf('%.2f',
	    $res{leader_after}), '', undef);
	$row->('scans: hosts, rescanned, fenced, store failed, abandoned',
	    join(', ', $res{hosts}, $res{rescanned}, $fenced, $dberr,
	    $abandoned), '', undef);
	$row->('terminal rows whose store the scheduler did not see land',
	    $res{unlogged}, '', undef);
	$row->('seconds until the pair had a sync standby again',
	    $res{pair_again} ? sprintf('%.1f', $res{pair_again_after})
	    : 'not within 120', '', undef) if $o{wait_pair};
	return \%res;
}

1;
